"""Traffic counters: page views and unique visitors per day, views per article.

One interface, two homes: this process's memory (a single instance) and Redis
(``extends/counters_redis.py``, for a cluster). The leader flushes them into
the database::

    pending = await counters.drain()      # one batch: a retry, or the counts since the last
    write pending to the database         # may fail: the next drain returns the same batch
    await counters.commit(pending)        # only now are these counts forgotten

until a drain comes back empty. A failed write loses nothing; the database records each
batch token it applied, so a batch written but not committed is never written twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from extends.clock import SYSTEM_CLOCK, Clock


@dataclass
class Pending:
    """Counts taken out of the counters, waiting to be written to the database."""

    page_views: dict[dt.date, int] = field(default_factory=dict)
    visitors: dict[dt.date, set[str]] = field(default_factory=dict)
    article_views: dict[int, int] = field(default_factory=dict)
    # Unique visitors of each day so far (an absolute count, not an increment: a HyperLogLog
    # gives a number, not ids); the flush keeps the larger of this and what is stored.
    unique_visitors: dict[dt.date, int] = field(default_factory=dict)
    # Names the drained batch for ``commit`` (Redis keeps it until the write succeeded).
    batch: str = ""

    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not (self.page_views or self.visitors or self.article_views or self.unique_visitors)


@dataclass(frozen=True)
class TodayStats:
    """One day's counts that are still in the counters (not yet in the database)."""

    page_views: int
    unique_visitors: int


class Counters(Protocol):
    """Where page views wait for the leader's flush."""

    async def record(
        self, day: dt.date, visitor_id: str, article_id: int | None
    ) -> TodayStats | None:
        """Count one page view (and one article view when article_id is given); returns
        ``day``'s counts after it (None when they cannot be known), in the same round trip."""

    async def today(self, day: dt.date) -> TodayStats:
        """Views and unique visitors counted for ``day`` and not yet flushed."""

    async def drain(self) -> Pending:
        """The next batch for the database: an uncommitted one again, else the new counts."""

    async def commit(self, pending: Pending) -> None:
        """Forget a drained batch once the database has it; until then drain returns it."""


class MemoryCounters:
    """Counters in this process (a single instance)."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._page_views: Counter[dt.date] = Counter()
        self._visitors: dict[dt.date, set[str]] = {}
        self._article_views: Counter[int] = Counter()
        self._uncommitted: Pending | None = None

    async def record(
        self, day: dt.date, visitor_id: str, article_id: int | None
    ) -> TodayStats | None:
        self._page_views[day] += 1
        self._visitors.setdefault(day, set()).add(visitor_id)
        if article_id is not None:
            self._article_views[article_id] += 1
        return await self.today(day)

    async def today(self, day: dt.date) -> TodayStats:
        return TodayStats(self._page_views[day], len(self._visitors.get(day, ())))

    async def drain(self) -> Pending:
        if self._uncommitted is not None:
            # The last flush did not reach the database: the same batch, same token, again.
            return self._uncommitted
        if not (self._page_views or self._article_views):
            return Pending()
        visitors = {day: set(ids) for day, ids in self._visitors.items()}
        pending = Pending(
            page_views=dict(self._page_views),
            visitors=visitors,
            article_views=dict(self._article_views),
            unique_visitors={day: len(ids) for day, ids in visitors.items()},
            batch=f"{int(self.clock.time())}-{secrets.token_hex(6)}",
        )
        self._page_views.clear()
        self._article_views.clear()
        # Keep today's visitor ids so a visitor seen before the flush is not counted twice.
        today = max(self._visitors, default=None)
        self._visitors = {today: self._visitors[today]} if today else {}
        self._uncommitted = pending
        return pending

    async def commit(self, pending: Pending) -> None:
        if self._uncommitted is pending:
            self._uncommitted = None
