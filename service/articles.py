"""Articles and pages as readers see them: listings, one article with its neighbours, one page
(/<slug>), the archive, and where an old URL has moved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from model import Article, Category, Source, Tag, User, article_tags
from model.base import utcnow
from model.pager import Pager
from service import slugs, timezones
from service.errors import NotFound, message
from service.images import ImageInfo
from service.media import image_info, media_lookup
from service.rendering import (
    RENDERER_VERSION,
    first_paragraph_text,
    reading_minutes,
    render_markdown,
)
from service.site import get_settings

NO_SUCH_PAGE = message("There is no such page.")


@dataclass(frozen=True)
class CategoryRef:
    id: int
    name: str
    slug: str = ""

    @property
    def url(self) -> str:
        return category_path(self.slug) if self.slug else f"/category/{self.id}"


@dataclass(frozen=True)
class MovedTo:
    """An old URL's answer: 301 to ``path``."""

    path: str


@dataclass(frozen=True)
class SourceRef:
    code: str
    name: str

    @property
    def url(self) -> str:
        return f"/source/{quote(self.code, safe='')}"


@dataclass(frozen=True)
class ArticleSummary:
    """What a listing shows of an article: plain data, safe to cache and share."""

    id: int
    title: str
    slug: str
    publish_at: dt.datetime
    updated_at: dt.datetime
    category: CategoryRef | None
    source: SourceRef | None
    tags: tuple[str, ...]
    summary: str
    comment_count: int
    view_count: int
    featured: ImageInfo | None = None
    reading_minutes: int = 1
    author_name: str = ""
    kind: str = "article"
    author_username: str = ""
    # The byline's avatar: an uploaded picture's file name, else the identicon's seed.
    author_avatar: str = ""
    author_seed: str = ""

    @property
    def url(self) -> str:
        return page_path(self.slug) if self.kind == "page" else article_path(self.id, self.slug)

    @property
    def author_url(self) -> str:
        """The byline's link: the author's page (empty when the article has no author)."""
        return author_path(self.author_username) if self.author_username else ""


@dataclass(frozen=True)
class Listing:
    """One page of a list of articles, with what the page is about."""

    items: list[ArticleSummary]
    pager: Pager
    heading: str = ""
    intro: str = ""
    # An author's page: their avatar (an uploaded picture's file name) and identicon seed.
    avatar: str = ""
    avatar_seed: str = ""


@dataclass(frozen=True)
class MonthCount:
    year: int
    month: int
    count: int

    @property
    def url(self) -> str:
        return f"/archive/{self.year:04d}/{self.month:02d}"


@dataclass(frozen=True)
class ArticlePage:
    article: Article
    summary: ArticleSummary
    newer: ArticleSummary | None
    older: ArticleSummary | None


def article_path(article_id: int, slug: str) -> str:
    """The canonical path of an article: the id, then the slug when it has one."""
    return f"/article/{article_id}/{quote(slug, safe='')}" if slug else f"/article/{article_id}"


def page_path(slug: str) -> str:
    return f"/{quote(slug, safe='')}"


def category_path(slug: str) -> str:
    return f"/category/{quote(slug, safe='')}"


def author_path(username: str) -> str:
    return "/author/" + quote(username, safe="")


def tag_path(name: str) -> str:
    return f"/tag/{quote(name, safe='')}"


def visible() -> tuple[ColumnElement[bool], ...]:
    """Published, or scheduled with a time that has come (the job may not have run yet)."""
    now = utcnow()
    return (
        Article.status.in_(("published", "scheduled")),
        Article.publish_at.is_not(None),
        Article.publish_at <= now,
    )


def searchable() -> tuple[ColumnElement[bool], ...]:
    """Visible articles outside hidden categories, and visible pages: what search shows."""
    hidden = select(Category.id).where(Category.hidden.is_(True))
    return (*visible(), or_(Article.category_id.is_(None), Article.category_id.not_in(hidden)))


def listable() -> tuple[ColumnElement[bool], ...]:
    """Searchable articles (never pages): what lists, feeds and archives show."""
    return (*searchable(), Article.kind == "article")


def summarize(article: Article) -> ArticleSummary:
    """Plain data for a listing; what ``summary_options()`` names must be loaded."""
    category = article.category
    source = article.source
    featured = article.featured_image
    author = article.author
    return ArticleSummary(
        id=article.id,
        title=article.title,
        slug=article.slug,
        publish_at=article.publish_at or article.created_at,
        updated_at=article.updated_at,
        category=CategoryRef(category.id, category.name, category.slug) if category else None,
        source=SourceRef(source.code, source.name) if source else None,
        tags=tuple(tag.name for tag in article.tags),
        summary=article.summary.strip() or first_paragraph_text(article.content),
        comment_count=article.comment_count,
        view_count=article.view_count,
        featured=image_info(featured) if featured else None,
        # From the rendered text when there is one (no Markdown syntax counted as words).
        reading_minutes=reading_minutes(article.content_html or article.content),
        author_name=author.shown_name if author else "",
        kind=article.kind,
        author_username=author.username if author else "",
        author_avatar=(author.avatar or "") if author else "",
        author_seed=(author.email or author.username) if author else "",
    )


