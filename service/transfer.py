"""Export the whole site as one zip archive, and import such an archive into an empty blog.

The archive holds ``site.json`` (every table below, ids kept so URLs stay the same) and
``media/<name>`` for each uploaded file. Users are NOT exported: password hashes must
not travel in a file that gets mailed around, and the importing blog already has the
administrator who imports. Articles name their author by user name; on import the
author is the local user of that name when there is one.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import TypedDict, TypeVar, cast

from sqlalchemy import Boolean, Integer, String, func, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from extends.storage import MediaStore
from model import (
    Article,
    ArticleRevision,
    Base,
    Category,
    Comment,
    DailyStat,
    Media,
    MenuItem,
    SiteSetting,
    Source,
    Tag,
    User,
    Widget,
    article_tags,
)
from service.errors import Conflict, Invalid
from service.media import (
    STORED_NAME,
    read_media_file,
    reencode_image,
    sniff_image,
    write_media_file,
)
from service.rendering import RENDERER_VERSION, render_markdown
from service.site import ensure_settings
from service.taxonomy import category_slug

FORMAT = "inkwell-export"
VERSION = 1
MAX_ARCHIVE_MEMBERS = 100_000

_COLUMNS: dict[type[Base], tuple[str, ...]] = {
    MenuItem: ("id", "parent_id", "sort_order", "kind", "target_id", "label", "url"),
    Category: ("id", "name", "slug", "intro", "hidden", "sort_order"),
    Source: ("id", "code", "name", "sort_order"),
    Tag: ("id", "name"),
    Article: (
        "id",
        "title",
        "slug",
        "content",
        "summary",
        "status",
        "kind",
        "comments_enabled",
        "publish_at",
        "created_at",
        "updated_at",
        "view_count",
        "comment_count",
        "category_id",
        "source_id",
    ),
    ArticleRevision: ("id", "article_id", "title", "content", "summary", "created_at"),
    Comment: (
        "id",
        "article_id",
        "floor",
        "reply_to_id",
        "author_name",
        "author_email",
        "content",
        "status",
        "is_author",
        "created_at",
        "ip_hash",
        "author_url",
    ),
    Widget: ("id", "title", "kind", "content", "sort_order", "enabled"),
    DailyStat: ("day", "pv", "uv"),
    Media: ("id", "filename", "original_name", "content_type", "size", "created_at"),
}
_SETTINGS_COLUMNS = (
    "title",
    "signature",
    "navbar_style",
    "footer",
    "posts_per_page",
    "comment_mode",
    "language",
)
# One column value as site.json holds it (times as ISO 8601 text).
Value = str | int | float | bool | None
# One row of a section; an article's row also names its author and lists its tag ids.
Row = dict[str, Value | list[int]]
Model = TypeVar("Model", bound=Base)


class SiteData(TypedDict):
    """What site.json holds."""

    format: str
    version: int
    settings: Row | None
    sources: list[Row]
    menu_items: list[Row]
    categories: list[Row]
    tags: list[Row]
    articles: list[Row]
    revisions: list[Row]
    comments: list[Row]
    widgets: list[Row]
    daily_stats: list[Row]
    media: list[Row]


def _import_order(data: SiteData) -> tuple[tuple[str, type[Base], list[Row]], ...]:
    """The sections after the sources, in the order an import inserts them (foreign keys)."""
    return (
        ("categories", Category, data.get("categories", [])),
        ("tags", Tag, data.get("tags", [])),
        ("articles", Article, data.get("articles", [])),
        ("menu_items", MenuItem, data.get("menu_items", [])),
        ("revisions", ArticleRevision, data.get("revisions", [])),
        ("comments", Comment, data.get("comments", [])),
        ("widgets", Widget, data.get("widgets", [])),
        ("daily_stats", DailyStat, data.get("daily_stats", [])),
        ("media", Media, data.get("media", [])),
    )


def _plain(value: object) -> Value:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"no plain form for {value!r}")


def _row(obj: Base, columns: tuple[str, ...]) -> Row:
    return {name: _plain(getattr(obj, name)) for name in columns}


def _all(session: Session, model: type[Model]) -> list[Model]:
    return list(session.scalars(select(model).order_by(*model.__mapper__.primary_key)))


def _section(session: Session, model: type[Base]) -> list[Row]:
    return [_row(item, _COLUMNS[model]) for item in _all(session, model)]


def site_snapshot(session: Session) -> SiteData:
    """The whole site as plain data (what site.json holds)."""
    settings = session.get(SiteSetting, 1)
    authors = dict(session.execute(select(User.id, User.username)).all())
    links = session.execute(
        select(article_tags.c.article_id, article_tags.c.tag_id).order_by(
            article_tags.c.article_id, article_tags.c.tag_id
        )
    ).all()
    tags_of: dict[int, list[int]] = {}
    for article_id, tag_id in links:
        tags_of.setdefault(article_id, []).append(tag_id)
    articles = []
    for article in _all(session, Article):
        row = _row(article, _COLUMNS[Article])
        row["author"] = authors.get(article.author_id) if article.author_id is not None else None
        row["tag_ids"] = tags_of.get(article.id, [])
        articles.append(row)
    return {
        "format": FORMAT,
        "version": VERSION,
        "settings": _row(settings, _SETTINGS_COLUMNS) if settings else None,
        "sources": _section(session, Source),
        "menu_items": _section(session, MenuItem),
        "categories": _section(session, Category),
        "tags": _section(session, Tag),
        "articles": articles,
        "revisions": _section(session, ArticleRevision),
        "comments": _section(session, Comment),
        "widgets": _section(session, Widget),
        "daily_stats": _section(session, DailyStat),
        "media": _section(session, Media),
    }


def export_site(session: Session, store: MediaStore) -> bytes:
    """The archive: site.json and the media files, as zip bytes."""
    data = site_snapshot(session)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("site.json", json.dumps(data, ensure_ascii=False, indent=1))
        for item in data["media"]:
            filename = _text(item, "filename")
            content = read_media_file(store, filename)
            if content is not None:
                archive.writestr(f"media/{filename}", content, zipfile.ZIP_STORED)
    return buffer.getvalue()


def is_empty(session: Session) -> bool:
    """An empty blog: no content yet (the seeded sources, settings and users may exist)."""
    for model in (Article, Category, MenuItem, Tag, Comment, Widget, Media):
        if session.scalar(select(func.count()).select_from(model)):
            return False
    return True


# Reading an archive's rows: a field of the wrong type raises TypeError, which
# import_site reports as a damaged archive (as it does KeyError and ValueError).


def _text(row: Row, name: str) -> str:
    value = row[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not text")
    return value


def _number(row: Row, name: str) -> int:
    value = row[name]
    if not isinstance(value, int):
        raise TypeError(f"{name} is not a number")
    return value


def _datetime(value: object) -> dt.datetime | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise TypeError("a time is not text")
    return dt.datetime.fromisoformat(value)


def _date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise TypeError("a day is not text")
    return dt.date.fromisoformat(value)


def _read_archive(payload: bytes) -> tuple[SiteData, dict[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile:
        raise Invalid("This file is not an Inkwell export archive.") from None
    with archive:
        names = archive.namelist()
        if "site.json" not in names or len(names) > MAX_ARCHIVE_MEMBERS:
            raise Invalid("This file is not an Inkwell export archive.")
        try:
            data = json.loads(archive.read("site.json"))
        except ValueError:
            raise Invalid("This file is not an Inkwell export archive.") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Invalid("This file is not an Inkwell export archive.")
        if data.get("version") != VERSION:
            raise Invalid("This archive was made by another version of Inkwell.")
        files: dict[str, bytes] = {}
        for name in names:
            # Only media/<our-name>: anything else (../, absolute paths) is ignored.
            stored = name.removeprefix("media/")
            if name.startswith("media/") and STORED_NAME.match(stored):
                files[stored] = archive.read(name)
    # Taken as SiteData from here on: the readers below refuse what does not fit.
    return cast(SiteData, data), files


_MAX_INTEGER = 2**31 - 1  # INTEGER columns: anything larger overflows the database
# Columns an archive from before pages and category slugs does not have.
_ADDED_LATER: dict[tuple[type[Base], str], object] = {
    (Article, "kind"): "article",
    (Article, "comments_enabled"): True,
    (Category, "slug"): "",
    (Comment, "author_url"): "",
}


def _fits(model: type[Base], name: str, value: object) -> object:
    """``value`` when it fits the column ``model.name``; TypeError or ValueError otherwise."""
    column = model.__table__.c[name]
    if value is None:
        if column.nullable and not column.primary_key:
            return None
        raise TypeError(f"{name} is missing")
    if isinstance(column.type, Boolean):
        if not isinstance(value, bool):
            raise TypeError(f"{name} is not true or false")
    elif isinstance(column.type, Integer):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} is not a number")
        if abs(value) > _MAX_INTEGER:
            raise ValueError(f"{name} is out of range")
    elif isinstance(column.type, String):  # Text too
        if not isinstance(value, str):
            raise TypeError(f"{name} is not text")
        if column.type.length is not None and len(value) > column.type.length:
            raise ValueError(f"{name} is too long")
    return value


def _build(model: type[Model], row: Row) -> Model:
    if not isinstance(row, dict):
        raise TypeError("a row is not an object")
    values: dict[str, object] = {}
    for name in _COLUMNS[model]:
        value: object = row.get(name, _ADDED_LATER.get((model, name)))
        if name in ("publish_at", "created_at", "updated_at"):
            value = _datetime(value)
        elif name == "day":
            value = _date(value)
        values[name] = _fits(model, name, value)
    return model(**values)


def import_site(session: Session, store: MediaStore, payload: bytes) -> dict[str, int]:
    """Load an export archive into an empty blog; returns how many rows each section got."""
    data, files = _read_archive(payload)
    if not is_empty(session):
        raise Conflict("Import needs an empty blog: this one already has content.")
    try:
        counts = _load(session, data)
    except (KeyError, TypeError, ValueError, AttributeError, IntegrityError, DataError) as exc:
        # Wrong types, missing fields, duplicate ids, rows naming rows that do not exist.
        session.rollback()
        raise Invalid("The archive is damaged and was not imported.") from exc
    # Imported images are decoded and written again like uploads: metadata and anything
    # riding along (an HTML polyglot) are dropped before a file is served.
    cleaned: dict[str, bytes] = {}
    for filename, content in files.items():
        kind = sniff_image(content)
        if kind is None or not filename.endswith(f".{kind.extension}"):
            session.rollback()
            raise Invalid("The archive is damaged and was not imported.")
        cleaned[filename] = reencode_image(content, kind)
        session.execute(
            update(Media).where(Media.filename == filename).values(size=len(cleaned[filename]))
        )
    for filename, content in cleaned.items():
        write_media_file(store, filename, content)
    session.commit()
    counts["files"] = len(files)
    return counts


def _load(session: Session, data: SiteData) -> dict[str, int]:
    counts: dict[str, int] = {}
    settings_row = data.get("settings")
    if settings_row:
        settings = ensure_settings(session)
        for name in _SETTINGS_COLUMNS:
            setattr(settings, name, _fits(SiteSetting, name, settings_row[name]))
    existing_sources = {s.code: s for s in session.scalars(select(Source))}
    for row in data["sources"]:
        source = existing_sources.get(_text(row, "code"))
        if source is not None and source.id != row["id"]:
            # A seeded source under another id: drop it so the archive's ids stay valid.
            session.delete(source)
            session.flush()
            source = None
        if source is None:
            session.add(_build(Source, row))
        else:
            source.name, source.sort_order = _text(row, "name"), _number(row, "sort_order")
    session.flush()
    counts["sources"] = len(data["sources"])
    users = dict(session.execute(select(User.username, User.id)).all())
    for name, model, rows in _import_order(data):
        for row in rows:
            item = _build(model, row)
            if isinstance(item, Comment):
                item.reply_to_id = None  # set below, once every comment exists
            if isinstance(item, Category) and not item.slug:
                item.slug = category_slug(session, "", item.name, None)
            if isinstance(item, MenuItem):
                item.parent_id = None  # set below, once every entry exists
            if isinstance(item, Article):
                author = row.get("author")
                item.author_id = users.get(author) if isinstance(author, str) else None
                rendered = render_markdown(item.content)
                item.content_html = rendered.html
                item.toc_html = rendered.toc_html
                item.renderer_version = RENDERER_VERSION
            session.add(item)
        session.flush()
        counts[name] = len(rows)
    links = []
    for article in data["articles"]:
        tag_ids = article.get("tag_ids", [])
        if not isinstance(tag_ids, list):
            raise TypeError("tag_ids is not a list")
        links += [{"article_id": article["id"], "tag_id": tag_id} for tag_id in tag_ids]
    if links:
        session.execute(article_tags.insert(), links)
    for row in data.get("menu_items", []):
        if row["parent_id"]:
            entry = session.get(MenuItem, _number(row, "id"))
            if entry is None:
                raise KeyError(row["id"])
            entry.parent_id = _number(row, "parent_id")
    for row in data["comments"]:
        if row["reply_to_id"]:
            comment = session.get(Comment, _number(row, "id"))
            if comment is None:
                raise KeyError(row["id"])
            comment.reply_to_id = _number(row, "reply_to_id")
    session.flush()
    return counts
