"""Slugs: made from titles (Chinese becomes pinyin), checked, and remembered when they change.

Every old slug of an article, page or category is kept in ``slug_history`` so the URLs it
made answer 301 to the current one.
"""

from __future__ import annotations

from slugify import slugify
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from model import SlugHistory

MAX_SLUG = 80

# First path segments the route table (and Tornado's static rules) answer: a page slug equal
# to one of them would be unreachable or would hide a route. tests/unit/reader/test_slugs.py
# checks this list against main.route_table().
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "archive",
        "article",
        "auth",
        "author",
        "category",
        "favicon.ico",
        "feed.atom",
        "feed.rss",
        "healthz",
        "lang",
        "live",
        "mail",
        "media",
        "robots.txt",
        "search",
        "sitemap.xml",
        "source",
        "static",
        "tag",
    }
)


def slug_from_title(title: str) -> str:
    """A readable ASCII slug: "Tornado 入门" → "tornado-ru-men" (pinyin for Chinese)."""
    return slugify(title, max_length=MAX_SLUG, word_boundary=True)


def clean_slug(raw: str) -> str:
    """What an author typed, made URL-safe; letters of any script they chose are kept."""
    return slugify(raw, allow_unicode=True, max_length=MAX_SLUG, word_boundary=True)


def remember_old_slug(session: Session, kind: str, target_id: int, old: str, new: str) -> None:
    """Keep ``old`` as a former slug of the item; ``new`` now belongs to it alone."""
    if new:
        session.execute(
            delete(SlugHistory).where(SlugHistory.kind == kind, SlugHistory.slug == new)
        )
    if not old or old == new:
        return
    session.execute(delete(SlugHistory).where(SlugHistory.kind == kind, SlugHistory.slug == old))
    session.add(SlugHistory(kind=kind, target_id=target_id, slug=old))


def moved_to(session: Session, kind: str, slug: str) -> int | None:
    """The id of the item that had this slug before, if any."""
    return session.scalar(
        select(SlugHistory.target_id).where(SlugHistory.kind == kind, SlugHistory.slug == slug)
    )


def forget(session: Session, kind: str, target_id: int) -> None:
    """A deleted item's old slugs go with it (another item may take them)."""
    session.execute(
        delete(SlugHistory).where(SlugHistory.kind == kind, SlugHistory.target_id == target_id)
    )
