"""This instance's health, measured in the background: /healthz only reads the last report.

A task checks the database (``SELECT 1`` in a thread of its own, so it never waits behind
the requests' executor) and pings every Redis node once per interval. A health request
costs no query and no Redis round trip, however often nginx, the launcher or monitoring
ask; it says how old the report is, and a report older than a few intervals counts as a
failure (the checker itself is stuck).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from extends.clock import SYSTEM_CLOCK, Clock
from extends.redis import RedisClient

log = logging.getLogger("blog.health")

CHECK_TIMEOUT_SECONDS = 3
# A report older than this many intervals (and at least STALE_AFTER_SECONDS) is a failure.
STALE_AFTER_INTERVALS = 3
STALE_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class HealthReport:
    """One round of checks: the database answered, Redis answered (None: not configured)."""

    database: bool
    redis: bool | None
    checked_at: float  # on the clock's monotonic scale


class HealthMonitor:
    """Checks the database and Redis every ``interval`` seconds, keeps the last report."""

    def __init__(
        self,
        check_database: Callable[[], bool],
        redis_clients: Sequence[RedisClient],
        interval: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.check_database = check_database
        self.redis_clients = list(redis_clients)
        self.interval = interval
        self.clock = clock
        self.stale_after = max(
            STALE_AFTER_SECONDS, STALE_AFTER_INTERVALS * interval + CHECK_TIMEOUT_SECONDS
        )
        self.last: HealthReport | None = None
        self._first = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One thread of its own: a busy request executor must not make the instance look dead.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blog-health")

    def start(self) -> None:
        """Check now, then every interval, in a background task."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        """Stop checking (the last report stays readable)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def close(self) -> None:
        """Stop checking and let the checker's thread go."""
        self.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def report(self) -> HealthReport | None:
        """The last report; right after start, waits for the first one (None if it hangs)."""
        if self.last is None and self._task is not None:
            try:
                await asyncio.wait_for(self._first.wait(), CHECK_TIMEOUT_SECONDS + 1)
            except TimeoutError:
                return None
        return self.last

    def age(self, report: HealthReport) -> float:
        """Seconds since ``report`` was made."""
        return max(0.0, self.clock.monotonic() - report.checked_at)

    def is_stale(self, report: HealthReport) -> bool:
        return self.age(report) > self.stale_after

    async def check_now(self) -> HealthReport:
        """One round of checks (the background task calls it every interval)."""
        database, redis = await asyncio.gather(self._database_ok(), self._redis_ok())
        report = HealthReport(database, redis, self.clock.monotonic())
        self.last = report
        self._first.set()
        return report

    async def _run(self) -> None:
        while True:
            try:
                await self.check_now()
            except Exception:
                log.exception("health check failed")
            await asyncio.sleep(self.interval)

    async def _database_ok(self) -> bool:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, self.check_database), CHECK_TIMEOUT_SECONDS
            )
        except Exception:
            return False

    async def _redis_ok(self) -> bool | None:
        if not self.redis_clients:
            return None
        try:
            replies = await asyncio.wait_for(
                asyncio.gather(*(client.ping() for client in self.redis_clients)),
                CHECK_TIMEOUT_SECONDS,
            )
        except TimeoutError:
            return False
        return all(replies)
