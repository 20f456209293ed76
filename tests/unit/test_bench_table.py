"""The bench table says when a reference misses the pages' tail goal (p99 ≤ 4 × p50) itself."""

from __future__ import annotations

from bench.run import Measured, Page, table
from bench.wrk import Run


def _measured(page: Page, rate: int, p50: float, p99: float) -> Measured:
    return Measured(page, [Run(rate * 5, 5.0, 0, "1GB", p50, p99)])


def test_a_reference_that_misses_the_tail_goal_says_so_and_the_page_row_still_fails():
    references = {
        "static, cached home": _measured(Page("nginx, the home page", "/s"), 50_000, 1.0, 5.0),
        "static, cached tag": _measured(Page("nginx, the tag page", "/t"), 50_000, 1.0, 3.0),
    }
    home = Page("cached home", "/", goal=0.8, reference="static, cached home")
    lines = table([_measured(home, 45_000, 1.0, 5.0)], references)
    home_reference, tag_reference, home_row = lines[2], lines[3], lines[4]
    assert home_reference.endswith("| p99 > 4 × p50 here too |")
    assert tag_reference.endswith("| — | — |")
    assert home_row.endswith("| FAIL: p99 > 4 × p50 |")
