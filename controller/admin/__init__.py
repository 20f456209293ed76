"""The author's side: every module here contributes its ``routes`` (collected by main.py)."""
