"""Sliding-window rate limits keyed by a string: at most ``limit`` hits per ``window`` seconds.

One interface, two homes: this process's memory (a single instance) and Redis (a sorted
set of hit times per key, shared by every instance). In Redis, "count this hit if the
limits allow it" is one Lua script, so instances hitting the same keys at the same moment
can never let more than the limits through. Time comes from the injected ``Clock``: a test
moves it forward instead of sleeping.

Beyond the one-key ``hit``, ``reserve`` counts one hit against several keys at once, each
with its own ``Rule`` (a plain window, a progressive delay, or a ceiling that only reports
it was reached), all or nothing; ``give_back`` returns a reserved hit.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.redis import RedisClient, RedisUnavailable, as_int, as_list


class RateLimitUnavailable(Unavailable):
    """The shared rate limit (Redis) cannot be reached; the limited action is refused."""


@dataclass(frozen=True)
class Rule:
    """How one key is limited: ``limit`` hits within ``window`` seconds pass, then a wait.

    ``backoff`` 0: the wait lasts until the oldest hit that counts leaves the window.
    ``backoff`` > 0 (progressive): the n-th hit past the limit waits ``backoff · 2ⁿ``
    seconds (at most ``max_backoff``) after the newest one; hits are remembered ``window``.
    ``blocking`` False (a ceiling): never refuses; reports ``reached`` once per window.
    """

    limit: int
    window: float
    backoff: float = 0.0
    max_backoff: float = 0.0
    blocking: bool = True


@dataclass(frozen=True)
class Reservation:
    """What ``reserve`` did: ``wait`` 0 means the hit was counted against every key."""

    wait: int
    member: str = ""
    keys: tuple[str, ...] = ()
    reached: tuple[str, ...] = ()


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

    async def reserve(self, rules: Mapping[str, Rule]) -> Reservation:
        """Count one hit against every key if all their rules allow it, else none.

        Atomic: concurrent reservations (on any instance) never overdraw a rule.
        """
        ...

    async def give_back(self, reservation: Reservation) -> None:
        """Uncount a reserved hit from every key it was counted against."""
        ...


def _wait(oldest_that_counts: float, now: float, window: float) -> int:
    """Whole seconds (at least 1) until a hit at ``oldest_that_counts`` leaves the window."""
    return max(1, math.ceil(oldest_that_counts + window - now))


def _progressive_delay(rule: Rule, count: int) -> float:
    """The delay after the newest hit once ``count`` (≥ limit) hits are remembered."""
    return min(rule.max_backoff, rule.backoff * 2.0 ** min(count - rule.limit, 64))


def _member(now: float) -> str:
    # A random member: two hits in the same microsecond must both count.
    return f"{now:.6f}:{secrets.token_hex(4)}"


class _Hits:
    """One key's hit times (and their members) in memory, oldest first."""

    def __init__(self) -> None:
        self.times: deque[tuple[float, str]] = deque()
        self.expires_at = 0.0


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
        self._hits: dict[str, _Hits] = {}
        self._reached_until: dict[str, float] = {}

    def _recent(self, key: str, window: float, now: float) -> _Hits:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            return _Hits()
        while hits.times and hits.times[0][0] <= now - window:
            hits.times.popleft()
        if not hits.times:
            del self._hits[key]
        return hits

    def _key_wait(self, hits: _Hits, rule: Rule, now: float) -> int:
        count = len(hits.times)
        if not rule.blocking or count < rule.limit:
            return 0
        if rule.backoff > 0:
            newest = hits.times[-1][0]
            return max(0, math.ceil(newest + _progressive_delay(rule, count) - now))
        return _wait(hits.times[count - rule.limit][0], now, rule.window)

    def _run(self, rules: Mapping[str, Rule], count: bool) -> Reservation:
        # No await in here: on the IOLoop, the check and the count are one step.
        now = self.clock.monotonic()
        recent = {key: self._recent(key, rule.window, now) for key, rule in rules.items()}
        wait = max(
            (self._key_wait(recent[key], rule, now) for key, rule in rules.items()), default=0
        )
        if wait or not count:
            return Reservation(wait)
        member = _member(now)
        reached = []
        for key, rule in rules.items():
            hits = recent[key]
            if rule.blocking or len(hits.times) < rule.limit:
                hits.times.append((now, member))
                hits.expires_at = now + rule.window
                self._hits[key] = hits
            ceiling_reached = not rule.blocking and len(hits.times) >= rule.limit
            if ceiling_reached and self._reached_until.get(key, 0.0) <= now:
                self._reached_until[key] = now + rule.window
                reached.append(key)
        return Reservation(0, member, tuple(rules), tuple(reached))

    async def hit(self, key: str) -> int:
        return self._run({key: Rule(self.limit, self.window)}, count=True).wait

    async def retry_after(self, key: str) -> int:
        return self._run({key: Rule(self.limit, self.window)}, count=False).wait

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    async def reserve(self, rules: Mapping[str, Rule]) -> Reservation:
        return self._run(rules, count=True)

    async def give_back(self, reservation: Reservation) -> None:
        for key in reservation.keys:
            hits = self._hits.get(key)
            if hits is not None:
                hits.times = deque(hit for hit in hits.times if hit[1] != reservation.member)

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, hits in self._hits.items() if hits.expires_at <= now]
        for key in idle:
            del self._hits[key]
        for key in [key for key, until in self._reached_until.items() if until <= now]:
            del self._reached_until[key]


