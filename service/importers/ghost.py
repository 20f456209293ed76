"""Ghost 4/5 JSON export (Settings → Labs → Export): posts, pages, tags, authors, images.

A Ghost export is one JSON document (``{"db": [{"meta": …, "data": {…}}]}``); it is read
whole, checked entirely, and only then written, like the WXR import.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from extends.storage import MediaStore
from service.articles import tag_path
from service.importers.common import (
    MAX_FIELD,
    ImportedAuthor,
    ImportedImage,
    ImportedPost,
    ImportRefused,
    Summary,
    Writer,
)

_STATUSES = {
    "published": "published",
    "scheduled": "scheduled",
    "draft": "draft",
    "sent": "published",
}
_PLACEHOLDER = "__GHOST_URL__"
_IMAGES = "/content/images/"
_SIZED = re.compile(r"^size/w\d+(?:h\d+)?/")


def is_ghost(document: object) -> bool:
    return isinstance(document, dict) and (
        "db" in document or ("data" in document and "meta" in document)
    )


def _data(document: object) -> dict[str, Any]:
    if isinstance(document, dict) and isinstance(document.get("db"), list) and document["db"]:
        document = document["db"][0]
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise ImportRefused("The file is JSON but not a Ghost export.")
    data: dict[str, Any] = document["data"]
    for section in ("posts", "tags", "users", "posts_tags", "posts_authors"):
        value = data.get(section, [])
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            raise ImportRefused("The Ghost export's {section} section is damaged.", section=section)
    return data


def _text(row: dict[str, Any], name: str, where: str) -> str:
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise ImportRefused("{item}: the field {field} is damaged.", item=where, field=name)
    text = str(value)
    if len(text) > MAX_FIELD:
        raise ImportRefused("{item}: the field {field} is too large.", item=where, field=name)
    return text


def parse_date(value: str, where: str) -> dt.datetime | None:
    """Ghost's ISO 8601 UTC time ("2024-01-15T09:00:00.000Z") as naive UTC."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportRefused(
            "{item}: the date {value} is not valid.", item=where, value=value[:40]
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _image(url: str) -> ImportedImage | None:
    if _IMAGES not in url:
        return None
    # Ghost's resized copies live under size/w600/; the original is the file to store.
    relative = _SIZED.sub("", url.split(_IMAGES, 1)[1])
    return ImportedImage(key="url:" + relative, url=url, relative_path=relative)


def import_ghost(
    session: Session,
    store: MediaStore | None,
    path: Path,
    document: object,
    *,
    dry_run: bool,
    uploads: Path | None,
    author: str | None,
    max_media_bytes: int,
    fetch_urls: bool,
    progress: Callable[[int, int, bool], None] | None,
) -> Summary:
    """Check the whole export, then write it (see service/importers/common.py)."""
    data = _data(document)
    posts = _read_posts(data)
    summary = Summary(source=f"Ghost export {path.name}", dry_run=dry_run)
    meta = (
        document["db"][0].get("meta", {}) if isinstance(document, dict) and "db" in document else {}
    )
    site_key = str(meta.get("site_uuid") or meta.get("exported_on") or path.name)
    writer = Writer(
        session,
        store,
        "ghost:" + site_key,
        summary,
        author=author,
        uploads=uploads,
        max_media_bytes=max_media_bytes,
        fetch_urls=fetch_urls,
    )
    for user in data.get("users", []):
        login = _text(user, "slug", "user")
        writer.author(
            ImportedAuthor(
                login=login,
                email=_text(user, "email", login),
                display_name=_text(user, "name", login),
            )
        )
        writer.redirect(f"/author/{login}/rss/", "/author/" + quote(login, safe="") + "/feed.rss")
    for tag in data.get("tags", []):
        name = _text(tag, "name", "tag")
        if name and not name.startswith("#"):
            new_tag = tag_path(writer.tag(name).name)
            slug = _text(tag, "slug", name)
            writer.redirect(f"/tag/{slug}/", new_tag)
            writer.redirect(f"/tag/{slug}/rss/", new_tag + "/feed.rss")
    writer.redirect("/rss/", "/feed.rss")
    images: dict[str, ImportedImage] = {}
    for post in posts:
        for url in _image_urls(post):
            image = _image(url)
            if image is not None:
                images[url] = image
                writer.image(image)

    def rewrite(markdown: str, title: str) -> str:
        for url, image in images.items():
            if url in markdown:
                media = writer.media_for(image.key, title)
                if media is not None:
                    markdown = markdown.replace(url, f"/media/{media.filename}")
        return markdown

    for done, post in enumerate(posts, start=1):
        if post.featured_image_key and post.featured_image_key in images:
            post.featured_image_key = images[post.featured_image_key].key
        else:
            post.featured_image_key = None
        writer.post(post, rewrite)
        if progress is not None:
            progress(done, len(posts), writer.between_batches)
    for reason, count in _skipped(data).items():
        summary.skipped[reason] += count
    writer.finish()
    return summary


