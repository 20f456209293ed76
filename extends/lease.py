"""The leader lease in Redis: exactly one instance of a cluster runs the periodic jobs.

``SET key <instance id> NX PX ttl`` takes the lease; the holder renews it every
third of the TTL with a compare-and-set script (only while the key still holds
its own id) and deletes it the same way when it stops, so a successor takes over
at once. When the holder dies, the key expires and another instance takes it on
its next attempt.

``is_leader`` is conservative: it turns False as soon as a renewal fails, and
also when the last successful renewal is so old that the key might have expired
in Redis, so two instances never both believe they lead. That belief is timed on
this process's own monotonic clock, not an injected one: it must expire no later
than the key's TTL, which Redis counts in real time.
"""

from __future__ import annotations

import asyncio
import logging
import time

from extends.redis import RedisClient, RedisUnavailable

log = logging.getLogger("blog.lease")

LEASE_KEY = "inkwell:leader"

# KEYS[1] lease key, ARGV[1] our id, ARGV[2] ttl in ms: extend only a lease we still hold.
RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] lease key, ARGV[1] our id: delete only a lease we still hold.
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLease:
    """Leadership shared through one Redis key with a TTL."""

    def __init__(
        self,
        client: RedisClient,
        holder_id: str,
        ttl_ms: int = 10_000,
        key: str = LEASE_KEY,
    ) -> None:
        self.client = client
        self.holder_id = holder_id
        self.ttl_ms = ttl_ms
        self.key = key
        # Stop believing a little before the key could expire in Redis (clock drift, delays).
        self._safety_seconds = max(0.1, ttl_ms / 1000 / 5)
        self._valid_until = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        """True while this instance surely holds the lease."""
        return time.monotonic() < self._valid_until

    @property
    def interval_seconds(self) -> float:
        """How often to renew (or try to take) the lease: a third of its TTL."""
        return self.ttl_ms / 1000 / 3

    def start(self) -> None:
        """Take and renew the lease in a background task, every ``interval_seconds``."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._keep())

    async def stop(self) -> None:
        """Stop renewing and hand the lease back, so a successor need not wait for expiry."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        was_leader = self.is_leader
        self._valid_until = 0.0
        if was_leader:
            try:
                await self.client.eval(RELEASE_SCRIPT, [self.key], [self.holder_id])
                log.info("leader lease released by %s", self.holder_id)
            except RedisUnavailable:
                log.warning("could not release the leader lease; it expires on its own")

    async def try_acquire_or_renew(self) -> bool:
        """One round: renew the lease we hold, or try to take a free one. True when leading."""
        started = time.monotonic()
        was_leader = self.is_leader
        try:
            if was_leader:
                reply = await self.client.eval(
                    RENEW_SCRIPT, [self.key], [self.holder_id, self.ttl_ms]
                )
                holding = reply == 1
            else:
                reply = await self.client.call(
                    "SET", self.key, self.holder_id, "NX", "PX", self.ttl_ms
                )
                holding = reply == b"OK"
        except RedisUnavailable as exc:
            if was_leader:
                log.warning("leader lease could not be renewed (%s); stepping down", exc)
            holding = False
        if holding:
            # Count from before the command was sent: the key's TTL started no earlier.
            self._valid_until = started + self.ttl_ms / 1000 - self._safety_seconds
        else:
            self._valid_until = 0.0
        if holding != was_leader:
            log.info(
                "%s %s the leader lease", self.holder_id, "took" if holding else "no longer holds"
            )
        return holding

    async def _keep(self) -> None:
        while True:
            await self.try_acquire_or_renew()
            await asyncio.sleep(self.interval_seconds)
