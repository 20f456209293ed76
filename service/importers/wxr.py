"""WordPress eXtended RSS (Tools → Export → All content, WordPress 4.x–6.x), read as a stream.

expat is fed the file a chunk at a time with defusedxml's refusals of DTDs, entities and
external references installed, so an "XML bomb" or an external entity never expands; each
<item> is dropped once read and every field's size is checked as its text arrives, so
memory stays flat however many posts the file holds and however large a field claims to be.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError, TreeBuilder
from xml.parsers import expat

from defusedxml import (  # type: ignore[import-untyped]
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from service.importers.common import (
    MAX_FIELD,
    MAX_ITEM,
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


@cache
def _name_of(raw: str) -> str:
    """A tag as WordPress writes it ("wp:post_id") from expat's "namespace}local" form; a
    file has a few dozen distinct tags."""
    uri, _, local = raw.rpartition("}")
    if not uri:
        return local
    if "excerpt" in uri:
        return "excerpt:" + local
    if "wordpress.org/export" in uri:
        return "wp:" + local
    if "purl.org/rss/1.0/modules/content" in uri:
        return "content:" + local
    if "purl.org/dc" in uri:
        return "dc:" + local
    return "other:" + local


def _name(el: Element) -> str:
    return el.tag  # already the short name (_ChannelReader)


def _fields(el: Element) -> dict[str, str]:
    # Field sizes were checked while the file streamed in (_ChannelReader).
    out: dict[str, str] = {}
    for child in el:
        out.setdefault(child.tag, child.text or "")
    return out


_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def parse_date(value: str, where: str) -> dt.datetime | None:
    """A WXR date ("2024-01-31 09:05:00", GMT); WordPress writes zeros for "never"."""
    value = (value or "").strip()
    if not value or value == _ZERO_DATE:
        return None
    try:
        # The shape first, then fromisoformat checks the ranges (ten times strptime's speed).
        if _DATE.fullmatch(value):
            return dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    raise ImportRefused("{item}: the date {value} is not valid.", item=where, value=value[:40])


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


# The file is read this many bytes at a time: memory holds one chunk and one <item>.
CHUNK = 64 * 1024


# defusedxml's own exceptions, raised from the expat handlers defusedxml would install.
def _refuse_dtd(*_args: object) -> None:
    raise DTDForbidden(None, None, None)


def _refuse_entity(*_args: object) -> None:
    raise EntitiesForbidden(None, None, None, None, None, None)


def _refuse_external(*_args: object) -> int:
    raise ExternalReferenceForbidden(None, None, None, None)


class _ChannelReader:
    """Builds each child of <channel> (author, term, item) as its own small tree of
    elements tagged with WordPress's short names, and counts the text as expat hands it
    over, so an oversized field is refused while it streams in, long before it is whole
    in memory.

    expat is driven directly (defusedxml's parser adds a Python layer per element that
    costs a third of the import): the same three refusals as defusedxml's are installed,
    with defusedxml's exceptions, so a DTD, an entity or an external reference stops it.
    """

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.parser = expat.ParserCreate(None, "}")
        self.parser.buffer_text = True
        self.parser.buffer_size = CHUNK
        self.parser.StartDoctypeDeclHandler = _refuse_dtd
        self.parser.EntityDeclHandler = _refuse_entity
        self.parser.UnparsedEntityDeclHandler = _refuse_entity
        self.parser.ExternalEntityRefHandler = _refuse_external
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.data
        self.depth = 0
        self.channel: Element | None = None
        self.complete: list[Element] = []
        self.field_size = 0
        self.item_size = 0
        self.items = 0
        self.open: list[str] = []
        self.item_fields: dict[str, str] = {}  # the item's title, id and guid, once read
        self.events = 0  # handler calls so far: markup that never yields one is refused

    def feed(self, chunk: bytes, last: bool = False) -> None:
        try:
            self.parser.Parse(chunk, last)
        except expat.ExpatError as exc:
            raise ParseError(str(exc)) from None

    def start(self, raw: str, attrs: dict[str, str]) -> None:
        self.events += 1
        self.depth += 1
        self.field_size = 0
        tag = _name_of(raw)
        self.open.append(tag)
        if self.depth == 1 and tag != "rss":
            raise ImportRefused("The file is XML but not a WordPress export (WXR).")
        element = self.builder.start(tag, attrs)
        if self.depth == 2 and tag == "channel":
            self.channel = element
        elif self.depth == 3:
            self.item_size = 0
            if tag == "item":
                self.items += 1
                self.item_fields = {}

    def data(self, text: str) -> None:
        self.events += 1
        self.field_size += len(text)
        self.item_size += len(text)
        if self.field_size > MAX_FIELD:
            raise ImportRefused(
                "{item}: the field {field} is too large (the limit is {limit} MB).",
                item=self.where(),
                field=self.open[-1] if self.open else "?",
                limit=MAX_FIELD // (1024 * 1024),
            )
        if self.item_size > MAX_ITEM:
            raise ImportRefused(
                "{item} is too large (the limit is {limit} MB).",
                item=self.where(),
                limit=MAX_ITEM // (1024 * 1024),
            )
        self.builder.data(text)

    def end(self, _raw: str) -> None:
        self.events += 1
        tag = self.open.pop()
        element = self.builder.end(tag)
        self.field_size = 0
        if self.depth == 4 and self.open[-1] == "item":
            if tag in ("title", "wp:post_id", "guid"):
                self.item_fields[tag] = (element.text or "")[:200]
        elif self.depth == 3 and self.channel is not None:
            self.complete.append(element)
            self.channel.remove(element)
        self.depth -= 1

    def where(self) -> str:
        """The element being read, as the summary names it."""
        if len(self.open) >= 3 and self.open[2] == "item":
            return _item_name(self.items, self.item_fields)
        if len(self.open) >= 3:
            return self.open[2]
        return "the channel"


def _elements(path: Path) -> Iterator[Element]:
    """Every direct child of <channel> once complete (authors, terms, items), then freed."""
    reader = _ChannelReader()
    try:
        with path.open("rb") as handle:
            quiet_since = 0
            events = 0
            while chunk := handle.read(CHUNK):
                reader.feed(chunk)
                if reader.events != events:
                    events, quiet_since = reader.events, 0
                else:
                    # A tag, attribute or comment that never ends is buffered whole by expat.
                    quiet_since += len(chunk)
                    if quiet_since > MAX_FIELD:
                        raise ImportRefused(
                            "{item}: a tag, attribute or comment is too large "
                            "(the limit is {limit} MB).",
                            item=reader.where(),
                            limit=MAX_FIELD // (1024 * 1024),
                        )
                yield from reader.complete
                reader.complete.clear()
            reader.feed(b"", last=True)
    except DefusedXmlException as exc:
        raise ImportRefused(
            "The file was refused: it declares a DTD, entities or external references ({problem}).",
            problem=type(exc).__name__,
        ) from None
    except ParseError as exc:
        raise ImportRefused(
            "The file is not well-formed XML (truncated or damaged): {problem}.", problem=str(exc)
        ) from None
    yield from reader.complete


def _item_name(number: int, fields: dict[str, str]) -> str:
    title = " ".join((fields.get("title") or "").split())[:60]
    post_id = fields.get("wp:post_id", "").strip()[:20]
    guid = fields.get("guid", "").strip()[:100]
    # WordPress writes the post id after the content: the guid names a post read so far.
    ident = f"post id {post_id}" if post_id else f"guid {guid}" if guid else "post id ?"
    return f"item {number} ({ident}, {title!r})"


def scan(path: Path) -> WxrSite:
    """The first pass: read and check the whole file, keep only the small parts."""
    site = WxrSite()
    number = 0
    for el in _elements(path):
        name = _name(el)
        if name in ("link", "wp:base_site_url") and not site.base_url:
            site.base_url = (el.text or "").strip()
        elif name == "wp:author":
            fields = _fields(el)
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
            fields = _fields(el)
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
            fields = _fields(el)
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
    fields = _fields(el)
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
        if child.tag == "category":
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
            fields = {c.tag: (c.text or "") for c in child}
            meta.setdefault(fields.get("wp:meta_key", ""), fields.get("wp:meta_value", "").strip())
    return meta


def _comment(el: Element, where: str, creator: str, site: WxrSite) -> ImportedComment | Skipped:
    fields = _fields(el)
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
