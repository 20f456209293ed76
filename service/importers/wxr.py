"""WordPress eXtended RSS (Tools → Export → All content, WordPress 4.x–6.x), read as a stream.

defusedxml's iterparse refuses DTDs, entities and external references, so an "XML bomb"
or an external entity never expands; each <item> is dropped once read, so memory stays
flat however many posts the file holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import iterparse  # type: ignore[import-untyped]

from service.importers.common import (
    MAX_FIELD,
    ImportedAuthor,
    ImportedCategory,
    ImportedComment,
    ImportedImage,
    ImportedPost,
    ImportRefused,
)

_STATUSES = {
    "publish": "published",
    "future": "scheduled",
    "draft": "draft",
    "pending": "draft",
    "private": "draft",
}
_SKIPPED_STATUSES = {"trash", "auto-draft", "inherit"}
_ZERO_DATE = "0000-00-00 00:00:00"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _prefix(tag: str) -> str:
    """The namespace's short name as WordPress writes it: wp, content, excerpt, dc or ''."""
    if not tag.startswith("{"):
        return ""
    uri = tag[1:].split("}", 1)[0]
    if "excerpt" in uri:
        return "excerpt"
    if "wordpress.org/export" in uri:
        return "wp"
    if "purl.org/rss/1.0/modules/content" in uri:
        return "content"
    if "purl.org/dc" in uri:
        return "dc"
    return "other"


def _name(el: Element) -> str:
    prefix = _prefix(el.tag)
    return f"{prefix}:{_local(el.tag)}" if prefix else _local(el.tag)


def _fields(el: Element, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for child in el:
        text = child.text or ""
        if len(text) > MAX_FIELD:
            raise ImportRefused(
                "{item}: the field {field} is too large.", item=where, field=_name(child)
            )
        out.setdefault(_name(child), text)
    return out


def parse_date(value: str, where: str) -> dt.datetime | None:
    """A WXR date ("2024-01-31 09:05:00", GMT); WordPress writes zeros for "never"."""
    value = (value or "").strip()
    if not value or value == _ZERO_DATE:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ImportRefused(
            "{item}: the date {value} is not valid.", item=where, value=value[:40]
        ) from None


@dataclass
class WxrSite:
    """What a first pass learns: the site, its authors, categories, tags and attachments."""

    base_url: str = ""
    authors: list[ImportedAuthor] = field(default_factory=list)
    author_ids: dict[str, str] = field(default_factory=dict)
    categories: list[ImportedCategory] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)  # (slug, name)
    images: list[ImportedImage] = field(default_factory=list)
    items: int = 0
    posts: int = 0


@dataclass
class Skipped:
    reason: str


def _elements(path: Path) -> Iterator[Element]:
    """Every direct child of <channel> once complete (authors, terms, items), then freed."""
    depth = 0
    channel: Element | None = None
    try:
        for event, el in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                if depth == 2 and _local(el.tag) == "channel":
                    channel = el
                continue
            depth -= 1
            if depth == 2 and channel is not None:
                yield el
                channel.remove(el)
            elif depth == 0 and _local(el.tag) != "rss":
                raise ImportRefused("The file is XML but not a WordPress export (WXR).")
    except DefusedXmlException as exc:
        raise ImportRefused(
            "The file was refused: it declares a DTD, entities or external references ({problem}).",
            problem=type(exc).__name__,
        ) from None
    except ParseError as exc:
        raise ImportRefused(
            "The file is not well-formed XML (truncated or damaged): {problem}.", problem=str(exc)
        ) from None


def _item_name(number: int, fields: dict[str, str]) -> str:
    title = " ".join((fields.get("title") or "").split())[:60]
    return f"item {number} (post id {fields.get('wp:post_id', '?')}, {title!r})"


def scan(path: Path) -> WxrSite:
    """The first pass: read and check the whole file, keep only the small parts."""
    site = WxrSite()
    number = 0
    for el in _elements(path):
        name = _name(el)
        if name in ("link", "wp:base_site_url") and not site.base_url:
            site.base_url = (el.text or "").strip()
        elif name == "wp:author":
            fields = _fields(el, "author")
            login = fields.get("wp:author_login", "").strip()
            site.authors.append(
                ImportedAuthor(
                    login=login,
                    email=fields.get("wp:author_email", ""),
                    display_name=fields.get("wp:author_display_name", ""),
                )
            )
            site.author_ids[fields.get("wp:author_id", "").strip()] = login
        elif name == "wp:category":
            fields = _fields(el, "category")
            nicename = fields.get("wp:category_nicename", "").strip()
            site.categories.append(
                ImportedCategory(
                    key=nicename,
                    name=fields.get("wp:cat_name", "").strip() or unquote(nicename),
                    slug=unquote(nicename),
                    parent_key=fields.get("wp:category_parent", "").strip() or None,
                )
            )
        elif name == "wp:tag":
            fields = _fields(el, "tag")
            name = fields.get("wp:tag_name", "").strip()
            site.tags.append((unquote(fields.get("wp:tag_slug", "").strip()) or name, name))
        elif name == "item":
            number += 1
            item = _read_item(el, number, site)
            if isinstance(item, ImportedImage):
                site.images.append(item)
            elif isinstance(item, ImportedPost):
                site.posts += 1
    site.items = number
    return site


def items(path: Path, site: WxrSite) -> Iterator[ImportedPost | ImportedImage | Skipped]:
    """The second pass: every <item>, as a post, an attachment or a reason to skip it."""
    number = 0
    for el in _elements(path):
        if _name(el) == "item":
            number += 1
            yield _read_item(el, number, site)


