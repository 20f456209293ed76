"""The site's navigation: menu entries (categories, pages, links) nested one level; sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from model import Article, Category, MenuItem, Source
from service.articles import SourceRef, category_path, page_path, visible


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str  # "" for a heading that only opens its children
    external: bool = False  # another site's address: rel="noopener"
    children: list[NavItem] = field(default_factory=list)


@dataclass(frozen=True)
class Navigation:
    items: list[NavItem]
    sources: list[SourceRef]


def is_external(url: str) -> bool:
    return bool(urlsplit(url).netloc)


def navigation(session: Session) -> Navigation:
    """Menu entries in order; an entry whose category is hidden or whose page is not
    published is left out, and so is a heading left with nothing under it."""
    rows = session.scalars(select(MenuItem).order_by(MenuItem.sort_order, MenuItem.id)).all()
    categories = {
        category.id: category
        for category in session.scalars(select(Category).where(Category.hidden.is_(False)))
    }
    pages = {
        page.id: page
        for page in session.scalars(select(Article).where(Article.kind == "page", *visible()))
    }

    def resolve(item: MenuItem) -> NavItem | None:
        if item.kind == "category":
            category = categories.get(item.target_id or 0)
            if category is None:
                return None
            return NavItem(item.label or category.name, category_path(category.slug))
        if item.kind == "page":
            page = pages.get(item.target_id or 0)
            if page is None:
                return None
            return NavItem(item.label or page.title, page_path(page.slug))
        return NavItem(item.label, item.url, is_external(item.url))

    items: list[NavItem] = []
    for top in (row for row in rows if row.parent_id is None):
        entry = resolve(top)
        if entry is None:
            continue
        children = [
            child
            for child in (resolve(row) for row in rows if row.parent_id == top.id)
            if child is not None
        ]
        if children:
            entry = NavItem(entry.label, entry.url, entry.external, children)
        elif not entry.url:
            continue
        items.append(entry)
    sources = session.scalars(select(Source).order_by(Source.sort_order, Source.id)).all()
    return Navigation(
        items=items, sources=[SourceRef(source.code, source.name) for source in sources]
    )