def _image_urls(post: ImportedPost) -> list[str]:
    urls = [post.featured_image_key] if post.featured_image_key else []
    for chunk in post.html.split('"'):
        if _IMAGES in chunk and " " not in chunk and chunk.startswith(("http", "/")):
            urls.append(chunk)
    return urls


def _skipped(data: dict[str, Any]) -> dict[str, int]:
    skipped: dict[str, int] = {}
    for row in data.get("posts", []):
        kind = str(row.get("type") or ("page" if row.get("page") else "post"))
        if kind not in ("post", "page"):
            skipped[f"{kind} items (not posts or pages)"] = (
                skipped.get(f"{kind} items (not posts or pages)", 0) + 1
            )
    return skipped


def _read_posts(data: dict[str, Any]) -> list[ImportedPost]:
    authors = {str(u.get("id")): _text(u, "slug", "user") for u in data.get("users", [])}
    tags = {
        str(t.get("id")): _text(t, "name", "tag")
        for t in data.get("tags", [])
        if not _text(t, "name", "tag").startswith("#")
    }
    post_tags: dict[str, list[str]] = {}
    for link in sorted(data.get("posts_tags", []), key=lambda r: int(r.get("sort_order") or 0)):
        name = tags.get(str(link.get("tag_id")))
        if name:
            post_tags.setdefault(str(link.get("post_id")), []).append(name)
    post_authors: dict[str, str] = {}
    for link in sorted(data.get("posts_authors", []), key=lambda r: -int(r.get("sort_order") or 0)):
        post_authors[str(link.get("post_id"))] = authors.get(str(link.get("author_id")), "")
    posts: list[ImportedPost] = []
    for number, row in enumerate(data.get("posts", []), start=1):
        post_id = _text(row, "id", f"post {number}")
        title = _text(row, "title", f"post {number}")
        where = f"post {number} (id {post_id}, {' '.join(title.split())[:60]!r})"
        kind = str(row.get("type") or ("page" if row.get("page") else "post"))
        if kind not in ("post", "page"):
            continue
        status = _text(row, "status", where)
        if status not in _STATUSES:
            raise ImportRefused(
                "{item}: the status {status} is unknown.", item=where, status=status[:40]
            )
        publish_at = parse_date(_text(row, "published_at", where), where)
        if status != "draft" and publish_at is None:
            raise ImportRefused("{item}: a published post has no date.", item=where)
        slug = _text(row, "slug", where)
        html = _text(row, "html", where)
        feature = _text(row, "feature_image", where).replace(_PLACEHOLDER, "")
        posts.append(
            ImportedPost(
                key=post_id or _text(row, "uuid", where),
                kind="article" if kind == "post" else "page",
                title=title,
                slug=slug,
                html=html.replace(_PLACEHOLDER, ""),
                summary=_text(row, "custom_excerpt", where),
                status=_STATUSES[status],
                publish_at=publish_at if status != "draft" else None,
                author_login=post_authors.get(post_id) or authors.get(str(row.get("author_id"))),
                categories=[],
                tags=post_tags.get(post_id, []),
                featured_image_key=feature or None,
                old_paths=[f"/{slug}/", f"/p/{_text(row, 'uuid', where)}/"] if slug else [],
            )
        )
    return posts
