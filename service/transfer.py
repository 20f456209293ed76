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
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import (
    Article,
    ArticleRevision,
    Category,
    Comment,
    DailyStat,
    Media,
    Menu,
    SiteSetting,
    Source,
    Tag,
    User,
    Widget,
    article_tags,
)
from service.errors import Conflict, Invalid
from service.media import STORED_NAME, write_media_file
from service.rendering import RENDERER_VERSION, render_markdown
from service.site import ensure_settings

FORMAT = "inkwell-export"
VERSION = 1
MAX_ARCHIVE_MEMBERS = 100_000

_COLUMNS: dict[type, tuple[str, ...]] = {
    Menu: ("id", "name", "sort_order"),
    Category: ("id", "name", "intro", "hidden", "menu_id", "sort_order"),
    Source: ("id", "code", "name", "sort_order"),
    Tag: ("id", "name"),
    Article: (
        "id",
        "title",
        "slug",
        "content",
        "summary",
        "status",
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
    ),
    Widget: ("id", "title", "kind", "content", "sort_order", "enabled"),
    DailyStat: ("day", "pv", "uv"),
    Media: ("id", "filename", "original_name", "content_type", "size", "created_at"),
}
_SETTINGS_COLUMNS = (
    "title",
    "signature",
    "about",
    "navbar_style",
    "footer",
    "posts_per_page",
    "comment_mode",
    "language",
)
# Sections of site.json in the order an import must insert them (foreign keys).
_SECTIONS: tuple[tuple[str, type], ...] = (
    ("menus", Menu),
    ("categories", Category),
    ("tags", Tag),
    ("articles", Article),
    ("revisions", ArticleRevision),
    ("comments", Comment),
    ("widgets", Widget),
    ("daily_stats", DailyStat),
    ("media", Media),
)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _row(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in columns}


def _all(session: Session, model: Any) -> list[Any]:
    key = model.day if model is DailyStat else model.id
    return list(session.scalars(select(model).order_by(key)))


def site_snapshot(session: Session) -> dict[str, Any]:
    """The whole site as plain data (what site.json holds)."""
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    settings = session.get(SiteSetting, 1)
    data["settings"] = _row(settings, _SETTINGS_COLUMNS) if settings else None
    data["sources"] = [_row(s, _COLUMNS[Source]) for s in _all(session, Source)]
    for name, model in _SECTIONS:
        data[name] = [_row(item, _COLUMNS[model]) for item in _all(session, model)]
    authors = dict(session.execute(select(User.id, User.username)).all())
    article_authors = dict(session.execute(select(Article.id, Article.author_id)).all())
    links = session.execute(
        select(article_tags.c.article_id, article_tags.c.tag_id).order_by(
            article_tags.c.article_id, article_tags.c.tag_id
        )
    ).all()
    tags_of: dict[int, list[int]] = {}
    for article_id, tag_id in links:
        tags_of.setdefault(article_id, []).append(tag_id)
    for article in data["articles"]:
        article["author"] = authors.get(article_authors.get(article["id"]))
        article["tag_ids"] = tags_of.get(article["id"], [])
    return data


def export_site(session: Session, media_dir: str) -> bytes:
    """The archive: site.json and the media files, as zip bytes."""
    data = site_snapshot(session)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("site.json", json.dumps(data, ensure_ascii=False, indent=1))
        for item in data["media"]:
            path = Path(media_dir) / item["filename"]
            if STORED_NAME.match(item["filename"]) and path.is_file():
                archive.write(path, f"media/{item['filename']}", zipfile.ZIP_STORED)
    return buffer.getvalue()


def is_empty(session: Session) -> bool:
    """An empty blog: no content yet (the seeded sources, settings and users may exist)."""
    for model in (Article, Category, Menu, Tag, Comment, Widget, Media):
        if session.scalar(select(func.count()).select_from(model)):
            return False
    return True


def _datetime(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _read_archive(payload: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
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
    return data, files


def _build(model: Any, row: dict[str, Any]) -> Any:
    values = {}
    for name in _COLUMNS[model]:
        value = row.get(name)
        if name in ("publish_at", "created_at", "updated_at"):
            value = _datetime(value)
        elif name == "day":
            value = dt.date.fromisoformat(value)
        values[name] = value
    return model(**values)


def import_site(session: Session, media_dir: str, payload: bytes) -> dict[str, int]:
    """Load an export archive into an empty blog; returns how many rows each section got."""
    data, files = _read_archive(payload)
    if not is_empty(session):
        raise Conflict("Import needs an empty blog: this one already has content.")
    try:
        counts = _load(session, data)
    except (KeyError, TypeError, ValueError) as exc:
        session.rollback()
        raise Invalid("The archive is damaged and was not imported.") from exc
    directory = Path(media_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for filename, content in files.items():
        write_media_file(directory, filename, content)
    session.commit()
    counts["files"] = len(files)
    return counts


def _load(session: Session, data: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    if data.get("settings"):
        settings = ensure_settings(session)
        for name in _SETTINGS_COLUMNS:
            setattr(settings, name, data["settings"][name])
    existing_sources = {s.code: s for s in session.scalars(select(Source))}
    for row in data["sources"]:
        source = existing_sources.get(row["code"])
        if source is not None and source.id != row["id"]:
            # A seeded source under another id: drop it so the archive's ids stay valid.
            session.delete(source)
            session.flush()
            source = None
        if source is None:
            session.add(_build(Source, row))
        else:
            source.name, source.sort_order = row["name"], row["sort_order"]
    session.flush()
    counts["sources"] = len(data["sources"])
    users = dict(session.execute(select(User.username, User.id)).all())
    for name, model in _SECTIONS:
        rows = data.get(name, [])
        for row in rows:
            item = _build(model, row)
            if model is Comment:
                item.reply_to_id = None  # set below, once every comment exists
            if model is Article:
                item.author_id = users.get(row.get("author"))
                rendered = render_markdown(item.content)
                item.content_html = rendered.html
                item.toc_html = rendered.toc_html
                item.renderer_version = RENDERER_VERSION
            session.add(item)
        session.flush()
        counts[name] = len(rows)
    links = [
        {"article_id": article["id"], "tag_id": tag_id}
        for article in data["articles"]
        for tag_id in article.get("tag_ids", [])
    ]
    if links:
        session.execute(article_tags.insert(), links)
    replies = [(row["id"], row["reply_to_id"]) for row in data["comments"] if row["reply_to_id"]]
    for comment_id, reply_to_id in replies:
        session.get(Comment, comment_id).reply_to_id = reply_to_id
    session.flush()
    return counts
