"""The site's navigation: menus with their categories, loose categories, sources."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from model import Category, Menu, Source
from service.articles import CategoryRef, SourceRef


@dataclass(frozen=True)
class NavMenu:
    name: str
    categories: list[CategoryRef]


@dataclass(frozen=True)
class Navigation:
    menus: list[NavMenu]
    loose_categories: list[CategoryRef]  # categories under no menu
    sources: list[SourceRef]


def navigation(session: Session) -> Navigation:
    """Menus in order, each with its listed categories; hidden categories never appear."""
    menus = session.scalars(select(Menu).order_by(Menu.sort_order, Menu.id)).all()
    categories = session.scalars(
        select(Category)
        .where(Category.hidden.is_(False))
        .order_by(Category.sort_order, Category.id)
    ).all()
    by_menu: dict[int | None, list[CategoryRef]] = {}
    for category in categories:
        by_menu.setdefault(category.menu_id, []).append(CategoryRef(category.id, category.name))
    sources = session.scalars(select(Source).order_by(Source.sort_order, Source.id)).all()
    return Navigation(
        menus=[NavMenu(menu.name, by_menu[menu.id]) for menu in menus if by_menu.get(menu.id)],
        loose_categories=by_menu.get(None, []),
        sources=[SourceRef(source.code, source.name) for source in sources],
    )