def summary_options() -> tuple[LoaderOption, ...]:
    """What ``summarize`` reads of an article, loaded up front."""
    return (
        selectinload(Article.category),
        selectinload(Article.source),
        selectinload(Article.tags),
        selectinload(Article.featured_image),
        selectinload(Article.author),
    )


def summaries(
    session: Session, conditions: tuple[ColumnElement[bool], ...], limit: int
) -> list[ArticleSummary]:
    """The newest ``limit`` articles matching ``conditions``."""
    rows = session.scalars(
        select(Article)
        .where(*conditions)
        .options(*summary_options())
        .order_by(Article.publish_at.desc(), Article.id.desc())
        .limit(limit)
    ).all()
    return [summarize(article) for article in rows]


def _page(
    session: Session, conditions: tuple[ColumnElement[bool], ...], page: int, per_page: int
) -> tuple[list[ArticleSummary], Pager]:
    total = session.scalar(select(func.count()).select_from(Article).where(*conditions)) or 0
    pager = Pager(page=page, per_page=per_page, total=total)
    if page < 1 or page > pager.pages:
        raise NotFound(NO_SUCH_PAGE)
    rows = session.scalars(
        select(Article)
        .where(*conditions)
        .options(*summary_options())
        .order_by(Article.publish_at.desc(), Article.id.desc())
        .offset(pager.offset)
        .limit(per_page)
    ).all()
    return [summarize(article) for article in rows], pager


def list_published(session: Session, page: int, per_page: int) -> Listing:
    """The home page: listable articles, newest first; NotFound past the last page."""
    items, pager = _page(session, listable(), page, per_page)
    return Listing(items, pager)


def find_category(session: Session, slug: str) -> Category | MovedTo:
    """The category at /category/<slug>; its id or an old slug answers where it is now."""
    category = session.scalar(select(Category).where(Category.slug == slug))
    if category is not None:
        return category
    moved = None
    if slug.isdigit() and len(slug) < 10:
        moved = session.get(Category, int(slug))
    else:
        old_owner = slugs.moved_to(session, "category", slug)
        moved = session.get(Category, old_owner) if old_owner is not None else None
    if moved is None:
        raise NotFound("There is no such category.")
    return MovedTo(category_path(moved.slug))


def category_listing(session: Session, slug: str, page: int, per_page: int) -> Listing | MovedTo:
    """A category's articles (a hidden category's page still works by its URL)."""
    category = find_category(session, slug)
    if isinstance(category, MovedTo):
        return category
    conditions = (*visible(), Article.kind == "article", Article.category_id == category.id)
    items, pager = _page(session, conditions, page, per_page)
    return Listing(items, pager, heading=category.name, intro=category.intro)


def tag_listing(session: Session, name: str, page: int, per_page: int) -> Listing:
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        raise NotFound("There is no such tag.")
    tagged = select(article_tags.c.article_id).where(article_tags.c.tag_id == tag.id)
    items, pager = _page(session, (*listable(), Article.id.in_(tagged)), page, per_page)
    return Listing(items, pager, heading=tag.name)


