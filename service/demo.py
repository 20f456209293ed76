"""Load the sample site (service/demo_data.py); running it again adds nothing twice."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from model import Article, Category, Comment, MenuItem, Source, Tag, Widget
from model.base import utcnow
from service import demo_data, search, slugs
from service.rendering import RENDERER_VERSION, render_markdown
from service.site import ensure_settings

DEFAULT_SOURCES = (("original", "Original"), ("reprint", "Reprint"), ("translation", "Translation"))


def ensure_sources(session: Session) -> dict[str, Source]:
    """The three sources blog_xtg had, created when missing; keyed by code."""
    existing = {source.code: source for source in session.scalars(select(Source))}
    for order, (code, name) in enumerate(DEFAULT_SOURCES):
        if code not in existing:
            existing[code] = Source(code=code, name=name, sort_order=order)
            session.add(existing[code])
    session.flush()
    return existing


def _get_or_create_tag(session: Session, name: str) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name)
        session.add(tag)
        session.flush()
    return tag


def _load_demo_menu(
    session: Session, categories: dict[str, Category], pages: dict[str, Article]
) -> int:
    """The menu: a heading per demo menu with its categories, loose categories, the pages and
    the outside links; only when the site has no menu yet."""
    if session.scalar(select(MenuItem.id).limit(1)) is not None:
        return 0
    order = 0

    def add(kind: str, target: int | None, label: str, url: str, parent: int | None) -> int:
        nonlocal order
        item = MenuItem(
            kind=kind, target_id=target, label=label, url=url, parent_id=parent, sort_order=order
        )
        order += 1
        session.add(item)
        session.flush()
        return item.id

    for menu_row in demo_data.MENUS:
        heading = add("link", None, menu_row["name"], "", None)
        for row in demo_data.CATEGORIES:
            if row["menu"] == menu_row["name"]:
                add("category", categories[row["name"]].id, "", "", heading)
    for row in demo_data.CATEGORIES:
        if row["menu"] is None:
            add("category", categories[row["name"]].id, "", "", None)
    for page in pages.values():
        add("page", page.id, "", "", None)
    for link in demo_data.LINKS:
        add("link", None, link["label"], link["url"], None)
    return order


def load_demo_site(session: Session) -> int:
    """Create what the sample site has and the database lacks; returns how many items."""
    created = 0
    settings = ensure_settings(session)
    if not settings.signature:
        settings.title = demo_data.SITE["title"]
        settings.signature = demo_data.SITE["signature"]
        settings.footer = demo_data.SITE["footer"]
        created += 1
    sources = ensure_sources(session)

    categories: dict[str, Category] = {}
    for order, category_row in enumerate(demo_data.CATEGORIES):
        category = session.scalar(select(Category).where(Category.name == category_row["name"]))
        if category is None:
            category = Category(
                name=category_row["name"],
                slug=slugs.slug_from_title(category_row["name"]),
                intro=category_row["intro"],
                sort_order=order,
            )
            session.add(category)
            created += 1
        categories[category_row["name"]] = category
    session.flush()

    now = utcnow().replace(microsecond=0)

    articles: dict[str, Article] = {}
    for article_row in demo_data.ARTICLES:
        article = session.scalar(select(Article).where(Article.slug == article_row["slug"]))
        if article is None:
            when = now - dt.timedelta(days=article_row["days_ago"], hours=3)
            rendered = render_markdown(article_row["content"])
            article = Article(
                title=article_row["title"],
                slug=article_row["slug"],
                content=article_row["content"],
                content_html=rendered.html,
                toc_html=rendered.toc_html,
                renderer_version=RENDERER_VERSION,
                summary=article_row["summary"],
                status=article_row["status"],
                publish_at=when if article_row["status"] == "published" else None,
                created_at=when,
                updated_at=when,
                category_id=categories[article_row["category"]].id,
                source_id=sources[article_row["source"]].id,
            )
            article.tags = [_get_or_create_tag(session, name) for name in article_row["tags"]]
            session.add(article)
            created += 1
        articles[article_row["slug"]] = article
    session.flush()

    # Pages after the articles, so the sample articles keep their ids.
    pages: dict[str, Article] = {}
    for page_row in demo_data.PAGES:
        page = session.scalar(
            select(Article).where(Article.kind == "page", Article.slug == page_row["slug"])
        )
        if page is None:
            rendered = render_markdown(page_row["content"])
            page = Article(
                kind="page",
                comments_enabled=False,
                title=page_row["title"],
                slug=page_row["slug"],
                content=page_row["content"],
                content_html=rendered.html,
                toc_html=rendered.toc_html,
                renderer_version=RENDERER_VERSION,
                summary="",
                status="published",
                publish_at=now - dt.timedelta(days=30),
                created_at=now - dt.timedelta(days=30),
                updated_at=now - dt.timedelta(days=30),
            )
            session.add(page)
            created += 1
        pages[page_row["slug"]] = page
    session.flush()
    created += _load_demo_menu(session, categories, pages)

    for comment_row in demo_data.COMMENTS:
        article = articles[comment_row["article"]]
        existing = session.scalar(
            select(Comment).where(
                Comment.article_id == article.id,
                Comment.author_name == comment_row["author_name"],
                Comment.content == comment_row["content"],
            )
        )
        if existing is not None:
            continue
        floors = session.scalars(
            select(Comment.floor).where(Comment.article_id == article.id)
        ).all()
        floor = max(floors, default=0) + 1
        reply_to = None
        if comment_row["reply_to_floor"]:
            reply_to = session.scalar(
                select(Comment.id).where(
                    Comment.article_id == article.id,
                    Comment.floor == comment_row["reply_to_floor"],
                )
            )
        session.add(
            Comment(
                article_id=article.id,
                floor=floor,
                reply_to_id=reply_to,
                author_name=comment_row["author_name"],
                author_email=comment_row["author_email"],
                content=comment_row["content"],
                status="visible",
                is_author=comment_row["is_author"],
                created_at=now - dt.timedelta(days=comment_row["days_ago"]),
                ip_hash=hashlib.sha256(b"demo").hexdigest(),
            )
        )
        session.flush()
        # A new comment is not an edit of the article: keep updated_at as it was.
        session.execute(
            update(Article)
            .where(Article.id == article.id)
            .values(comment_count=floor, updated_at=Article.updated_at)
            .execution_options(synchronize_session=False)
        )
        created += 1

    for order, widget_row in enumerate(demo_data.WIDGETS):
        widget = session.scalar(
            select(Widget).where(
                Widget.title == widget_row["title"], Widget.kind == widget_row["kind"]
            )
        )
        if widget is None:
            session.add(
                Widget(
                    title=widget_row["title"],
                    kind=widget_row["kind"],
                    content=widget_row["content"],
                    sort_order=order,
                    enabled=True,
                )
            )
            created += 1
    session.commit()
    # Like an import, the sample site is indexed once at the end (searches never index).
    search.refresh_index(session)
    return created
