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
from urllib.parse import urlsplit

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

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
from service import redirects, slugs
from service.articles import article_path, category_path, page_path
from service.comments import commenter_url
from service.errors import Invalid, message
from service.media import store_upload
from service.rendering import RENDERER_VERSION, render_markdown
from service.search import refresh_index
from service.taxonomy import category_slug

BATCH = 200
MAX_FIELD = 16 * 1024 * 1024
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
        self.pending = 0
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
        self._identities[(kind, key[:191])] = target_id
        self.session.add(
            ImportedItem(source=self.source, kind=kind, source_key=key[:191], target_id=target_id)
        )

    def step(self) -> None:
        """Count one written item; commit a batch (never in a dry run)."""
        self.pending += 1
        if self.pending >= BATCH:
            self.commit()

    @property
    def between_batches(self) -> bool:
        """True right after a batch was committed: no write transaction is open."""
        return self.pending == 0 and not self.summary.dry_run

    def commit(self) -> None:
        self.pending = 0
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

    def redirect(self, old: str, target: str) -> None:
        key = redirects.normalize(old)
        if key == redirects.normalize(target) or self._redirects.get(key) == target:
            return
        try:
            if key in self._redirects:
                redirects.put(self.session, old, target)
            elif (
                key != "/" and len(key) <= redirects.MAX_PATH and len(target) <= redirects.MAX_PATH
            ):
                self.session.add(Redirect(path=key, target=target))
            else:
                return
        except Invalid:
            return
        self._redirects[key] = target

    def tag_id(self, name: str) -> int:
        name = " ".join(name.split())[:64]
        if name not in self._tag_ids:
            self._tag_ids[name] = self.tag(name).id
        return self._tag_ids[name]

    def _free_slug(self, kind: str, slug: str, article_id: int | None) -> str:
        """``slug``, or the first of slug-2, slug-3 … that no other item of the kind has."""
        if not slug:
            return slug
        taken = set(
            self.session.scalars(
                select(Article.slug).where(
                    Article.kind == kind,
                    Article.slug.like(slug[:70] + "%"),
                    Article.id != (article_id or 0),
                )
            )
        )
        reserved = kind == "page" and slug in slugs.RESERVED_SLUGS
        if slug not in taken and not reserved:
            return slug
        n = 2
        while f"{slug[:70]}-{n}" in taken:
            n += 1
        return f"{slug[:70]}-{n}"

    def post(self, post: ImportedPost, rewrite: Callable[[str, str], str]) -> None:
        from service.importers.convert import html_to_markdown

        known = self._known("article", post.key)
        article = self.session.get(Article, known) if known else None
        created = article is None
        if article is None:
            article = Article(kind=post.kind, view_count=0, comment_count=0)
            self.session.add(article)
        article.kind = post.kind
        article.title = post.title[:200] or "(untitled)"
        wanted = slugs.clean_slug(post.slug) or slugs.slug_from_title(post.title)
        slug = self._free_slug(post.kind, wanted, article.id)
        if slug != wanted and created:
            self.summary.notes.append(
                f"{post.kind} {post.title!r}: slug {wanted!r} is taken here, imported as {slug!r}"
            )
        elif not created:
            slug = article.slug if article.slug and article.slug.startswith(wanted) else slug
        article.slug = slug
        article.content = rewrite(html_to_markdown(post.html), post.title)
        rendered = render_markdown(article.content)
        article.content_html = rendered.html
        article.toc_html = rendered.toc_html
        article.renderer_version = RENDERER_VERSION
        article.summary = post.summary
        article.status = post.status
        article.publish_at = post.publish_at
        if post.publish_at is not None and created:
            article.created_at = post.publish_at
        article.author_id = self.user_id(post.author_login)
        article.category_id = None
        if post.kind == "article":
            for key in post.categories:
                if key in self._categories:
                    article.category_id = self._categories[key]
                    break
        extra = [k for k in post.categories[1:] if k in self._categories]
        self.session.flush()
        names = [*post.tags]
        if extra:
            # Inkwell gives an article one category: the others are kept as its tags.
            extra_names = [self.session.get_one(Category, self._categories[k]).name for k in extra]
            names += extra_names
            if article.category_id is not None:
                self.summary.notes.append(
                    Note(
                        SEVERAL_CATEGORIES,
                        {
                            "title": post.title[:80],
                            "category": self.session.get_one(Category, article.category_id).name,
                            "others": ", ".join(f"“{name}”" for name in extra_names),
                        },
                    )
                )
        tag_ids = {self.tag_id(name) for name in names if name.strip()}
        self.session.execute(delete(article_tags).where(article_tags.c.article_id == article.id))
        if tag_ids:
            self.session.execute(
                insert(article_tags),
                [{"article_id": article.id, "tag_id": tag_id} for tag_id in sorted(tag_ids)],
            )
        article.featured_image_id = None
        if post.featured_image_key:
            media = self.media_for(post.featured_image_key, post.title)
            article.featured_image_id = media.id if media is not None else None
        if created:
            self._remember("article", post.key, article.id)
            self.summary.created[post.kind + "s"] += 1
        else:
            self.summary.updated[post.kind + "s"] += 1
        target = (
            article_path(article.id, article.slug)
            if post.kind == "article"
            else page_path(article.slug)
        )
        for old in post.old_paths:
            self.redirect(old, target)
        self._comments(article, post)
        self.step()

    def _comments(self, article: Article, post: ImportedPost) -> None:
        for reason in post.skipped_comments:
            self.summary.skipped[reason] += 1
        written: dict[str, Comment] = {}
        new_keys: list[str] = []
        floor = 0
        if post.comments:
            floor = (
                self.session.scalar(
                    select(func.max(Comment.floor)).where(Comment.article_id == article.id)
                )
                or 0
            )
        for item in sorted(post.comments, key=lambda c: (c.created_at, c.key)):
            known = self._known("comment", item.key)
            comment = self.session.get(Comment, known) if known else None
            if comment is None:
                floor += 1
                comment = Comment(article_id=article.id, floor=floor, ip_hash="")
                self.session.add(comment)
                new_keys.append(item.key)
                self.summary.created["comments"] += 1
            else:
                self.summary.updated["comments"] += 1
            comment.author_name = (item.author_name.strip() or "Anonymous")[:64]
            comment.author_email = item.author_email[:255]
            comment.author_url = commenter_url(item.author_url)
            comment.content = item.content.strip() or "…"
            comment.status = item.status
            comment.is_author = item.by_post_author
            comment.created_at = item.created_at
            written[item.key] = comment
        if not written:
            article.comment_count = 0
            return
        # One flush gives every new comment its id; then the threads point at them.
        self.session.flush()
        for item in post.comments:
            parent = written.get(item.parent_key or "")
            written[item.key].reply_to_id = parent.id if parent is not None else None
        for key in new_keys:
            self._remember("comment", key, written[key].id)
        article.comment_count = (
            self.session.scalar(
                select(func.count())
                .select_from(Comment)
                .where(Comment.article_id == article.id, Comment.status == "visible")
            )
            or 0
        )

    def finish(self) -> None:
        """Commit the last batch and build the search index once."""
        if self.summary.dry_run:
            self.session.rollback()
            return
        self.session.commit()
        refresh_index(self.session)
