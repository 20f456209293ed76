"""Writing: create, update, publish, schedule and delete articles and pages; revisions; the
admin lists."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from model import (
    Article,
    ArticleAutosave,
    ArticleRevision,
    Category,
    Comment,
    Media,
    Source,
    Tag,
    article_tags,
)
from model.base import utcnow
from model.blog import ARTICLE_STATUSES
from model.pager import Pager
from service import menus, roles, search, slugs, timezones
from service.errors import Conflict, Invalid, NotFound, message
from service.forms import parse_id
from service.media import MediaItem, media_lookup, recent_images
from service.rendering import RENDERER_VERSION, first_paragraph_text, render_markdown
from service.roles import Actor
from service.site import get_settings

MAX_TITLE = 200
MAX_TAG = 64
MAX_TAGS = 20
ADMIN_PAGE_SIZE = 20
# How many recent library images the editor offers as the featured image.
FEATURED_CHOICES = 40
_TAG_SEPARATORS = re.compile(r"[,，、]")


@dataclass
class ArticleForm:
    """What the editor posts, as text: validated by ``save_article``."""

    title: str = ""
    slug: str = ""
    content: str = ""
    summary: str = ""
    category_id: str = ""
    source_id: str = ""
    tags: str = ""
    status: str = "draft"
    publish_at: str = ""
    # The id of a library image, or empty for none.
    featured_image: str = ""
    comments_enabled: str = ""  # "1": a page takes comments (an article always may)
    # The article's version the form was opened at ("" from a client that does not say).
    version: str = ""

    @classmethod
    def from_article(cls, article: Article, zone_name: str = timezones.DEFAULT_ZONE) -> ArticleForm:
        return cls(
            title=article.title,
            slug=article.slug,
            comments_enabled="1" if article.comments_enabled else "",
            content=article.content,
            summary=article.summary,
            category_id=str(article.category_id or ""),
            source_id=str(article.source_id or ""),
            tags=", ".join(tag.name for tag in article.tags),
            status=article.status,
            publish_at=format_publish_at(article.publish_at, zone_name),
            featured_image=str(article.featured_image_id or ""),
            version=str(article.version),
        )


@dataclass(frozen=True)
class ArticleFilter:
    kind: str = "article"
    status: str = ""
    category_id: int | None = None
    tag: str = ""
    text: str = ""
    page: int = 1


@dataclass(frozen=True)
class EditorChoices:
    categories: list[Category]
    sources: list[Source]
    # The library images a featured image can be chosen from (newest first).
    images: list[MediaItem] = field(default_factory=list)


class EditConflict(Conflict):
    """The article was saved by someone (or another tab) since this form was opened."""

    def __init__(self) -> None:
        super().__init__(
            "This article was changed since you opened it. Nothing was saved: "
            "compare the two versions and save again."
        )


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "same" or "gap"
    text: str


@dataclass
class RevisionView:
    revision: ArticleRevision
    article: Article
    lines: list[DiffLine] = field(default_factory=list)


def format_publish_at(value: dt.datetime | None, zone_name: str = timezones.DEFAULT_ZONE) -> str:
    """The value an ISO ``datetime-local`` field shows: the stored UTC time in the site's
    zone, to the minute."""
    if value is None:
        return ""
    return timezones.to_local(value, zone_name).strftime("%Y-%m-%dT%H:%M")


# What a refused publication time is told to look like: the form's own format.
PUBLISH_AT_EXAMPLE = format_publish_at(dt.datetime(2030, 1, 31, 9, 30))


def parse_publish_at(raw: str, zone_name: str = timezones.DEFAULT_ZONE) -> dt.datetime:
    """ISO 8601 to naive UTC; a value without an offset is local time in the site's zone
    (one the clocks skip is refused, one they pass twice is its first occurrence)."""
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            "The publication time must look like {example}.", example=PUBLISH_AT_EXAMPLE
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    else:
        value = timezones.to_utc(value, zone_name)
    return value.replace(microsecond=0)


def choose_slug(
    session: Session, form_slug: str, title: str, kind: str, item_id: int | None
) -> str:
    """The slug the author typed (or one made from the title); a page's must be free."""
    slug = (slugs.clean_slug(form_slug) if form_slug.strip() else "") or slugs.slug_from_title(
        title
    )
    if kind != "page":
        return slug
    if not slug:
        raise Invalid("Please give the page a slug (letters, digits and dashes).")
    if slug in slugs.RESERVED_SLUGS:
        raise Invalid(
            "The address /{slug} belongs to the site itself. Please choose another slug.",
            slug=slug,
        )
    other = session.scalar(
        select(Article.id).where(
            Article.kind == "page", Article.slug == slug, Article.id != (item_id or 0)
        )
    )
    if other is not None:
        raise Conflict("Another page has the address /{slug}.", slug=slug)
    return slug


