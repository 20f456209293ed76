"""The sidebar as readers see it: the admin's HTML blocks and the built-in widgets, in order."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import Article, Category, Tag, Widget, article_tags
from service.articles import (
    ArticleSummary,
    CategoryRef,
    MonthCount,
    archive_months,
    listable,
    summaries,
    tag_path,
)
from service.comments import RecentComment, recent_comments
from service.rendering import sanitize_html
from service.stats import SiteStats, site_stats

RECENT_LIMIT = 5
CLOUD_LEVELS = 5


@dataclass(frozen=True)
class CloudTag:
    name: str
    count: int
    level: int  # 1 (rare) .. CLOUD_LEVELS (frequent)

    @property
    def url(self) -> str:
        return tag_path(self.name)


# What a built-in widget lists, one kind per widget kind.
SidebarItem = tuple[CategoryRef, int] | CloudTag | ArticleSummary | RecentComment | MonthCount


@dataclass(frozen=True)
class SidebarWidget:
    kind: str
    title: str
    html: str = ""  # kind "html": the admin's block, sanitised
    items: Sequence[SidebarItem] = field(default_factory=list)
    stats: SiteStats | None = None  # kind "stats"


def category_counts(session: Session) -> list[tuple[CategoryRef, int]]:
    """Listed categories with how many listed articles each has."""
    rows = session.execute(
        select(Category.id, Category.name, Category.slug, func.count(Article.id))
        .join(Article, Article.category_id == Category.id)
        .where(Category.hidden.is_(False), *listable())
        .group_by(Category.id, Category.name, Category.slug, Category.sort_order)
        .order_by(Category.sort_order, Category.id)
    ).all()
    return [(CategoryRef(cid, name, slug), int(count)) for cid, name, slug, count in rows]


def tag_cloud(session: Session) -> list[CloudTag]:
    """Tags of listed articles, alphabetical, each with a size level from its count."""
    rows = session.execute(
        select(Tag.name, func.count(article_tags.c.article_id))
        .join(article_tags, article_tags.c.tag_id == Tag.id)
        .join(Article, Article.id == article_tags.c.article_id)
        .where(*listable())
        .group_by(Tag.id, Tag.name)
        .order_by(Tag.name)
    ).all()
    if not rows:
        return []
    most = max(int(count) for _, count in rows)
    return [
        CloudTag(
            name,
            int(count),
            1 + round((CLOUD_LEVELS - 1) * math.log(count) / math.log(most)) if most > 1 else 1,
        )
        for name, count in rows
    ]


def sidebar(session: Session, today: dt.date) -> list[SidebarWidget]:
    """Enabled widgets in order, each with the data it shows."""
    widgets = session.scalars(
        select(Widget).where(Widget.enabled.is_(True)).order_by(Widget.sort_order, Widget.id)
    ).all()
    result = []
    for widget in widgets:
        if widget.kind == "html":
            result.append(SidebarWidget("html", widget.title, html=sanitize_html(widget.content)))
        elif widget.kind == "categories":
            result.append(SidebarWidget(widget.kind, widget.title, items=category_counts(session)))
        elif widget.kind == "tags":
            result.append(SidebarWidget(widget.kind, widget.title, items=tag_cloud(session)))
        elif widget.kind == "recent_articles":
            articles = summaries(session, listable(), RECENT_LIMIT)
            result.append(SidebarWidget(widget.kind, widget.title, items=articles))
        elif widget.kind == "recent_comments":
            comments = recent_comments(session, RECENT_LIMIT)
            result.append(SidebarWidget(widget.kind, widget.title, items=comments))
        elif widget.kind == "archives":
            result.append(SidebarWidget(widget.kind, widget.title, items=archive_months(session)))
        elif widget.kind == "stats":
            result.append(
                SidebarWidget(widget.kind, widget.title, stats=site_stats(session, today))
            )
    return result
