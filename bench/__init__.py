"""Load scripts, reported as ratios against reference points measured in the same run."""