def parse_tag_names(raw: str) -> list[str]:
    """Comma-separated names (ASCII or CJK commas), trimmed, without repeats (case-blind)."""
    names: list[str] = []
    seen: set[str] = set()
    for part in _TAG_SEPARATORS.split(raw or ""):
        name = " ".join(part.split())
        if not name:
            continue
        if len(name) > MAX_TAG:
            raise Invalid("A tag must be at most {limit} characters long.", limit=MAX_TAG)
        if name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    if len(names) > MAX_TAGS:
        raise Invalid("An article can have at most {limit} tags.", limit=MAX_TAGS)
    return names


def tags_by_names(session: Session, names: list[str]) -> list[Tag]:
    """The tags with these names, created on the fly when missing."""
    tags = []
    for name in names:
        tag = session.scalar(select(Tag).where(func.lower(Tag.name) == name.lower()))
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
        tags.append(tag)
    return tags


def _optional_id(session: Session, model: type, raw: str, message: str) -> int | None:
    if not raw or not raw.strip():
        return None
    try:
        value = parse_id(raw)
    except ValueError:
        raise Invalid(message) from None
    if session.get(model, value) is None:
        raise Invalid(message)
    return value


def editor_choices(session: Session, featured_image: str | None = None) -> EditorChoices:
    """Categories and sources for the editor's selects; with ``featured_image`` (the form's
    value, maybe empty) also the images a featured image can be chosen from."""
    categories = session.scalars(select(Category).order_by(Category.sort_order, Category.id))
    sources = session.scalars(select(Source).order_by(Source.sort_order, Source.id))
    if featured_image is None:
        return EditorChoices(list(categories), list(sources))
    chosen = int(featured_image) if featured_image.isdigit() and len(featured_image) < 19 else None
    images = [MediaItem(item, []) for item in recent_images(session, FEATURED_CHOICES, chosen)]
    return EditorChoices(list(categories), list(sources), images)


def load_article(
    session: Session, article_id: int, kind: str | None = None, acting: Actor | None = None
) -> Article:
    """Any article or page (drafts too; of ``kind`` when given) with its category, source and
    tags. With ``acting``: Forbidden unless that user's role may change it (service.roles)."""
    article = session.scalar(
        select(Article)
        .where(Article.id == article_id, *((Article.kind == kind,) if kind else ()))
        .options(
            selectinload(Article.tags),
            selectinload(Article.category),
            selectinload(Article.source),
            selectinload(Article.featured_image),
        )
    )
    if article is None:
        raise NotFound("There is no such article.")
    if acting is not None:
        if article.kind == "page":
            roles.require_can(acting, roles.MANAGE_CONTENT)
        roles.require_edit(acting, article.author_id, article.status)
    return article


