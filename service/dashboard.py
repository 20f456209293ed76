"""The dashboard: counts, the last 30 days of traffic as a chart, recent comments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import Article, Comment, DailyStat
from model.base import utcnow
from service.moderation import CommentRow

DAYS = 30
RECENT_COMMENTS = 8

# Chart geometry (SVG user units); the SVG scales to its container.
CHART_WIDTH = 640
CHART_HEIGHT = 220
PAD_LEFT = 44
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 28


@dataclass(frozen=True)
class DayTraffic:
    day: dt.date
    pv: int
    uv: int


@dataclass(frozen=True)
class TrafficChart:
    """Everything the template needs to draw the chart, computed here, not in the template."""

    days: list[DayTraffic]
    width: int
    height: int
    pv_points: str
    uv_points: str
    grid: list[tuple[float, int]]  # (y, value) of horizontal grid lines
    labels: list[tuple[float, str]]  # (x, "MM-DD") under the axis
    bars: list[tuple[float, float, float, DayTraffic]]  # x, y, height for the pv bars
    bar_width: float
    total_pv: int
    total_uv: int
    plot_left: int
    plot_right: int
    plot_bottom: int


@dataclass(frozen=True)
class Dashboard:
    articles: int
    published: int
    drafts: int
    scheduled: int
    pending_comments: int
    comments: int
    chart: TrafficChart
    recent_comments: list[CommentRow]
    # Articles contributors submitted for review (status "pending").
    pending_review: int = 0


def _nice_ceiling(value: int) -> int:
    """A round upper bound for the axis: 1, 2, 5, 10, 20, 50, ..."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def build_chart(days: list[DayTraffic]) -> TrafficChart:
    """Lines for views and visitors over the given days, and pv bars for hover titles."""
    top = _nice_ceiling(max((d.pv for d in days), default=0))
    plot_w = CHART_WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = CHART_HEIGHT - PAD_TOP - PAD_BOTTOM
    bottom = PAD_TOP + plot_h
    step = plot_w / max(1, len(days))

    def x(index: int) -> float:
        return round(PAD_LEFT + step * index + step / 2, 1)

    def y(value: int) -> float:
        return round(bottom - plot_h * value / top, 1)

    pv_points = " ".join(f"{x(i)},{y(d.pv)}" for i, d in enumerate(days))
    uv_points = " ".join(f"{x(i)},{y(d.uv)}" for i, d in enumerate(days))
    grid = [(y(top * k // 4), top * k // 4) for k in range(5)]
    labels = [
        (x(i), d.day.strftime("%m-%d"))
        for i, d in enumerate(days)
        if i % 5 == 0 or i == len(days) - 1
    ]
    bar_width = round(step * 0.6, 1)
    bars = [
        (round(x(i) - bar_width / 2, 1), y(d.pv), round(bottom - y(d.pv), 1), d)
        for i, d in enumerate(days)
    ]
    return TrafficChart(
        days=days,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        pv_points=pv_points,
        uv_points=uv_points,
        grid=grid,
        labels=labels,
        bars=bars,
        bar_width=bar_width,
        total_pv=sum(d.pv for d in days),
        total_uv=sum(d.uv for d in days),
        plot_left=PAD_LEFT,
        plot_right=CHART_WIDTH - PAD_RIGHT,
        plot_bottom=bottom,
    )


@dataclass(frozen=True)
class DashboardData:
    """What the dashboard reads from the database (cached; today's live counts are not)."""

    today: dt.date
    articles_by_status: dict[str, int]
    comments_by_status: dict[str, int]
    stored_traffic: dict[dt.date, tuple[int, int]]  # day -> (pv, uv) already flushed
    recent_comments: list[CommentRow]


def traffic(
    session: Session, today: dt.date, today_pv: int = 0, today_uv: int = 0
) -> list[DayTraffic]:
    """Page views and unique visitors for the 30 days ending today (missing days are 0).

    Today's counts not yet flushed by the leader are added from the live counters.
    """
    return days_of_traffic(stored_traffic(session, today), today, today_pv, today_uv)


def stored_traffic(session: Session, today: dt.date) -> dict[dt.date, tuple[int, int]]:
    """The flushed (pv, uv) of each of the 30 days ending today that has any."""
    first = today - dt.timedelta(days=DAYS - 1)
    return {
        row.day: (row.pv, row.uv)
        for row in session.scalars(select(DailyStat).where(DailyStat.day >= first))
    }


def days_of_traffic(
    stored: dict[dt.date, tuple[int, int]], today: dt.date, today_pv: int = 0, today_uv: int = 0
) -> list[DayTraffic]:
    """Every one of the 30 days ending today, today's live counts added."""
    first = today - dt.timedelta(days=DAYS - 1)
    days = []
    for offset in range(DAYS):
        day = first + dt.timedelta(days=offset)
        pv, uv = stored.get(day, (0, 0))
        if day == today:
            pv, uv = pv + today_pv, max(uv, today_uv)
        days.append(DayTraffic(day, pv, uv))
    return days


def dashboard_data(session: Session, today: dt.date | None = None) -> DashboardData:
    """Everything the dashboard reads from the database, in four queries."""
    today = today or utcnow().date()
    by_status = dict(
        session.execute(
            select(Article.status, func.count())
            .where(Article.kind == "article")
            .group_by(Article.status)
        ).all()
    )
    comments = dict(
        session.execute(select(Comment.status, func.count()).group_by(Comment.status)).all()
    )
    recent = session.execute(
        select(Comment, Article.title)
        .join(Article, Article.id == Comment.article_id)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(RECENT_COMMENTS)
    ).all()
    return DashboardData(
        today=today,
        articles_by_status={str(status): int(count) for status, count in by_status.items()},
        comments_by_status={str(status): int(count) for status, count in comments.items()},
        stored_traffic=stored_traffic(session, today),
        recent_comments=[CommentRow(comment, title) for comment, title in recent],
    )


def build_dashboard(data: DashboardData, today_pv: int = 0, today_uv: int = 0) -> Dashboard:
    """The dashboard from its (maybe cached) data and today's live counts."""
    by_status = data.articles_by_status
    comments = data.comments_by_status
    return Dashboard(
        articles=sum(by_status.values()),
        published=by_status.get("published", 0),
        drafts=by_status.get("draft", 0),
        scheduled=by_status.get("scheduled", 0),
        pending_review=by_status.get("pending", 0),
        pending_comments=comments.get("pending", 0),
        comments=sum(comments.values()),
        chart=build_chart(days_of_traffic(data.stored_traffic, data.today, today_pv, today_uv)),
        recent_comments=data.recent_comments,
    )


def load_dashboard(
    session: Session, today: dt.date | None = None, today_pv: int = 0, today_uv: int = 0
) -> Dashboard:
    """Everything the dashboard shows, in a handful of queries."""
    return build_dashboard(dashboard_data(session, today), today_pv, today_uv)
