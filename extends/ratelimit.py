"""Sliding-window rate limits keyed by a string: at most ``limit`` hits per ``window`` seconds.

One interface, two homes: this process's memory (a single instance) and Redis (a sorted
set of hit times per key, shared by every instance). In Redis, "count this hit if the
limit allows it" is one Lua script, so instances hitting the same key at the same moment
can never let more than ``limit`` through. Time comes from the injected ``Clock``: a test
moves it forward instead of sleeping.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from typing import Protocol

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.redis import RedisClient, RedisUnavailable, as_int


class RateLimitUnavailable(Unavailable):
    """The shared rate limit (Redis) cannot be reached; the limited action is refused."""


class RateLimit(Protocol):
    """At most ``limit`` hits per key in any ``window`` seconds."""

    limit: int
    window: float

    async def hit(self, key: str) -> int:
        """Count one hit if the limit allows it: 0 when allowed, else seconds to wait.

        A refused hit is not counted, so waiting the returned time is always enough.
        """
        ...

    async def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may hit again (0: now), counting nothing."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every hit of ``key``."""
        ...


def _wait(oldest_that_counts: float, now: float, window: float) -> int:
    """Whole seconds (at least 1) until a hit at ``oldest_that_counts`` leaves the window."""
    return max(1, math.ceil(oldest_that_counts + window - now))


class MemoryRateLimit:
    """Hit times in this process's memory (one instance)."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Clock = SYSTEM_CLOCK,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def _wait(self, hits: deque[float], now: float) -> int:
        if len(hits) < self.limit:
            return 0
        return _wait(hits[len(hits) - self.limit], now, self.window)

    async def hit(self, key: str) -> int:
        now = self.clock.monotonic()
        hits = self._recent(key, now)
        wait = self._wait(hits, now)
        if wait == 0:
            hits.append(now)
            self._hits[key] = hits
        return wait

    async def retry_after(self, key: str) -> int:
        now = self.clock.monotonic()
        return self._wait(self._recent(key, now), now)

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    def _forget_idle(self, now: float) -> None:
        idle = [
            key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.window
        ]
        for key in idle:
            del self._hits[key]


# KEYS[1]: the key's sorted set. ARGV: now, window, limit (as text), a unique member, and
# "1" to count the hit when allowed ("0" only looks). Returns 0 (allowed) or seconds to wait.
# The window's old hits are dropped, counted and (maybe) added in one step: atomic in Redis.
_HIT_SCRIPT = """
local key = KEYS[1]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  if ARGV[5] == '1' then
    redis.call('ZADD', key, now, ARGV[4])
    redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  end
  return 0
end
local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(oldest[2]) + window - now))
"""


class RedisRateLimit:
    """Hit times in Redis sorted sets (``<prefix><key>``), shared by every instance.

    Scores are the injected clock's wall time; the key's Redis TTL (one window) only
    collects garbage, what counts is the clock.
    """

    def __init__(
        self,
        client: RedisClient,
        limit: int,
        window: float,
        prefix: str,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.client = client
        self.limit = limit
        self.window = window
        self.prefix = prefix
        self.clock = clock

    async def _run(self, key: str, count: bool) -> int:
        now = self.clock.time()
        # A random member: two hits in the same microsecond must both count.
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        try:
            reply = await self.client.eval(
                _HIT_SCRIPT,
                [self.prefix + key],
                [f"{now:.6f}", f"{self.window:.6f}", self.limit, member, "1" if count else "0"],
            )
        except RedisUnavailable as exc:
            raise RateLimitUnavailable(str(exc)) from exc
        return as_int(reply)

    async def hit(self, key: str) -> int:
        return await self._run(key, count=True)

    async def retry_after(self, key: str) -> int:
        return await self._run(key, count=False)

    async def reset(self, key: str) -> None:
        try:
            await self.client.call("DEL", self.prefix + key)
        except RedisUnavailable as exc:
            raise RateLimitUnavailable(str(exc)) from exc


def build_rate_limit(
    redis_clients: list[RedisClient],
    limit: int,
    window: float,
    prefix: str,
    clock: Clock = SYSTEM_CLOCK,
) -> RateLimit:
    """Redis when configured (one count across every instance), else this process's memory.

    ``prefix`` names the limit in Redis (``"ratelimit:comment:"``); keys are appended to it.
    """
    if redis_clients:
        return RedisRateLimit(redis_clients[0], limit, window, prefix, clock)
    return MemoryRateLimit(limit, window, clock)