def save_article(
    session: Session,
    article_id: int | None,
    form: ArticleForm,
    author_id: int | None = None,
    now: dt.datetime | None = None,
    kind: str = "article",
    acting: Actor | None = None,
) -> Article:
    """Create (``article_id`` None) or update an article or page from the editor's form.

    With ``acting``, the role decides (service.roles): pages need the content capability, an
    author changes only their own articles, a contributor only their own drafts and pending
    articles and cannot publish or schedule (they submit for review: "pending").

    A published article keeps its previous version as a revision when its text changes.
    The HTML is rendered here, once per save, by the reader's renderer. A page has no
    category, source or tags; a changed slug is remembered so the old URL answers 301.
    """
    now = (now or utcnow()).replace(microsecond=0)
    title = " ".join(form.title.split())
    if not title:
        raise Invalid("Please give the article a title.")
    if len(title) > MAX_TITLE:
        raise Invalid("The title must be at most {limit} characters long.", limit=MAX_TITLE)
    if form.status not in ARTICLE_STATUSES:
        raise Invalid("Unknown status.")
    if kind == "page":
        roles.require_can(acting, roles.MANAGE_CONTENT)
    if form.status in ("published", "scheduled"):
        roles.require_can(acting, roles.PUBLISH_OWN)
    if article_id is not None:
        load_article(session, article_id, kind, acting)
    if kind == "page":
        form.category_id = form.source_id = form.tags = ""
    category_id = _optional_id(session, Category, form.category_id, message("Unknown category."))
    source_id = _optional_id(session, Source, form.source_id, message("Unknown source."))
    featured_image_id = _optional_id(
        session, Media, form.featured_image, message("There is no such image in the library.")
    )
    tag_names = parse_tag_names(form.tags)
    content = form.content.replace("\r\n", "\n")
    # Looked up before a new article joins the session (a query would flush it half-made).
    images = media_lookup(session, content)
    slug = choose_slug(session, form.slug, title, kind, article_id)
    zone_name = get_settings(session).time_zone

    if article_id is None:
        article = Article(
            author_id=author_id,
            created_at=now,
            publish_at=None,
            kind=kind,
            comments_enabled=kind != "page",
            slug="",
        )
        article.tags = []
        session.add(article)
        was_published = False
    else:
        article = load_article(session, article_id, kind, acting)
        if is_stale(article, form):
            raise EditConflict()
        # The version moves in one conditional UPDATE: of two saves racing from the same
        # version, the second finds it changed (MariaDB holds the row until commit).
        bumped = session.execute(
            update(Article)
            .where(Article.id == article.id, Article.version == article.version)
            .values(version=Article.version + 1)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(bumped, CursorResult)  # an UPDATE's result: it has a rowcount
        if bumped.rowcount != 1:
            session.rollback()
            raise EditConflict()
        article.version += 1
        was_published = article.status == "published"

    status = form.status
    publish_at = article.publish_at
    if status == "scheduled":
        if not form.publish_at.strip():
            raise Invalid("A scheduled article needs a publication time.")
        publish_at = parse_publish_at(form.publish_at, zone_name)
        if publish_at <= now:
            # A time that has already come publishes now, dated as the author asked.
            status = "published"
    elif status == "published":
        if form.publish_at.strip():
            asked = parse_publish_at(form.publish_at, zone_name)
            # The form shows minutes: an unchanged field keeps the exact stored time.
            if publish_at is None or format_publish_at(publish_at) != format_publish_at(asked):
                publish_at = asked
        elif not was_published or publish_at is None:
            publish_at = now
        if publish_at > now:
            status = "scheduled"
    else:
        publish_at = (
            parse_publish_at(form.publish_at, zone_name) if form.publish_at.strip() else None
        )

    summary = form.summary.strip() or first_paragraph_text(content)
    if was_published and (
        article.title != title or article.content != content or article.summary != summary
    ):
        session.add(
            ArticleRevision(
                article_id=article.id,
                title=article.title,
                content=article.content,
                summary=article.summary,
                created_at=now,
            )
        )

    rendered = render_markdown(content, images)
    if kind == "page":
        article.comments_enabled = form.comments_enabled == "1"
    old_slug = article.slug
    article.title = title
    article.slug = slug
    article.content = content
    article.summary = summary
    article.content_html = rendered.html
    article.toc_html = rendered.toc_html
    article.renderer_version = RENDERER_VERSION
    article.status = status
    article.publish_at = publish_at
    article.category_id = category_id
    article.source_id = source_id
    article.featured_image_id = featured_image_id
    article.updated_at = now
    article.tags = tags_by_names(session, tag_names)
    session.flush()
    slugs.remember_old_slug(session, kind, article.id, old_slug, slug)
    if article_id is None:
        article.version = 1
    # Indexed with the save, in its transaction: a search finds it at once and never writes.
    search.index_article(session, article, with_save=True)
    if author_id is not None:
        # Saved for real: this author's autosave of it (or of the new article) is spent.
        session.execute(
            delete(ArticleAutosave).where(
                ArticleAutosave.author_id == author_id,
                ArticleAutosave.article_id.is_(None)
                if article_id is None
                else ArticleAutosave.article_id == article_id,
            )
        )
    session.commit()
    return load_article(session, article.id)


def delete_article(session: Session, article_id: int, acting: Actor | None = None) -> None:
    """Delete an article or page; its comments, revisions, tag links, menu entries and old
    slugs go with it. With ``acting``: only what that user's role may change."""
    article = load_article(session, article_id, acting=acting)
    if article.kind == "page":
        menus.forget_target(session, "page", article_id)
    slugs.forget(session, article.kind, article_id)
    # Explicit deletes keep SQLite and MariaDB identical even if a cascade were missing.
    session.execute(delete(Comment).where(Comment.article_id == article_id))
    session.execute(delete(ArticleRevision).where(ArticleRevision.article_id == article_id))
    session.execute(delete(article_tags).where(article_tags.c.article_id == article_id))
    search.drop_from_index(session, article_id)
    session.execute(delete(Article).where(Article.id == article_id))
    session.commit()


def publish_scheduled_articles(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Publish every scheduled article whose time has come; returns their ids."""
    now = now or utcnow()
    ids = list(
        session.scalars(
            select(Article.id).where(Article.status == "scheduled", Article.publish_at <= now)
        )
    )
    if ids:
        session.execute(
            update(Article)
            .where(Article.id.in_(ids), Article.status == "scheduled")
            .values(status="published", updated_at=Article.updated_at)
        )
        session.commit()
    return ids


def list_articles(
    session: Session, filters: ArticleFilter, acting: Actor | None = None
) -> tuple[list[Article], Pager]:
    """The admin's article (or page) list: every status, filtered, newest first. An author
    or contributor (``acting`` without the others' capability) sees only their own."""
    conditions = [Article.kind == filters.kind]
    if filters.kind == "page":
        roles.require_can(acting, roles.MANAGE_CONTENT)
    if acting is not None and not acting.can(roles.EDIT_OTHERS):
        conditions.append(Article.author_id == acting.id)
    if filters.status in ARTICLE_STATUSES:
        conditions.append(Article.status == filters.status)
    if filters.category_id is not None:
        conditions.append(Article.category_id == filters.category_id)
    if filters.tag:
        tagged = (
            select(article_tags.c.article_id)
            .join(Tag, Tag.id == article_tags.c.tag_id)
            .where(func.lower(Tag.name) == filters.tag.lower())
        )
        conditions.append(Article.id.in_(tagged))
    if filters.text:
        pattern = "%" + filters.text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        conditions.append(or_(Article.title.like(pattern), Article.content.like(pattern)))
    total = session.scalar(select(func.count()).select_from(Article).where(*conditions)) or 0
    pager = Pager(page=max(1, filters.page), per_page=ADMIN_PAGE_SIZE, total=total)
    if pager.page > pager.pages:
        raise NotFound("There is no such page.")
    articles = session.scalars(
        select(Article)
        .where(*conditions)
        .options(selectinload(Article.category), selectinload(Article.tags))
        .order_by(Article.updated_at.desc(), Article.id.desc())
        .offset(pager.offset)
        .limit(pager.per_page)
    )
    return list(articles), pager


def list_revisions(
    session: Session, article_id: int, acting: Actor | None = None
) -> tuple[Article, list[ArticleRevision]]:
    article = load_article(session, article_id, acting=acting)
    revisions = session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article_id)
        .order_by(ArticleRevision.created_at.desc(), ArticleRevision.id.desc())
    )
    return article, list(revisions)


def _get_revision(session: Session, article_id: int, revision_id: int) -> ArticleRevision:
    revision = session.get(ArticleRevision, revision_id)
    if revision is None or revision.article_id != article_id:
        raise NotFound("There is no such revision.")
    return revision


def diff_lines(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """A line diff of two texts, old → new, with unchanged runs shortened."""
    lines: list[DiffLine] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(DiffLine("gap", line))
        elif line.startswith("+"):
            lines.append(DiffLine("add", line[1:]))
        elif line.startswith("-"):
            lines.append(DiffLine("remove", line[1:]))
        else:
            lines.append(DiffLine("same", line[1:]))
    return lines


def is_stale(article: Article, form: ArticleForm) -> bool:
    """The form was opened at an older version than the stored one.

    A form that does not say its version (an older page, a script) is not checked.
    """
    raw = form.version.strip()
    if not raw:
        return False
    try:
        opened_at = int(raw)
    except ValueError:
        raise Invalid("Bad parameter: {name}", name="version") from None
    return opened_at != article.version


@dataclass
class ConflictView:
    """What the conflict page shows: the stored article, the difference, the refused text."""

    article: Article
    form: ArticleForm
    lines: list[DiffLine]


def _comparable_text(title: str, summary: str, content: str) -> str:
    return f"# {title}\n\n{summary}\n\n{content}"


def edit_conflict(
    session: Session, article_id: int, form: ArticleForm, acting: Actor | None = None
) -> ConflictView | None:
    """When ``form`` was opened at an older version: the stored text against the submitted one
    (only for someone who may edit the article: nothing is shown to anyone else)."""
    article = load_article(session, article_id, acting=acting)
    if not is_stale(article, form):
        return None
    stored = _comparable_text(article.title, article.summary, article.content)
    submitted = _comparable_text(
        " ".join(form.title.split()), form.summary.strip(), form.content.replace("\r\n", "\n")
    )
    return ConflictView(article, form, diff_lines(stored, submitted))


def revision_diff(
    session: Session, article_id: int, revision_id: int, acting: Actor | None = None
) -> RevisionView:
    """What changed from a revision to the current article."""
    article = load_article(session, article_id, acting=acting)
    revision = _get_revision(session, article_id, revision_id)
    old = _comparable_text(revision.title, revision.summary, revision.content)
    new = _comparable_text(article.title, article.summary, article.content)
    return RevisionView(revision, article, diff_lines(old, new))


def restore_revision(
    session: Session, article_id: int, revision_id: int, acting: Actor | None = None
) -> Article:
    """Bring a revision's text back; the text it replaces becomes a revision itself."""
    article = load_article(session, article_id, acting=acting)
    revision = _get_revision(session, article_id, revision_id)
    form = ArticleForm.from_article(article, get_settings(session).time_zone)
    form.title = revision.title
    form.content = revision.content
    form.summary = revision.summary
    return save_article(session, article_id, form, kind=article.kind, acting=acting)


def render_preview(session: Session, content: str) -> tuple[str, str]:
    """The editor's live preview: exactly what the reader's page will show (HTML, TOC)."""
    rendered = render_markdown(content, media_lookup(session, content))
    return rendered.html, rendered.toc_html
