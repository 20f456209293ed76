"""Sign-in throttling: at most N failures per key (a user name, an IP) in a sliding window.

One interface, two homes: this process's memory (a single instance) and Redis
(sorted sets of failure times, so the count holds across every instance).
The caller checks ``retry_after`` BEFORE comparing a password hash, so a
blocked attacker costs no hashing and learns nothing from timing.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Protocol

from extends.redis import RedisClient, RedisUnavailable

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
KEY_PREFIX = "throttle:"


class ThrottleUnavailable(Exception):
    """The shared counter cannot be reached; sign-in answers 503 rather than guess."""


class Throttle(Protocol):
    async def retry_after(self, keys: Iterable[str]) -> int:
        """Seconds to wait before another attempt for any of ``keys``; 0 when allowed."""

    async def record_failure(self, keys: Iterable[str]) -> None:
        """Count one failed attempt against every key."""

    async def reset(self, keys: Iterable[str]) -> None:
        """Forget the failures of ``keys`` (after a successful sign-in)."""


def _wait(times: list[float], now: float, limit: int, window: float) -> int:
    """Seconds until fewer than ``limit`` of these failure times lie inside the window."""
    recent = sorted(t for t in times if t > now - window)
    if len(recent) < limit:
        return 0
    # The attempt becomes possible when the failure that keeps us at the limit ages out.
    oldest_that_counts = recent[len(recent) - limit]
    return max(1, int(oldest_that_counts + window - now + 0.999))


class MemoryThrottle:
    """Failure times in this process's memory (one instance)."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if t > now - self.window]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    async def retry_after(self, keys: Iterable[str]) -> int:
        now = time.time()
        return max(
            (_wait(self._recent(key, now), now, self.limit, self.window) for key in keys),
            default=0,
        )

    async def record_failure(self, keys: Iterable[str]) -> None:
        now = time.time()
        for key in keys:
            self._recent(key, now)
            self._failures.setdefault(key, []).append(now)

    async def reset(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


class RedisThrottle:
    """Failure times in Redis sorted sets (``throttle:<key>``), shared by every instance."""

    def __init__(
        self, client: RedisClient, limit: int = MAX_FAILURES, window: float = WINDOW_SECONDS
    ) -> None:
        self.client = client
        self.limit = limit
        self.window = window

    async def retry_after(self, keys: Iterable[str]) -> int:
        now = time.time()
        commands: list[tuple[object, ...]] = []
        for key in keys:
            # tornadis sends only str, bytes and int: scores travel as text.
            commands.append(
                ("ZREMRANGEBYSCORE", KEY_PREFIX + key, "-inf", f"{now - self.window:.6f}")
            )
            commands.append(("ZRANGE", KEY_PREFIX + key, 0, -1, "WITHSCORES"))
        if not commands:
            return 0
        try:
            replies = await self.client.pipeline(*commands)
        except RedisUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        waits = []
        for reply in replies[1::2]:
            scores = [float(score) for score in (reply or [])[1::2]]
            waits.append(_wait(scores, now, self.limit, self.window))
        return max(waits, default=0)

    async def record_failure(self, keys: Iterable[str]) -> None:
        now = time.time()
        commands: list[tuple[object, ...]] = []
        for key in keys:
            # A random member: two failures in the same microsecond must both count.
            member = f"{now:.6f}:{secrets.token_hex(4)}"
            commands.append(("ZADD", KEY_PREFIX + key, f"{now:.6f}", member))
            commands.append(("EXPIRE", KEY_PREFIX + key, int(self.window) + 1))
        if not commands:
            return
        try:
            await self.client.pipeline(*commands)
        except RedisUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc

    async def reset(self, keys: Iterable[str]) -> None:
        names = [KEY_PREFIX + key for key in keys]
        if not names:
            return
        try:
            await self.client.call("DEL", *names)
        except RedisUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc


def build_throttle(redis_clients: list[RedisClient]) -> Throttle:
    """Redis when configured (counted across instances), else this process's memory."""
    if redis_clients:
        return RedisThrottle(redis_clients[0])
    return MemoryThrottle()


def sign_in_keys(username: str, ip: str) -> list[str]:
    """The keys one sign-in attempt counts against: the user name and the address."""
    return [f"user:{username.strip().lower()[:64]}", f"ip:{ip}"]
