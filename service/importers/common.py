"""What every importer produces (plain records) and the one writer that merges them into
Inkwell: idempotent through source identities, deterministic on slug collisions.

An import runs in two passes over the file. The first reads and checks everything and
writes nothing, so a hostile or broken file is refused with the blog as it was. The
second writes, committing every ``BATCH`` items; should it stop half way (a lost
database), running the same import again resumes it: items already imported are
recognised by their source identity and updated in place.
"""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from extends.storage import MediaStore
from model import (
    Article,
    Category,
    Comment,
    ImportedItem,
    Media,
    Redirect,
    Tag,
    User,
    article_tags,
)
from model.base import Base, utcnow
from service import redirects, slugs
from service.articles import article_path, category_path, page_path
from service.comments import commenter_url
from service.errors import Invalid, message
from service.media import store_upload
from service.rendering import RENDERER_VERSION, render_markdown
from service.search import refresh_index
from service.taxonomy import category_slug

# Posts per transaction: each batch is a few bulk statements and one commit.
BATCH = 500
# A field (post content, a comment) larger than this is refused while the file streams in.
MAX_FIELD = 16 * 1024 * 1024
# And an <item> (a post with all its comments) larger than this.
MAX_ITEM = 4 * MAX_FIELD
URL_TIMEOUT = 10.0


class ImportRefused(Invalid):
    """The file cannot be imported; nothing was written."""


@dataclass
class ImportedComment:
    key: str
    author_name: str
    author_email: str
    author_url: str
    content: str
    created_at: dt.datetime
    status: str  # visible | pending
    parent_key: str | None
    by_post_author: bool


@dataclass
class ImportedPost:
    key: str
    kind: str  # article | page
    title: str
    slug: str
    html: str
    summary: str
    status: str  # draft | published | scheduled
    publish_at: dt.datetime | None
    author_login: str | None
    categories: list[str]  # category keys, first is the article's
    tags: list[str]
    featured_image_key: str | None
    old_paths: list[str]
    comments: list[ImportedComment] = field(default_factory=list)
    skipped_comments: list[str] = field(default_factory=list)


@dataclass
class ImportedCategory:
    key: str
    name: str
    slug: str
    parent_key: str | None


@dataclass
class ImportedAuthor:
    login: str
    email: str
    display_name: str


@dataclass
class ImportedImage:
    key: str
    url: str
    relative_path: (
        str  # under the uploads folder (wp-content/uploads/2024/01/a.jpg → 2024/01/a.jpg)
    )


Translate = Callable[[str], str]


def _english(text: str) -> str:
    return text


class Note(str):
    """A line of the summary: reads as English (a plain ``str``), and keeps its template
    and values so the admin's page can show it in the admin's language (``text``)."""

    template: str
    details: dict[str, str | int]

    def __new__(cls, template: str, details: dict[str, str | int] | None = None) -> Note:
        note = super().__new__(cls, template.format(**(details or {})))
        note.template = template
        note.details = dict(details or {})
        return note

    def text(self, translate: Translate = _english) -> str:
        return translate(self.template).format(**self.details)


SEVERAL_CATEGORIES = message(
    "“{title}” had several categories; Inkwell gives an article one: it is in “{category}”, and {others} became its tags"  # noqa: E501
)
# What the summary counts, each as a message of its own (Chinese words differ by item).
_COUNTED = {
    "articles": message("{count} articles"),
    "pages": message("{count} pages"),
    "comments": message("{count} comments"),
    "users": message("{count} users"),
    "categories": message("{count} categories"),
    "tags": message("{count} tags"),
    "images": message("{count} images"),
}


@dataclass
class Summary:
    """What an import did (or, for a dry run, would do)."""

    source: str
    dry_run: bool
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self, translate: Translate = _english) -> list[str]:
        """The report, in English or through ``translate`` (a locale's)."""

        def counted(counts: Counter[str]) -> str:
            return ", ".join(
                translate(_COUNTED[k]).format(count=n) if k in _COUNTED else f"{n} {k}"
                for k, n in sorted(counts.items())
            )

        def shown(line: str) -> str:
            return line.text(translate) if isinstance(line, Note) else line

        header = (
            message("Dry run of the import from {source}")
            if self.dry_run
            else message("Imported from {source}")
        )
        out = [translate(header).format(source=self.source)]
        if self.created:
            out.append(translate(message("created: {items}")).format(items=counted(self.created)))
        if self.updated:
            out.append(translate(message("updated: {items}")).format(items=counted(self.updated)))
        for reason, n in sorted(self.skipped.items()):
            skipped = translate(message("skipped: {count} {reason}"))
            out.append(skipped.format(count=n, reason=translate(reason)))
        out += [translate(message("note: {text}")).format(text=shown(n)) for n in self.notes]
        out += [translate(message("warning: {text}")).format(text=shown(w)) for w in self.warnings]
        out.append(
            translate(message("Nothing was written (dry run)."))
            if self.dry_run
            else translate(
                message(
                    "Committed in batches; if an import stops half way, run it again to resume."
                )
            )
        )
        return out


