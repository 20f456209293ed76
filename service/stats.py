"""Traffic statistics: writing the counters into DailyStat and articles, reading totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from extends.counters import Pending, TodayStats
from model import Article, Comment, CounterFlush, DailyStat
from model.base import utcnow
from service.articles import visible


@dataclass(frozen=True)
class SiteStats:
    today_views: int
    today_visitors: int
    total_views: int
    total_visitors: int
    articles: int
    comments: int


# Applied batch tokens are remembered this long: far longer than any batch can wait in Redis.
FLUSH_MEMORY = dt.timedelta(days=7)


def flush_counters(session: Session, pending: Pending) -> bool:
    """Add page views to each day's row and each article; all in one transaction.

    Returns False when this batch was applied before (its leader died before it could
    tell the counters): the database then keeps what it has, so nothing counts twice.
    A day's unique visitors arrive as the number seen that day so far (not an
    increment), so the row keeps the larger of what it has and that number.
    """
    if pending.batch:
        if session.get(CounterFlush, pending.batch) is not None:
            return False
        session.add(CounterFlush(batch=pending.batch, flushed_at=utcnow()))
        session.execute(
            delete(CounterFlush).where(CounterFlush.flushed_at < utcnow() - FLUSH_MEMORY)
        )
    days = set(pending.page_views) | set(pending.visitors) | set(pending.unique_visitors)
    for day in sorted(days):
        row = session.get(DailyStat, day)
        if row is None:
            row = DailyStat(day=day, pv=0, uv=0)
            session.add(row)
        row.pv += pending.page_views.get(day, 0)
        unique = pending.unique_visitors.get(day, len(pending.visitors.get(day, ())))
        row.uv = max(row.uv, unique)
    for article_id, views in sorted(pending.article_views.items()):
        session.execute(
            update(Article)
            .where(Article.id == article_id)
            .values(view_count=Article.view_count + views, updated_at=Article.updated_at)
            .execution_options(synchronize_session=False)
        )
    try:
        session.commit()
    except IntegrityError:
        # Another instance applied the same batch at the same moment: its write stands.
        session.rollback()
        return False
    return True


def site_stats(session: Session, today: dt.date) -> SiteStats:
    """What the database knows: today's row, all-time totals, articles and comments."""
    row = session.get(DailyStat, today)
    total_views, total_visitors = session.execute(
        select(func.coalesce(func.sum(DailyStat.pv), 0), func.coalesce(func.sum(DailyStat.uv), 0))
    ).one()
    articles = (
        session.scalar(
            select(func.count()).select_from(Article).where(*visible(), Article.kind == "article")
        )
        or 0
    )
    comments = (
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .join(Article, Article.id == Comment.article_id)
            .where(Comment.status == "visible", *visible())
        )
        or 0
    )
    return SiteStats(
        today_views=row.pv if row else 0,
        today_visitors=row.uv if row else 0,
        total_views=int(total_views),
        total_visitors=int(total_visitors),
        articles=articles,
        comments=comments,
    )


def with_live_counts(stored: SiteStats, live: TodayStats) -> SiteStats:
    """Stored statistics plus what the counters hold and have not flushed yet."""
    today_visitors = max(stored.today_visitors, live.unique_visitors)
    return SiteStats(
        today_views=stored.today_views + live.page_views,
        today_visitors=today_visitors,
        total_views=stored.total_views + live.page_views,
        total_visitors=stored.total_visitors - stored.today_visitors + today_visitors,
        articles=stored.articles,
        comments=stored.comments,
    )
