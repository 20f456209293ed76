"""Articles and pages and what hangs off them: categories, menu items, sources, tags,
comments, revisions, old slugs."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from model.base import Base, utcnow
from model.site import Media
from model.user import User

# Every relationship is lazy="raise": a service loads what a page needs up front,
# so nothing can query behind a template's back on the IOLoop thread.

ARTICLE_STATUSES = ("draft", "pending", "published", "scheduled")
# An article is dated, categorised and listed; a page (About, Contact) lives at /<slug>.
CONTENT_KINDS = ("article", "page")
MENU_ITEM_KINDS = ("category", "page", "link")
SLUG_KINDS = ("article", "page", "category")
COMMENT_STATUSES = ("visible", "pending", "hidden", "spam")

article_tags = Table(
    "article_tags",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_article_tags_tag_id", "tag_id"),
)


class MenuItem(Base):
    """One entry of the site's navigation: a category, a page or a link; nested one level."""

    __tablename__ = "menu_items"
    __table_args__ = (Index("ix_menu_items_parent_id_sort_order", "parent_id", "sort_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("menu_items.id", ondelete="SET NULL")
    )
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    # The category's or page's id (kind "category" or "page"); None for a link.
    target_id: Mapped[Optional[int]] = mapped_column(Integer)
    # Shown instead of the category's name or the page's title when not empty.
    label: Mapped[str] = mapped_column(String(100), default="")
    url: Mapped[str] = mapped_column(String(500), default="")


class SlugHistory(Base):
    """A slug an article, page or category had before: its old URLs answer 301."""

    __tablename__ = "slug_history"
    __table_args__ = (
        UniqueConstraint("kind", "slug"),
        Index("ix_slug_history_kind_target_id", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Category(Base):
    """blog_xtg's "article type"."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # /category/<slug>; never only digits (/category/<id> is the old URL form).
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    intro: Mapped[str] = mapped_column(String(255), default="")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Source(Base):
    """Where an article comes from: original, reprint or translation."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_status_publish_at", "status", "publish_at"),
        Index("ix_articles_category_id_status_publish_at", "category_id", "status", "publish_at"),
        Index("ix_articles_source_id_status_publish_at", "source_id", "status", "publish_at"),
        # Lists: the newest articles in order; counts and the archive: every column they test.
        Index("ix_articles_kind_publish_at", "kind", "publish_at"),
        Index(
            "ix_articles_kind_status_publish_at_category_id",
            "kind",
            "status",
            "publish_at",
            "category_id",
        ),
        Index("ix_articles_kind_slug", "kind", "slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    # Which renderer produced content_html; a new renderer re-renders on next read.
    renderer_version: Mapped[str] = mapped_column(String(16), default="")
    toc_html: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    kind: Mapped[str] = mapped_column(String(16), default="article", server_default="article")
    comments_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    publish_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    # Counts the editor's saves: a save from a form opened at an older version is refused.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    category_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL")
    )
    source_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The picture shown on cards, at the top of the article and in shared links.
    featured_image_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("media.id", ondelete="SET NULL")
    )

    category: Mapped[Optional[Category]] = relationship(lazy="raise")
    source: Mapped[Optional[Source]] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, lazy="raise", order_by=Tag.name)
    featured_image: Mapped[Optional[Media]] = relationship(lazy="raise")
    author: Mapped[Optional[User]] = relationship(lazy="raise")


class ArticleRevision(Base):
    """The version of an article as it was before a save."""

    __tablename__ = "article_revisions"
    __table_args__ = (
        Index("ix_article_revisions_article_id_created_at", "article_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("article_id", "floor"),
        Index("ix_comments_article_id_status_floor", "article_id", "status", "floor"),
        Index("ix_comments_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    floor: Mapped[int] = mapped_column(Integer)
    reply_to_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL")
    )
    author_name: Mapped[str] = mapped_column(String(64))
    author_email: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="visible")
    is_author: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    # The commenter's website (imported from WordPress; http(s) only, see commenter_url).
    author_url: Mapped[str] = mapped_column(String(255), default="", server_default="")


class ArticleAutosave(Base):
    """The editor's latest unsaved text of one author, for one article (or a new one: NULL).

    Not a revision: the article itself changes only when the author saves.
    """

    __tablename__ = "article_autosaves"
    __table_args__ = (
        Index("ix_article_autosaves_author_id_article_id", "author_id", "article_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