def find_author(session: Session, username: str) -> User:
    """The user at /author/<username>."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("There is no such author.")
    return user


def author_listing(session: Session, username: str, page: int, per_page: int) -> Listing:
    """An author's listed articles, newest first; the heading is the author's shown name."""
    author = find_author(session, username)
    items, pager = _page(session, (*listable(), Article.author_id == author.id), page, per_page)
    return Listing(
        items,
        pager,
        heading=author.shown_name,
        intro=author.bio or "",
        avatar=author.avatar or "",
        avatar_seed=author.email or author.username,
    )


def source_listing(session: Session, code: str, page: int, per_page: int) -> Listing:
    source = session.scalar(select(Source).where(Source.code == code))
    if source is None:
        raise NotFound("There is no such source.")
    items, pager = _page(session, (*listable(), Article.source_id == source.id), page, per_page)
    return Listing(items, pager, heading=source.name)


def month_listing(session: Session, year: int, month: int, page: int, per_page: int) -> Listing:
    """Articles published in one month; a month with none is NotFound."""
    if not (1 <= month <= 12 and 1970 <= year <= 9999):
        raise NotFound(NO_SUCH_PAGE)
    # The month as the site's readers live it, as a UTC range for the query.
    start, end = timezones.month_range(year, month, get_settings(session).time_zone)
    conditions = (*listable(), Article.publish_at >= start, Article.publish_at < end)
    items, pager = _page(session, conditions, page, per_page)
    if pager.total == 0:
        raise NotFound("Nothing was published that month.")
    return Listing(items, pager)


def archive_months(session: Session) -> list[MonthCount]:
    """Every month with listable articles, newest first, with how many.

    Months are the site's time zone's: an article published at 23:30 UTC on 31 January is
    a February article in Berlin. Offsets are not whole hours everywhere (Kolkata, Kathmandu)
    and change with daylight saving, so each month's start is worked out here, as UTC, and
    the database counts the articles between those starts in one aggregated query.
    """
    zone_name = get_settings(session).time_zone
    first, last = session.execute(
        select(func.min(Article.publish_at), func.max(Article.publish_at)).where(*listable())
    ).one()
    if first is None or last is None:
        return []
    months = _months_between(
        timezones.local_month(first, zone_name), timezones.local_month(last, zone_name)
    )
    starts = [timezones.month_range(year, month, zone_name)[0] for year, month in months]
    # The newest month whose start is not after the publication time.
    month_index = case(
        *(
            (Article.publish_at >= start, index)
            for index, start in reversed(list(enumerate(starts)))
        ),
        else_=0,
    )
    published = select(month_index.label("month_index")).where(*listable()).subquery()
    rows = session.execute(
        select(published.c.month_index, func.count()).group_by(published.c.month_index)
    ).all()
    counted = sorted(((int(index), int(count)) for index, count in rows), reverse=True)
    return [MonthCount(*months[index], count) for index, count in counted]


def _months_between(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    """Every (year, month) from ``first`` to ``last``, both included, oldest first."""
    months = []
    year, month = first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def page_by_slug(session: Session, slug: str) -> ArticlePage | MovedTo:
    """A published page at /<slug>, rendered; an old slug answers where the page is now."""
    page = session.scalar(
        select(Article)
        .where(Article.kind == "page", Article.slug == slug, *visible())
        .options(*summary_options())
    )
    if page is None:
        old_owner = slugs.moved_to(session, "page", slug)
        moved = (
            session.scalar(
                select(Article).where(Article.id == old_owner, Article.kind == "page", *visible())
            )
            if old_owner is not None
            else None
        )
        if moved is None:
            raise NotFound(NO_SUCH_PAGE)
        return MovedTo(page_path(moved.slug))
    ensure_rendered(session, page)
    return ArticlePage(article=page, summary=summarize(page), newer=None, older=None)


def get_published(session: Session, article_id: int) -> Article:
    """A readable article with what its page shows; drafts and future ones are NotFound."""
    article = session.scalar(
        select(Article).where(Article.id == article_id, *visible()).options(*summary_options())
    )
    if article is None:
        raise NotFound("There is no such article.")
    ensure_rendered(session, article)
    return article


def article_page(session: Session, article_id: int) -> ArticlePage:
    """One article with its newer and older neighbours among the listed articles.

    A page has no neighbours: its old /article/<id> URL answers 301 to /<slug>.
    """
    article = get_published(session, article_id)
    if article.kind == "page":
        return ArticlePage(article=article, summary=summarize(article), newer=None, older=None)
    when = article.publish_at
    newer = session.scalar(
        select(Article)
        .where(
            *listable(),
            or_(
                Article.publish_at > when, and_(Article.publish_at == when, Article.id > article.id)
            ),
        )
        .options(*summary_options())
        .order_by(Article.publish_at.asc(), Article.id.asc())
        .limit(1)
    )
    older = session.scalar(
        select(Article)
        .where(
            *listable(),
            or_(
                Article.publish_at < when, and_(Article.publish_at == when, Article.id < article.id)
            ),
        )
        .options(*summary_options())
        .order_by(Article.publish_at.desc(), Article.id.desc())
        .limit(1)
    )
    return ArticlePage(
        article=article,
        summary=summarize(article),
        newer=summarize(newer) if newer else None,
        older=summarize(older) if older else None,
    )


def ensure_rendered(session: Session, article: Article) -> None:
    """Re-render cached HTML made by an older renderer (rendering happens once per save)."""
    if article.renderer_version != RENDERER_VERSION:
        rendered = render_markdown(article.content, media_lookup(session, article.content))
        # A re-render is not an edit: keep updated_at as it was.
        session.execute(
            update(Article)
            .where(Article.id == article.id)
            .values(
                content_html=rendered.html,
                toc_html=rendered.toc_html,
                renderer_version=RENDERER_VERSION,
                updated_at=Article.updated_at,
            )
        )
        session.commit()
        article.content_html = rendered.html
        article.toc_html = rendered.toc_html
        article.renderer_version = RENDERER_VERSION
