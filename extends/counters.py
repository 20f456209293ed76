"""Traffic counters: page views and unique visitors per day, views per article.

One interface, two homes: this process's memory (a single instance) and Redis
(``extends/counters_redis.py``, for a cluster). The leader flushes them into
the database with ``drain()`` / ``restore()``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Pending:
    """Counts taken out of the counters, waiting to be written to the database."""

    page_views: dict[dt.date, int] = field(default_factory=dict)
    visitors: dict[dt.date, set[str]] = field(default_factory=dict)
    article_views: dict[int, int] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.page_views or self.visitors or self.article_views)


@dataclass(frozen=True)
class TodayStats:
    page_views: int
    unique_visitors: int


class Counters(Protocol):
    async def record(self, day: dt.date, visitor_id: str, article_id: int | None) -> None:
        """Count one page view (and one article view when article_id is given)."""

    async def today(self, day: dt.date) -> TodayStats:
        """Views and unique visitors counted for ``day`` and not yet flushed."""

    async def drain(self) -> Pending:
        """Take every count out, for the flush to write to the database."""


class MemoryCounters:
    """Counters in this process (a single instance)."""

    def __init__(self) -> None:
        self._page_views: Counter[dt.date] = Counter()
        self._visitors: dict[dt.date, set[str]] = {}
        self._article_views: Counter[int] = Counter()

    async def record(self, day: dt.date, visitor_id: str, article_id: int | None) -> None:
        self._page_views[day] += 1
        self._visitors.setdefault(day, set()).add(visitor_id)
        if article_id is not None:
            self._article_views[article_id] += 1

    async def today(self, day: dt.date) -> TodayStats:
        return TodayStats(self._page_views[day], len(self._visitors.get(day, ())))

    async def drain(self) -> Pending:
        pending = Pending(
            page_views=dict(self._page_views),
            visitors={day: set(ids) for day, ids in self._visitors.items()},
            article_views=dict(self._article_views),
        )
        self._page_views.clear()
        self._article_views.clear()
        # Keep today's visitor ids so a visitor seen before the flush is not counted twice.
        today = max(self._visitors, default=None)
        self._visitors = {today: self._visitors[today]} if today else {}
        return pending