# KEYS: the keys' sorted sets. ARGV: now, a unique member, "1" to count the hit when
# allowed ("0" only looks), then five per key: limit, window, backoff, max_backoff and
# blocking ("1"/"0"). Returns {wait, {indexes of ceilings reached}}; wait 0 = allowed.
# Every key's old hits are dropped, checked and (maybe) counted in one step: atomic in Redis.
_RESERVE_SCRIPT = """
local now, member, count_it = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local wait, counts = 0, {}
for i, key in ipairs(KEYS) do
  local at = 3 + (i - 1) * 5
  local limit, window = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local backoff, max_backoff = tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  counts[i] = count
  if ARGV[at + 5] == '1' and count >= limit then
    if backoff > 0 then
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      local delay = math.min(max_backoff, backoff * 2 ^ math.min(count - limit, 64))
      wait = math.max(wait, math.ceil(tonumber(newest[2]) + delay - now))
    else
      local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      wait = math.max(wait, 1, math.ceil(tonumber(oldest[2]) + window - now))
    end
  end
end
local reached = {}
if wait > 0 or not count_it then
  return {wait, reached}
end
for i, key in ipairs(KEYS) do
  local at = 3 + (i - 1) * 5
  local limit, window, blocking = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), ARGV[at + 5]
  if blocking == '1' or counts[i] < limit then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  end
  if blocking ~= '1' and counts[i] + 1 >= limit then
    if redis.call('SET', key .. ':reached', '1', 'NX', 'PX', math.ceil(window * 1000)) then
      table.insert(reached, i)
    end
  end
end
return {0, reached}
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

    async def _run(self, rules: Mapping[str, Rule], count: bool) -> Reservation:
        now = self.clock.time()
        member = _member(now)
        args: list[str | int] = [f"{now:.6f}", member, "1" if count else "0"]
        for rule in rules.values():
            args += [
                rule.limit,
                f"{rule.window:.6f}",
                f"{rule.backoff:.6f}",
                f"{rule.max_backoff:.6f}",
                "1" if rule.blocking else "0",
            ]
        keys = tuple(rules)
        try:
            reply = as_list(
                await self.client.eval(_RESERVE_SCRIPT, [self.prefix + key for key in keys], args)
            )
        except RedisUnavailable as exc:
            raise RateLimitUnavailable(str(exc)) from exc
        wait = as_int(reply[0])
        if wait or not count:
            return Reservation(wait)
        reached = tuple(keys[as_int(index) - 1] for index in as_list(reply[1]))
        return Reservation(0, member, keys, reached)

    async def hit(self, key: str) -> int:
        return (await self._run({key: Rule(self.limit, self.window)}, count=True)).wait

    async def retry_after(self, key: str) -> int:
        return (await self._run({key: Rule(self.limit, self.window)}, count=False)).wait

    async def reset(self, key: str) -> None:
        try:
            await self.client.call("DEL", self.prefix + key)
        except RedisUnavailable as exc:
            raise RateLimitUnavailable(str(exc)) from exc

    async def reserve(self, rules: Mapping[str, Rule]) -> Reservation:
        return await self._run(rules, count=True)

    async def give_back(self, reservation: Reservation) -> None:
        if not reservation.keys:
            return
        commands = [("ZREM", self.prefix + key, reservation.member) for key in reservation.keys]
        try:
            await self.client.pipeline(*commands)
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