Progress = Callable[[int], None]


class Writer:
    """Merges imported records into the blog; one instance per import run."""

    def __init__(
        self,
        session: Session,
        store: MediaStore | None,
        source: str,
        summary: Summary,
        *,
        author: str | None = None,
        uploads: Path | None = None,
        max_media_bytes: int = 10 * 1024 * 1024,
        fetch_urls: bool = True,
    ) -> None:
        self.session = session
        self.store = store
        self.source = source[:191]
        self.summary = summary
        self.uploads = uploads
        self.max_media_bytes = max_media_bytes
        self.fetch_urls = fetch_urls
        self._queue: list[_Queued] = []
        self._queued_posts: set[str] = set()
        self._queued_comments: set[str] = set()
        self._new_identities: list[dict[str, Any]] = []
        self._new_redirects: dict[str, str] = {}
        self._slugs: dict[str, Counter[str]] = {}
        self._category_names: dict[str, str] = {}
        self._users: dict[str, int] = {}
        self._categories: dict[str, int] = {}
        self._category_slugs: dict[str, str] = {}
        self._images: dict[str, ImportedImage] = {}
        self._media: dict[str, Media | None] = {}
        self.fixed_author: int | None = None
        # Loaded once: a query per post or comment would cost more than the writes.
        self._identities: dict[tuple[str, str], int] = {
            (kind, key): target
            for kind, key, target in session.execute(
                select(ImportedItem.kind, ImportedItem.source_key, ImportedItem.target_id).where(
                    ImportedItem.source == self.source
                )
            )
        }
        self._redirects = redirects.load_map(session)
        self._tag_ids: dict[str, int] = {}
        if author:
            found = session.scalar(select(User.id).where(User.username == author))
            if found is None:
                raise ImportRefused("There is no user named {name}.", name=author)
            self.fixed_author = found

    # --- identities --------------------------------------------------------------------

    def _known(self, kind: str, key: str) -> int | None:
        return self._identities.get((kind, key[:191]))

    def _remember(self, kind: str, key: str, target_id: int) -> None:
        """Record where a source item went; written with its batch (_write_identities)."""
        self._identities[(kind, key[:191])] = target_id
        self._new_identities.append(
            {"source": self.source, "kind": kind, "source_key": key[:191], "target_id": target_id}
        )

    def _write_identities(self) -> None:
        if self._new_identities:
            self.session.execute(insert(_table(ImportedItem)), self._new_identities)
            self._new_identities.clear()

    def _forget(self, items: list[tuple[str, str]]) -> None:
        """Drop identities whose Inkwell row was deleted since, so the item is imported anew."""
        for kind, key in items:
            self._identities.pop((kind, key[:191]), None)
            self.session.execute(
                delete(ImportedItem).where(
                    ImportedItem.source == self.source,
                    ImportedItem.kind == kind,
                    ImportedItem.source_key == key[:191],
                )
            )

    @property
    def between_batches(self) -> bool:
        """True right after a batch was committed: no write transaction is open."""
        return not self._queue and not self.summary.dry_run

    def commit(self) -> None:
        if self.summary.dry_run:
            self.session.flush()
        else:
            self.session.commit()

    # --- authors, categories, tags, images ------------------------------------------------

    def author(self, author: ImportedAuthor) -> None:
        login = author.login.strip()[:64]
        if not login:
            return
        user = self.session.scalar(select(User).where(User.username == login))
        if user is None:
            # No password: the hash is empty, which argon2 refuses, so nobody can sign in
            # as this user until a reset or an invitation sets one.
            user = User(
                username=login,
                password_hash="",
                display_name=author.display_name[:100],
                email=author.email[:255],
            )
            self.session.add(user)
            self.session.flush()
            self.summary.created["users"] += 1
        self._users[login] = user.id

    def user_id(self, login: str | None) -> int | None:
        if self.fixed_author is not None:
            return self.fixed_author
        return self._users.get((login or "").strip()[:64])

    def categories(self, items: list[ImportedCategory]) -> None:
        by_key = {item.key: item for item in items}
        for item in items:
            chain = [item.name]
            parent = by_key.get(item.parent_key or "")
            seen = {item.key}
            while parent is not None and parent.key not in seen:
                seen.add(parent.key)
                chain.insert(0, parent.name)
                parent = by_key.get(parent.parent_key or "")
            category_id = self._known("category", item.key)
            category = self.session.get(Category, category_id) if category_id else None
            if category is None:
                category = self.session.scalar(
                    select(Category).where(Category.name == item.name[:64])
                )
                if category is None:
                    slug = category_slug(self.session, item.slug or item.name, item.name, None)
                    order = self.session.scalar(select(func.max(Category.sort_order))) or 0
                    category = Category(name=item.name[:64], slug=slug, sort_order=order + 1)
                    self.session.add(category)
                    self.session.flush()
                    self.summary.created["categories"] += 1
                self._remember("category", item.key, category.id)
            self._categories[item.key] = category.id
            self._category_names[item.key] = category.name
            self._category_slugs[item.key] = category.slug
            if len(chain) > 1:
                self.summary.notes.append(
                    Note(
                        message(
                            "category {path} flattened to “{name}” (Inkwell has no subcategories)"
                        ),
                        {"path": " › ".join(chain), "name": category.name},
                    )
                )
            path = "/category/" + "/".join(
                [*(by_key[k].slug for k in self._ancestors(item, by_key)), item.slug]
            )
            self.redirect(path, category_path(category.slug))
            self.redirect(path + "/feed", category_path(category.slug) + "/feed.rss")

    @staticmethod
    def _ancestors(item: ImportedCategory, by_key: dict[str, ImportedCategory]) -> list[str]:
        keys: list[str] = []
        parent = by_key.get(item.parent_key or "")
        while parent is not None and parent.key not in keys and parent.key != item.key:
            keys.insert(0, parent.key)
            parent = by_key.get(parent.parent_key or "")
        return keys

    def tag(self, name: str) -> Tag:
        name = " ".join(name.split())[:64]
        tag = self.session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            self.session.add(tag)
            self.session.flush()
            self.summary.created["tags"] += 1
        return tag

    def image(self, image: ImportedImage) -> None:
        self._images[image.key] = image
        self._images.setdefault("url:" + image.url, image)

    def media_for(self, key: str, context: str) -> Media | None:
        """The stored copy of an attachment, storing it the first time it is needed."""
        if key in self._media:
            return self._media[key]
        image = self._images.get(key)
        media: Media | None = None
        if image is not None:
            known = self._known("media", image.key)
            media = self.session.get(Media, known) if known else None
            if media is None:
                media = self._store_image(image, context)
        self._media[key] = media
        return media

    def _store_image(self, image: ImportedImage, context: str) -> Media | None:
        data = self._read_image(image)
        if data is None:
            self.summary.warnings.append(f"image {image.url} (in {context!r}): file not found")
            return None
        if self.summary.dry_run or self.store is None:
            self.summary.created["images"] += 1
            return None
        name = PurePosixPath(urlsplit(image.url).path).name or "image"
        try:
            # store_upload commits: the batch so far goes with it, which resuming allows.
            media = store_upload(self.session, self.store, name[:200], data, self.max_media_bytes)
        except Invalid as exc:
            self.summary.warnings.append(f"image {image.url} (in {context!r}): {exc}")
            return None
        self._remember("media", image.key, media.id)
        self.summary.created["images"] += 1
        self.redirect(urlsplit(image.url).path, f"/media/{media.filename}")
        return media

    def _read_image(self, image: ImportedImage) -> bytes | None:
        if self.uploads is not None and image.relative_path:
            base = self.uploads.resolve()
            candidate = (base / image.relative_path).resolve()
            if candidate.is_relative_to(base) and candidate.is_file():
                if candidate.stat().st_size <= self.max_media_bytes:
                    return candidate.read_bytes()
                return None
        if self.fetch_urls and image.url.startswith(("http://", "https://")):
            try:
                with urllib.request.urlopen(image.url, timeout=URL_TIMEOUT) as response:  # noqa: S310
                    data: bytes = response.read(self.max_media_bytes + 1)
                    return data if len(data) <= self.max_media_bytes else None
            except (OSError, ValueError):
                return None
        return None

    # --- posts and comments ----------------------------------------------------------
    #
    # A post is converted and rendered as it arrives, then queued; every BATCH posts the
    # queue is written with a handful of bulk statements (articles, tags, comments,
    # identities, redirects) and committed. An ORM object and a flush per row cost
    # several times the whole conversion.

    def redirect(self, old: str, target: str) -> None:
        key = redirects.normalize(old)
        if key == redirects.normalize(target) or self._redirects.get(key) == target:
            return
        if key in self._new_redirects:
            self._new_redirects[key] = target
        elif key in self._redirects:
            try:
                redirects.put(self.session, old, target)
            except Invalid:
                return
        elif key != "/" and len(key) <= redirects.MAX_PATH and len(target) <= redirects.MAX_PATH:
            self._new_redirects[key] = target
        else:
            return
        self._redirects[key] = target

    def _write_redirects(self) -> None:
        if self._new_redirects:
            self.session.execute(
                insert(_table(Redirect)),
                [{"path": path, "target": target} for path, target in self._new_redirects.items()],
            )
            self._new_redirects.clear()

    def tag_id(self, name: str) -> int:
        name = " ".join(name.split())[:64]
        if name not in self._tag_ids:
            self._tag_ids[name] = self.tag(name).id
        return self._tag_ids[name]

    def _slugs_of(self, kind: str) -> Counter[str]:
        """How many items of ``kind`` use each slug, read once, then kept up to date."""
        if kind not in self._slugs:
            self._slugs[kind] = Counter(
                self.session.scalars(select(Article.slug).where(Article.kind == kind))
            )
        return self._slugs[kind]

    def _free_slug(self, kind: str, slug: str, own: str | None) -> str:
        """``slug``, or the first of slug-2, slug-3 … that no other item of the kind has
        (``own`` is the slug the item itself has now)."""
        if not slug:
            return slug
        counts = self._slugs_of(kind)

        def taken(candidate: str) -> bool:
            return counts[candidate] - (candidate == own) > 0

        reserved = kind == "page" and slug in slugs.RESERVED_SLUGS
        if not taken(slug) and not reserved:
            return slug
        n = 2
        while taken(f"{slug[:70]}-{n}"):
            n += 1
        return f"{slug[:70]}-{n}"

    def post(self, post: ImportedPost, rewrite: Callable[[str, str], str]) -> None:
        """Convert and queue one post; a full queue is written and committed."""
        from service.importers.convert import html_to_markdown

        if post.key in self._queued_posts:
            # The same post twice in one file: the second updates what the first wrote.
            self._write_queue()
            self.commit()
        unique = []
        for comment in post.comments:
            if comment.key in self._queued_comments:
                self.summary.skipped["comments listed twice (same id)"] += 1
            else:
                self._queued_comments.add(comment.key)
                unique.append(comment)
        post.comments = unique
        self._queued_posts.add(post.key)
        content = rewrite(html_to_markdown(post.html), post.title)
        rendered = render_markdown(content)
        featured: int | None = None
        if post.featured_image_key:
            # Before any row of the batch is written: storing an image commits.
            media = self.media_for(post.featured_image_key, post.title)
            featured = media.id if media is not None else None
        category_id = None
        if post.kind == "article":
            category_id = next(
                (self._categories[key] for key in post.categories if key in self._categories),
                None,
            )
        extra = [
            self._category_names[key] for key in post.categories[1:] if key in self._categories
        ]
        if extra and category_id is not None:
            # Inkwell gives an article one category: the others are kept as its tags.
            first = next(key for key in post.categories if key in self._categories)
            self.summary.notes.append(
                Note(
                    SEVERAL_CATEGORIES,
                    {
                        "title": post.title[:80],
                        "category": self._category_names[first],
                        "others": ", ".join(f"“{name}”" for name in extra),
                    },
                )
            )
        values: dict[str, Any] = {
            "kind": post.kind,
            "title": post.title[:200] or "(untitled)",
            "content": content,
            "content_html": rendered.html,
            "toc_html": rendered.toc_html,
            "renderer_version": RENDERER_VERSION,
            "summary": post.summary,
            "status": post.status,
            "publish_at": post.publish_at,
            "author_id": self.user_id(post.author_login),
            "category_id": category_id,
            "featured_image_id": featured,
        }
        tag_ids = {self.tag_id(name) for name in [*post.tags, *extra] if name.strip()}
        self._queue.append(_Queued(post, values, tag_ids))
        if len(self._queue) >= BATCH:
            self._write_queue()
            self.commit()

    def _write_queue(self) -> None:
        queue, self._queue = self._queue, []
        self._queued_posts.clear()
        self._queued_comments.clear()
        if not queue:
            return
        known = [self._known("article", item.post.key) for item in queue]
        existing = {
            row.id: (row.kind, row.slug)
            for row in self.session.execute(
                select(Article.id, Article.kind, Article.slug).where(
                    Article.id.in_([i for i in known if i is not None])
                )
            )
        }
        stale: list[tuple[str, str]] = []
        now = utcnow()
        new_rows: list[dict[str, Any]] = []
        updated_rows: list[dict[str, Any]] = []
        for item, article_id in zip(queue, known, strict=True):
            post = item.post
            if article_id is not None and article_id not in existing:
                stale.append(("article", post.key))  # deleted here since: import it anew
                article_id = None
            old_kind, old_slug = existing.get(article_id or 0, (post.kind, None))
            wanted = slugs.clean_slug(post.slug) or slugs.slug_from_title(post.title)
            own = old_slug if old_kind == post.kind else None
            slug = self._free_slug(post.kind, wanted, own)
            if article_id is None and slug != wanted:
                self.summary.notes.append(
                    f"{post.kind} {post.title!r}: slug {wanted!r} is taken here, "
                    f"imported as {slug!r}"
                )
            elif article_id is not None and own and own.startswith(wanted):
                slug = own
            if old_slug is not None:
                self._slugs_of(old_kind)[old_slug] -= 1
            self._slugs_of(post.kind)[slug] += 1
            item.article_id = article_id
            item.values["slug"] = slug
            if article_id is None:
                item.values["comment_count"] = sum(c.status == "visible" for c in post.comments)
                new_rows.append(
                    {
                        **item.values,
                        "view_count": 0,
                        "created_at": post.publish_at or now,
                        "updated_at": now,
                    }
                )
            else:
                updated_rows.append({"id": article_id, **item.values, "updated_at": now})
        self._forget(stale)
        if new_rows:
            new_ids = iter(self.session.scalars(_insert_returning_ids(Article), new_rows).all())
            for item in queue:
                if item.article_id is None:
                    item.article_id = next(new_ids)
                    item.created = True
                    self._remember("article", item.post.key, item.article_id)
        if updated_rows:
            _update_by_id(self.session, Article, updated_rows)
            self.session.execute(
                delete(article_tags).where(
                    article_tags.c.article_id.in_([row["id"] for row in updated_rows])
                )
            )
        tag_rows = [
            {"article_id": item.article_id, "tag_id": tag_id}
            for item in queue
            for tag_id in sorted(item.tag_ids)
        ]
        if tag_rows:
            self.session.execute(insert(article_tags), tag_rows)
        self._write_comments(queue)
        for item in queue:
            post, article_id = item.post, item.article_id
            assert article_id is not None
            counts = self.summary.created if item.created else self.summary.updated
            counts[post.kind + "s"] += 1
            slug = item.values["slug"]
            target = article_path(article_id, slug) if post.kind == "article" else page_path(slug)
            for old in post.old_paths:
                self.redirect(old, target)
        self._write_identities()
        self._write_redirects()

    def _write_comments(self, queue: list[_Queued]) -> None:
        """Every comment of the queued posts: floors in date order, then their threads."""
        updated_articles = [item.article_id for item in queue if not item.created]
        floors: dict[int, int] = {}
        if updated_articles:
            floors = {
                article_id: floor or 0
                for article_id, floor in self.session.execute(
                    select(Comment.article_id, func.max(Comment.floor))
                    .where(Comment.article_id.in_(updated_articles))
                    .group_by(Comment.article_id)
                )
            }
        known_ids = [
            known
            for item in queue
            for comment in item.post.comments
            if (known := self._known("comment", comment.key)) is not None
        ]
        alive: set[int] = set()
        for chunk in _chunks(known_ids, 1000):
            alive.update(self.session.scalars(select(Comment.id).where(Comment.id.in_(chunk))))
        new_rows: list[dict[str, Any]] = []
        new_keys: list[tuple[int, str]] = []  # (position in the queue, comment key)
        updated_rows: list[dict[str, Any]] = []
        ids: list[dict[str, int]] = []  # per queued post: comment key → comment id
        stale: list[tuple[str, str]] = []
        for position, item in enumerate(queue):
            post, article_id = item.post, item.article_id
            assert article_id is not None
            for reason in post.skipped_comments:
                self.summary.skipped[reason] += 1
            floor = floors.get(article_id, 0)
            written: dict[str, int] = {}
            ids.append(written)
            for comment in sorted(post.comments, key=lambda c: (c.created_at, c.key)):
                values = {
                    "author_name": (comment.author_name.strip() or "Anonymous")[:64],
                    "author_email": comment.author_email[:255],
                    "author_url": commenter_url(comment.author_url),
                    "content": comment.content.strip() or "…",
                    "status": comment.status,
                    "is_author": comment.by_post_author,
                    "created_at": comment.created_at,
                }
                known = self._known("comment", comment.key)
                if known is not None and known in alive:
                    written[comment.key] = known
                    updated_rows.append({"id": known, **values})
                    self.summary.updated["comments"] += 1
                    continue
                if known is not None:
                    stale.append(("comment", comment.key))
                floor += 1
                new_rows.append({"article_id": article_id, "floor": floor, "ip_hash": "", **values})
                new_keys.append((position, comment.key))
                self.summary.created["comments"] += 1
        self._forget(stale)
        if new_rows:
            new_ids = self.session.scalars(_insert_returning_ids(Comment), new_rows).all()
            for (position, key), comment_id in zip(new_keys, new_ids, strict=True):
                ids[position][key] = comment_id
                self._remember("comment", key, comment_id)
        # The threads, now that every comment has its id.
        by_id = {row["id"]: row for row in updated_rows}
        replies: list[dict[str, Any]] = []
        for position, item in enumerate(queue):
            written = ids[position]
            for comment in item.post.comments:
                comment_id = written[comment.key]
                parent = written.get(comment.parent_key or "")
                if comment_id in by_id:
                    by_id[comment_id]["reply_to_id"] = parent
                elif parent is not None:
                    replies.append({"id": comment_id, "reply_to_id": parent})
        if updated_rows:
            _update_by_id(self.session, Comment, updated_rows)
        comments = _table(Comment)
        for start in range(0, len(replies), 1000):
            # One UPDATE … CASE per thousand replies: MySQL drivers send an executemany
            # UPDATE row by row.
            parents = {row["id"]: row["reply_to_id"] for row in replies[start : start + 1000]}
            self.session.execute(
                update(comments)
                .where(comments.c.id.in_(list(parents)))
                .values(reply_to_id=case(parents, value=comments.c.id))
            )
        if updated_articles:
            counts = dict.fromkeys(updated_articles, 0)
            for article_id, n in self.session.execute(
                select(Comment.article_id, func.count())
                .where(Comment.article_id.in_(updated_articles), Comment.status == "visible")
                .group_by(Comment.article_id)
            ):
                counts[article_id] = n
            _update_by_id(
                self.session,
                Article,
                [{"id": article_id, "comment_count": n} for article_id, n in counts.items()],
            )

    def finish(self) -> None:
        """Write the last batch, commit, and build the search index once, in bulk."""
        self._write_queue()
        self._write_identities()
        self._write_redirects()
        if self.summary.dry_run:
            self.session.rollback()
            return
        self.session.commit()
        refresh_index(self.session)


@dataclass
class _Queued:
    """A post converted and rendered, waiting for its batch to be written."""

    post: ImportedPost
    values: dict[str, Any]  # the article's columns
    tag_ids: set[int]
    article_id: int | None = None
    created: bool = False


def _table(model: type[Base]) -> Table:
    """The model's Core table: bulk statements on it skip the ORM's per-row bookkeeping
    (a third of the write time)."""
    return cast(Table, model.__table__)


def _insert_returning_ids(model: type[Base]) -> ReturningInsert[Any]:
    """INSERT of many rows giving back their new ids in the order of the rows."""
    table = _table(model)
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def _update_by_id(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """UPDATE each row (a dict with "id" and the columns to set; the same columns in
    every row) in one executemany."""
    if rows:
        table = _table(model)
        session.execute(
            update(table).where(table.c.id == bindparam("row_id")),
            [{"row_id": row["id"], **{k: v for k, v in row.items() if k != "id"}} for row in rows],
        )


def _chunks(values: list[int], size: int) -> list[list[int]]:
    return [values[start : start + size] for start in range(0, len(values), size)]
