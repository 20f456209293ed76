"""The garbage collector of a long-running instance.

With thousands of open connections (QR long polls, live pages) an instance holds a million
or more live objects, and CPython's default thresholds (700, 10, 10) run a full collection
every few seconds while they come and go — each one walks every live object, which took up
to a second with 10,000 pending long polls (bench/RESULTS.md), and every request waited.
Objects made while starting (modules, templates, mappers) never become garbage: they are
frozen out of the collector's sight. Young generations are collected less often, so cyclic
garbage (a finished request's handler and connection) still goes within a few thousand
requests, and full collections become rare.
"""

from __future__ import annotations

import gc

# Allocations (minus deallocations) before a young collection; then how many young
# collections before the middle one, and how many of those before a full one.
THRESHOLDS = (10_000, 10, 10)


def tune_garbage_collector() -> None:
    """Call once the instance has started: freeze what exists, collect the rest rarely."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
