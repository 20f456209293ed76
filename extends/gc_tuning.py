"""The garbage collector of a long-running instance.

With thousands of open connections (QR long polls, live pages) an instance holds a million
or more live objects, and CPython's default thresholds (700, 10, 10) run a full collection
every few seconds while they come and go — each one walks every live object, which took up
to a second with 10,000 pending long polls (bench/RESULTS.md), and every request waited.
Objects made while starting (modules, templates, mappers) never become garbage: they are
frozen out of the collector's sight. Young generations are collected less often, so cyclic
garbage (a finished request's handler and connection) still goes within a few thousand
requests, and full collections become rare.

CPython starts a young collection when allocations minus deallocations pass the threshold.
With thousands of long polls answered and opened again every second, the old polls' objects
die as fast as the new ones are made: the count hardly moves while the young generation
grows to half a million objects, and its collection then stalls the instance for up to half
a second (measured with 10,000 polls, bench/RESULTS.md). So the young generations are also
collected on a clock (``YoungCollections``): each collection stays small.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger("blog.gc")

# Allocations (minus deallocations) before a young collection; then how many young
# collections before the middle one, and how many of those before a full one.
THRESHOLDS = (10_000, 10, 10)


# How often the youngest generation is collected on the clock, and every how many of those
# the middle one is collected too.
YOUNG_INTERVAL_SECONDS = 0.1
MIDDLE_EVERY = 10


class YoungCollections:
    """Collect the young generations every YOUNG_INTERVAL_SECONDS on the running loop."""

    def __init__(self) -> None:
        self.ticks = 0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._handle = asyncio.get_running_loop().call_later(YOUNG_INTERVAL_SECONDS, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        self.ticks += 1
        gc.collect(1 if self.ticks % MIDDLE_EVERY == 0 else 0)
        self.start()


def tune_garbage_collector() -> None:
    """Call once the instance has started: freeze what exists, collect the rest rarely."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    watch_collections()


# A collection pausing the instance longer than this is logged (it delays every request).
SLOW_COLLECTION_SECONDS = 0.1
_started: list[tuple[float, float]] = []


def watch_collections() -> None:
    """Log collections slow enough to be seen as latency (once: callbacks are process-wide)."""
    if _collection_timer not in gc.callbacks:
        gc.callbacks.append(_collection_timer)


def _collection_timer(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[:] = [(time.perf_counter(), time.thread_time())]
        return
    if not _started:
        return
    wall, cpu = _started.pop()
    took = time.perf_counter() - wall
    if took >= SLOW_COLLECTION_SECONDS:
        log.warning(
            "garbage collection of generation %d paused the instance %.0f ms "
            "(%.0f ms of it on the CPU; %d collected)",
            info.get("generation", -1),
            took * 1000,
            (time.thread_time() - cpu) * 1000,
            info.get("collected", 0),
        )