def _upload_path(url: str) -> str:
    path = urlsplit(url).path
    marker = "/wp-content/uploads/"
    return path.split(marker, 1)[1] if marker in path else path.rsplit("/", 1)[-1]


def _read_item(el: Element, number: int, site: WxrSite) -> ImportedPost | ImportedImage | Skipped:
    fields = _fields(el, f"item {number}")
    where = _item_name(number, fields)
    post_type = fields.get("wp:post_type", "post").strip()
    status = fields.get("wp:status", "").strip()
    post_id = fields.get("wp:post_id", "").strip()
    if post_type == "attachment":
        url = fields.get("wp:attachment_url", "").strip() or fields.get("guid", "").strip()
        meta = _postmeta(el)
        relative = meta.get("_wp_attached_file") or _upload_path(url)
        return ImportedImage(key=post_id, url=url, relative_path=relative)
    if post_type not in ("post", "page"):
        return Skipped(f"{post_type} items (not posts or pages)")
    if status in _SKIPPED_STATUSES:
        return Skipped(f"{post_type}s in status {status}")
    if status not in _STATUSES:
        raise ImportRefused(
            "{item}: the status {status} is unknown.", item=where, status=status[:40]
        )
    gmt = parse_date(fields.get("wp:post_date_gmt", ""), where)
    local = parse_date(fields.get("wp:post_date", ""), where)
    inkwell_status = _STATUSES[status]
    publish_at = gmt or (local if inkwell_status != "draft" else None)
    if inkwell_status == "published" and publish_at is None:
        raise ImportRefused("{item}: a published post has no date.", item=where)
    categories: list[str] = []
    tags: list[str] = []
    for child in el:
        if _local(child.tag) == "category" and not _prefix(child.tag):
            domain = child.get("domain", "")
            if domain == "category":
                categories.append(child.get("nicename", "") or (child.text or "").strip())
            elif domain == "post_tag" and (child.text or "").strip():
                tags.append((child.text or "").strip())
    meta = _postmeta(el)
    slug = unquote(fields.get("wp:post_name", "").strip())
    link = fields.get("link", "").strip()
    old_paths = [f"/?p={post_id}"] if post_type == "post" else [f"/?page_id={post_id}"]
    if link and urlsplit(link).path not in ("", "/"):
        old_paths.append(urlsplit(link).path)
        if urlsplit(link).query:
            old_paths.append(urlsplit(link).path + "?" + urlsplit(link).query)
    if slug and publish_at is not None and post_type == "post":
        stamp = local or publish_at
        old_paths += [
            f"/{stamp:%Y/%m/%d}/{slug}/",
            f"/{stamp:%Y/%m}/{slug}/",
            f"/{slug}/",
        ]
    elif slug:
        old_paths.append(f"/{slug}/")
    creator = fields.get("dc:creator", "").strip()
    comments: list[ImportedComment] = []
    skipped: list[str] = []
    for child in el:
        if _name(child) == "wp:comment":
            comment = _comment(child, where, creator, site)
            if isinstance(comment, Skipped):
                skipped.append(comment.reason)
            else:
                comments.append(comment)
    return ImportedPost(
        key=post_id or fields.get("guid", ""),
        kind="article" if post_type == "post" else "page",
        title=fields.get("title", "").strip(),
        slug=slug,
        html=fields.get("content:encoded", ""),
        summary=fields.get("excerpt:encoded", "").strip(),
        status=inkwell_status,
        publish_at=publish_at,
        author_login=creator,
        categories=categories,
        tags=tags,
        featured_image_key=meta.get("_thumbnail_id") or None,
        old_paths=old_paths,
        comments=comments,
        skipped_comments=skipped,
    )


def _postmeta(el: Element) -> dict[str, str]:
    meta: dict[str, str] = {}
    for child in el:
        if _name(child) == "wp:postmeta":
            fields = {_name(c): (c.text or "") for c in child}
            meta.setdefault(fields.get("wp:meta_key", ""), fields.get("wp:meta_value", "").strip())
    return meta


def _comment(el: Element, where: str, creator: str, site: WxrSite) -> ImportedComment | Skipped:
    fields = _fields(el, where)
    comment_id = fields.get("wp:comment_id", "").strip()
    at = f"{where}, comment {comment_id}"
    approved = fields.get("wp:comment_approved", "").strip()
    kind = fields.get("wp:comment_type", "").strip()
    if kind in ("pingback", "trackback"):
        return Skipped(f"{kind}s")
    if approved in ("spam", "trash", "post-trashed"):
        return Skipped(f"comments marked {approved}")
    if approved not in ("1", "0"):
        raise ImportRefused(
            "{item}: the comment status {status} is unknown.", item=at, status=approved[:40]
        )
    created = parse_date(fields.get("wp:comment_date_gmt", ""), at) or parse_date(
        fields.get("wp:comment_date", ""), at
    )
    if created is None:
        raise ImportRefused("{item}: the comment has no date.", item=at)
    parent = fields.get("wp:comment_parent", "0").strip()
    user_login = site.author_ids.get(fields.get("wp:comment_user_id", "0").strip(), "")
    return ImportedComment(
        key=comment_id,
        author_name=fields.get("wp:comment_author", ""),
        author_email=fields.get("wp:comment_author_email", ""),
        author_url=fields.get("wp:comment_author_url", ""),
        content=fields.get("wp:comment_content", ""),
        created_at=created,
        status="visible" if approved == "1" else "pending",
        parent_key=None if parent in ("", "0") else parent,
        by_post_author=bool(user_login) and user_login == creator,
    )
