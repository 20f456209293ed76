"""MariaDB read replicas: which one may serve a read that can be slightly stale, and when.

Reads that tolerate a little staleness (anonymous reader pages, feeds, search, the
sitemap) may go to a replica; everything else goes to the primary. A background task
measures each replica every second (``SHOW SLAVE STATUS``): a replica whose threads
stopped, that lags more than ``MAX_LAG_SECONDS`` or that does not answer is taken out,
and put back once it has caught up (lag at most ``CAUGHT_UP_SECONDS``). With none left,
reads go to the primary.

Cache invalidations fence the replicas. ``SiteCache.generation`` moves on every
invalidation (a publish here, or one received over the bus). A replica serves reads
for a generation only once it has applied the primary's GTID position read *after*
that invalidation, checked with ``MASTER_GTID_WAIT``; until then reads go to the
primary. The writer committed before it published, so a page built after the
invalidation never comes from a replica that has not yet seen the write, and a page
built during it is not cached (the cache refuses values loaded across a generation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from extends.database import make_engine, make_sessionmaker

log = logging.getLogger("blog.replicas")

# ``session.info[REPLICA_INFO_KEY]`` is True in a session reading a replica.
REPLICA_INFO_KEY = "replica"

MAX_LAG_SECONDS = 5.0
CAUGHT_UP_SECONDS = 1.0
CHECK_INTERVAL_SECONDS = 1.0
# While a replica has not reached a fence yet, look again this soon.
FENCE_RETRY_SECONDS = 0.05
CHECK_TIMEOUT_SECONDS = 2
# How long one MASTER_GTID_WAIT may block a checker thread.
GTID_WAIT_SECONDS = 0.5


@dataclass
class ReplicaHealth:
    """What /healthz shows for one replica."""

    name: str
    reachable: bool
    lag_seconds: float | None
    in_use: bool
    error: str


class Replica:
    """One replica: its engine, its last measurement, and whether it may serve reads."""

    def __init__(self, url: str, pool_size: int) -> None:
        parts = urlsplit(url)
        self.name = f"{parts.hostname}:{parts.port or 3306}"
        self.engine: Engine = make_engine(url, pool_size=pool_size, connect_timeout=2)
        # A write on a replica would break its replication (a duplicate key later): refuse
        # it in the connection, and tell services through ``session.info`` where they are.
        event.listen(self.engine, "connect", _read_only_connection)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.sessions.configure(info={REPLICA_INFO_KEY: True})
        self.reachable = False
        self.lag: float | None = None
        self.healthy = False
        self.error = "not checked yet"
        # The cache generation whose fence this replica has reached.
        self.fenced_generation = -1

    def measure(self) -> None:
        """Read the replication status (blocking: called in the checker's threads)."""
        try:
            with self.engine.connect() as connection:
                row = connection.execute(text("SHOW SLAVE STATUS")).mappings().first()
        except Exception as exc:
            self.reachable, self.lag, self.healthy = False, None, False
            self.error = str(getattr(exc, "orig", exc)).strip() or type(exc).__name__
            return
        self.reachable = True
        if row is None:
            self.lag, self.healthy, self.error = None, False, "not a replica"
            return
        running = row["Slave_IO_Running"] == "Yes" and row["Slave_SQL_Running"] == "Yes"
        behind = row["Seconds_Behind_Master"]
        self.lag = float(behind) if running and behind is not None else None
        if self.lag is None:
            self.healthy = False
            self.error = str(row["Last_Error"] or "replication is stopped")
        elif self.lag > MAX_LAG_SECONDS:
            self.healthy = False
            self.error = "lagging"
        elif self.healthy or self.lag <= CAUGHT_UP_SECONDS:
            # Once out, a replica comes back only when it has caught up.
            self.healthy, self.error = True, ""

    def reached(self, position: str) -> bool:
        """Whether this replica has applied the primary's GTID ``position`` (blocking)."""
        if not position:
            return True
        try:
            with self.engine.connect() as connection:
                answer = connection.execute(
                    text("SELECT MASTER_GTID_WAIT(:position, :timeout)"),
                    {"position": position, "timeout": GTID_WAIT_SECONDS},
                ).scalar()
        except Exception:
            return False
        return answer == 0

    def health(self, generation: int) -> ReplicaHealth:
        return ReplicaHealth(
            self.name, self.reachable, self.lag, self.usable(generation), self.error
        )

    def usable(self, generation: int) -> bool:
        return self.healthy and self.fenced_generation == generation

    def take_out(self, reason: str) -> None:
        """A read failed on this replica: stop using it until the checker says otherwise."""
        self.healthy, self.reachable, self.error = False, False, reason


def on_replica(session: Session) -> bool:
    """Whether this session reads a replica (read-only: a service must not write there)."""
    return bool(session.info.get(REPLICA_INFO_KEY))


def _read_only_connection(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION TRANSACTION READ ONLY")
    cursor.close()


class ReplicaSet:
    """The replicas of one primary, and the task that measures and fences them."""

    def __init__(
        self,
        urls: list[str],
        primary: Engine,
        generation: Callable[[], int],
        pool_size: int = 8,
    ) -> None:
        self.replicas = [Replica(url, pool_size) for url in urls]
        self.primary = primary
        self.generation = generation
        # Its own threads: measuring must not wait behind (or hold up) the requests.
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, len(self.replicas)) + 1, thread_name_prefix="blog-replicas"
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Future[Any] | None = None
        self._next = 0
        self._seen_generation = -1

    def __bool__(self) -> bool:
        return bool(self.replicas)

    def choose(self) -> Replica | None:
        """A replica that may serve a stale-tolerant read now, or None: use the primary."""
        generation = self.generation()
        if generation != self._seen_generation:
            # A new invalidation: fence the replicas at the primary's position now.
            self._seen_generation = generation
            self._wake.set()
        usable = [replica for replica in self.replicas if replica.usable(generation)]
        if not usable:
            return None
        self._next = (self._next + 1) % len(usable)
        return usable[self._next]

    def health(self) -> list[ReplicaHealth]:
        generation = self.generation()
        return [replica.health(generation) for replica in self.replicas]

    def start(self) -> None:
        if self.replicas and self._task is None:
            self._task = asyncio.ensure_future(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._executor.shutdown(wait=False, cancel_futures=True)
        for replica in self.replicas:
            replica.engine.dispose()

    async def check_now(self) -> None:
        """Measure and fence every replica once (the background task does this each second)."""
        loop = asyncio.get_running_loop()
        generation = self.generation()
        position = await loop.run_in_executor(self._executor, self._primary_position)
        await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, self._check, replica, generation, position)
                for replica in self.replicas
            )
        )

    async def _watch(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.check_now()
            except Exception:
                log.exception("replica check failed")
            waiting = any(
                replica.healthy and replica.fenced_generation != self.generation()
                for replica in self.replicas
            )
            pause = FENCE_RETRY_SECONDS if waiting else CHECK_INTERVAL_SECONDS
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), max(0.0, pause - (time.monotonic() - started))
                )

    def _primary_position(self) -> str | None:
        """The primary's GTID position now; None when the primary cannot say (no fence)."""
        try:
            with self.primary.connect() as connection:
                return str(connection.execute(text("SELECT @@gtid_binlog_pos")).scalar() or "")
        except Exception as exc:
            log.warning("cannot read the primary's GTID position: %s", exc)
            return None

    def _check(self, replica: Replica, generation: int, position: str | None) -> None:
        was_healthy = replica.healthy
        replica.measure()
        if (
            replica.healthy
            and replica.fenced_generation != generation
            and position is not None
            and replica.reached(position)
        ):
            replica.fenced_generation = max(replica.fenced_generation, generation)
        if replica.healthy != was_healthy:
            log.warning(
                "replica %s %s (lag %s)",
                replica.name,
                "back in use" if replica.healthy else f"taken out: {replica.error}",
                replica.lag,
            )
