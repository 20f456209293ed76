"""Rate limits keyed by a string (an IP address): a small interface, kept in memory here."""

from __future__ import annotations

import time
from collections import deque
from typing import Protocol


class RateLimiter(Protocol):
    def hit(self, key: str) -> int | None:
        """Record one attempt; None when allowed, else seconds until the next is allowed."""


class MemoryRateLimiter:
    """At most ``limit`` attempts per ``window`` seconds per key, in this process."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._attempts: dict[str, deque[float]] = {}

    def hit(self, key: str) -> int | None:
        now = time.monotonic()
        attempts = self._attempts.get(key)
        if attempts is None:
            if len(self._attempts) >= self.max_keys:
                self._forget_idle(now)
            attempts = self._attempts[key] = deque()
        while attempts and attempts[0] <= now - self.window:
            attempts.popleft()
        if len(attempts) >= self.limit:
            return max(1, int(attempts[0] + self.window - now + 1))
        attempts.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._attempts.items() if not v or v[-1] <= now - self.window]:
            del self._attempts[key]
