"""Time as the stores see it: the system clock in production, a hand-moved one in tests.

Everything that expires (sessions, QR tickets, throttle windows, rate limits, cache
entries) reads time through a ``Clock``, so a test moves time forward instead of sleeping.
"""

from __future__ import annotations

import datetime
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (wall time: comparable across instances)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (durations inside one process)."""
        ...


class SystemClock:
    """The real clocks of the ``time`` module."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()


def utc_datetime(clock: Clock) -> datetime.datetime:
    """The clock's time as a naive UTC datetime: how the database stores every time."""
    return datetime.datetime.fromtimestamp(clock.time(), datetime.UTC).replace(tzinfo=None)
