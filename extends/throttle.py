"""Sign-in throttling: at most 5 failures per user name and per address in 15 minutes.

Built on the shared rate limit (``extends/ratelimit.py``): in Redis when configured, so
the count holds across every instance, else in this process. The caller asks
``retry_after`` BEFORE comparing a password hash, so a blocked attacker costs no hashing
and learns nothing from timing; it records a failure after, and resets the user name's
count after a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.ratelimit import RateLimit, RateLimitUnavailable, build_rate_limit
from extends.redis import RedisClient

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
KEY_PREFIX = "throttle:"


class ThrottleUnavailable(Unavailable):
    """The shared counter cannot be reached; sign-in answers 503 rather than guess."""

    user_message = "Signing in is unavailable for a moment. Please retry soon."


class Throttle:
    """Failed sign-ins counted against several keys at once (a user name, an address)."""

    def __init__(self, failures: RateLimit) -> None:
        self.failures = failures

    async def retry_after(self, keys: Iterable[str]) -> int:
        """Seconds to wait before another attempt for any of ``keys``; 0 when allowed."""
        try:
            waits = await asyncio.gather(*(self.failures.retry_after(key) for key in keys))
        except RateLimitUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc
        return max(waits, default=0)

    async def record_failure(self, keys: Iterable[str]) -> None:
        """Count one failed attempt against every key."""
        try:
            await asyncio.gather(*(self.failures.hit(key) for key in keys))
        except RateLimitUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc

    async def reset(self, keys: Iterable[str]) -> None:
        """Forget the failures of ``keys`` (after a successful sign-in)."""
        try:
            await asyncio.gather(*(self.failures.reset(key) for key in keys))
        except RateLimitUnavailable as exc:
            raise ThrottleUnavailable(str(exc)) from exc


def build_throttle(
    redis_clients: list[RedisClient],
    clock: Clock = SYSTEM_CLOCK,
    limit: int = MAX_FAILURES,
    window: float = WINDOW_SECONDS,
) -> Throttle:
    """Redis when configured (counted across instances), else this process's memory."""
    return Throttle(build_rate_limit(redis_clients, limit, window, KEY_PREFIX, clock))


def sign_in_keys(username: str, ip: str) -> list[str]:
    """The keys one sign-in attempt counts against: the user name and the address."""
    return [f"user:{username.strip().lower()[:64]}", f"ip:{ip}"]
