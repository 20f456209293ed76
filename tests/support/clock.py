"""A clock that tests move by hand: expiry is checked without sleeping."""

from __future__ import annotations

import time


class FakeClock:
    """Starts at the real time; only ``advance`` moves it."""

    def __init__(self, start: float | None = None) -> None:
        self._time = time.time() if start is None else start
        self._monotonic = 1_000_000.0

    def time(self) -> float:
        return self._time

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._time += seconds
        self._monotonic += seconds
