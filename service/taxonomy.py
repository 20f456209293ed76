"""Categories, sources and tags as the author manages them (the menu: service/menus.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstrumentedAttribute, Session

from model import Article, Base, Category, Source, Tag, Widget, article_tags
from service import menus, slugs
from service.errors import Conflict, Invalid, NotFound
from service.forms import parse_id

MAX_NAME = 64
MAX_INTRO = 255
MAX_CODE = 32

# Rows the author puts in order by hand (sort_order), and the two the admin URLs name.
Ordered = Category | Source | Widget
ORDERED: dict[str, type[Category] | type[Source]] = {
    "categories": Category,
    "sources": Source,
}
Row = TypeVar("Row", bound=Base)
OrderedRow = TypeVar("OrderedRow", bound=Ordered)


@dataclass(frozen=True)
class CategoryRow:
    category: Category
    article_count: int


@dataclass(frozen=True)
class TagRow:
    tag: Tag
    article_count: int


@dataclass(frozen=True)
class TaxonomyPage:
    categories: list[CategoryRow]
    sources: list[Source]
    source_counts: dict[int, int]


def _clean_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise Invalid("Please enter a name.")
    if len(name) > MAX_NAME:
        raise Invalid("A name must be at most {limit} characters long.", limit=MAX_NAME)
    return name


def _next_order(session: Session, model: type[Ordered]) -> int:
    return (session.scalar(select(func.max(model.sort_order))) or 0) + 1


def _get(session: Session, model: type[Row], item_id: int) -> Row:
    item = session.get(model, item_id)
    if item is None:
        raise NotFound("There is no such item.")
    return item


def category_slug(session: Session, raw: str, name: str, category_id: int | None) -> str:
    """The typed slug (or one made from the name), unique among categories, never only digits."""
    typed = slugs.clean_slug(raw) if raw.strip() else ""
    slug = typed or slugs.slug_from_title(name) or "category"
    if slug.isdigit():
        if typed:
            raise Invalid("A category's slug cannot be only digits.")
        slug = f"category-{slug}"

    def taken(candidate: str) -> bool:
        owner = session.scalar(select(Category.id).where(Category.slug == candidate))
        return owner is not None and owner != category_id

    if typed and taken(slug):
        raise Conflict("Another category has this slug.")
    base, n = slug, 2
    while taken(slug):
        slug, n = f"{base[: slugs.MAX_SLUG - 6]}-{n}", n + 1
    return slug


def overview(session: Session) -> TaxonomyPage:
    """Everything the categories/menus/sources page lists, with article counts."""
    counts = dict(
        session.execute(
            select(Article.category_id, func.count())
            .where(Article.category_id.is_not(None))
            .group_by(Article.category_id)
        ).all()
    )
    source_counts = {
        source_id: count
        for source_id, count in session.execute(
            select(Article.source_id, func.count())
            .where(Article.source_id.is_not(None))
            .group_by(Article.source_id)
        )
        if source_id is not None
    }
    categories = session.scalars(select(Category).order_by(Category.sort_order, Category.id))
    sources = session.scalars(select(Source).order_by(Source.sort_order, Source.id))
    return TaxonomyPage(
        [CategoryRow(c, counts.get(c.id, 0)) for c in categories],
        list(sources),
        source_counts,
    )


# --- categories -----------------------------------------------------------------------


def create_category(
    session: Session, name: str, intro: str = "", slug: str = "", in_menu: str = ""
) -> Category:
    """A new category; ``in_menu`` "1" also puts it at the end of the site's menu."""
    intro = (intro or "").strip()
    if len(intro) > MAX_INTRO:
        raise Invalid("The introduction must be at most {limit} characters long.", limit=MAX_INTRO)
    name = _clean_name(name)
    category = Category(
        name=name,
        slug=category_slug(session, slug or "", name, None),
        intro=intro,
        hidden=False,
        sort_order=_next_order(session, Category),
    )
    session.add(category)
    session.flush()
    slugs.remember_old_slug(session, "category", category.id, "", category.slug)
    if in_menu == "1":
        menus.append_item(session, "category", category.id)
    session.commit()
    return category


def update_category(
    session: Session, category_id: int, name: str, intro: str, slug: str, hidden: bool
) -> Category:
    """Rename a category, change its introduction and slug (the old one answers 301), hide or
    show it."""
    category = _get(session, Category, category_id)
    intro = (intro or "").strip()
    if len(intro) > MAX_INTRO:
        raise Invalid("The introduction must be at most {limit} characters long.", limit=MAX_INTRO)
    category.name = _clean_name(name)
    new_slug = category_slug(session, slug or category.slug, category.name, category.id)
    slugs.remember_old_slug(session, "category", category.id, category.slug, new_slug)
    category.slug = new_slug
    category.intro = intro
    category.hidden = hidden
    session.commit()
    return category


def delete_category(session: Session, category_id: int, move_to: str = "") -> int:
    """Delete a category; its articles move to ``move_to`` (a category id) or to none; it
    leaves the menu and its old slugs are forgotten.

    Returns how many articles moved.
    """
    _get(session, Category, category_id)
    _move_target(session, Category, category_id, move_to)
    menus.forget_target(session, "category", category_id)
    slugs.forget(session, "category", category_id)
    return _delete_moving_articles(session, Category, Article.category_id, category_id, move_to)


def _move_target(
    session: Session, model: type[Category] | type[Source], item_id: int, raw: str
) -> int | None:
    if not raw:
        return None
    try:
        target = parse_id(raw)
    except ValueError:
        raise Invalid("Please choose where the articles go.") from None
    if target == item_id or session.get(model, target) is None:
        raise Invalid("Please choose where the articles go.")
    return target


# --- sources --------------------------------------------------------------------------


def create_source(session: Session, code: str, name: str) -> Source:
    code = (code or "").strip().lower()
    if not code or len(code) > MAX_CODE or not all(c.isalnum() or c in "-_" for c in code):
        raise Invalid(
            "A code is 1 to {limit} letters, digits, dashes or underscores.", limit=MAX_CODE
        )
    if session.scalar(select(Source).where(Source.code == code)) is not None:
        raise Conflict("A source with this code exists already.")
    source = Source(code=code, name=_clean_name(name), sort_order=_next_order(session, Source))
    session.add(source)
    session.commit()
    return source


def rename_source(session: Session, source_id: int, name: str) -> Source:
    source = _get(session, Source, source_id)
    source.name = _clean_name(name)
    session.commit()
    return source


def delete_source(session: Session, source_id: int, move_to: str = "") -> int:
    """Delete a source; its articles move to ``move_to`` or to none. Returns how many."""
    return _delete_moving_articles(session, Source, Article.source_id, source_id, move_to)


def _delete_moving_articles(
    session: Session,
    model: type[Category] | type[Source],
    reference: InstrumentedAttribute[int | None],
    item_id: int,
    move_to: str,
) -> int:
    """Delete a category or source after moving its articles (moving is not an edit)."""
    _get(session, model, item_id)
    target = _move_target(session, model, item_id, move_to)
    moved = session.execute(
        update(Article)
        .where(reference == item_id)
        .values({reference: target, Article.updated_at: Article.updated_at})
    )
    assert isinstance(moved, CursorResult)  # an UPDATE's result: it has a rowcount
    session.execute(delete(model).where(model.id == item_id))
    session.commit()
    return moved.rowcount or 0


# --- ordering -------------------------------------------------------------------------


def move(session: Session, kind: str, item_id: int, direction: str) -> None:
    """Swap an item with its neighbour above ("up") or below ("down")."""
    model = ORDERED.get(kind)
    if model is None or direction not in ("up", "down"):
        raise NotFound("There is no such item.")
    move_in_order(session, model, item_id, direction)


def move_in_order(session: Session, model: type[OrderedRow], item_id: int, direction: str) -> None:
    """Renumber the rows 0..n-1 in their current order, then swap two neighbours."""
    rows = list(session.scalars(select(model).order_by(model.sort_order, model.id)))
    index = next((i for i, row in enumerate(rows) if row.id == item_id), None)
    if index is None:
        raise NotFound("There is no such item.")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    for order, row in enumerate(rows):
        row.sort_order = order
    session.commit()


# --- tags -----------------------------------------------------------------------------


def list_tags(session: Session) -> list[TagRow]:
    """Every tag with how many articles carry it, by name."""
    counts: dict[int, int] = dict(
        session.execute(
            select(article_tags.c.tag_id, func.count()).group_by(article_tags.c.tag_id)
        ).all()
    )
    rows = [TagRow(tag, counts.get(tag.id, 0)) for tag in session.scalars(select(Tag))]
    return sorted(rows, key=lambda row: row.tag.name.lower())


def _tagged_article_ids(session: Session, tag_id: int) -> list[int]:
    return list(
        session.scalars(select(article_tags.c.article_id).where(article_tags.c.tag_id == tag_id))
    )


def rename_tag(session: Session, tag_id: int, name: str) -> list[int]:
    """Rename a tag; a name another tag has already merges the two. Returns touched articles."""
    tag = _get(session, Tag, tag_id)
    name = _clean_name(name)
    other = session.scalar(
        select(Tag).where(func.lower(Tag.name) == name.lower(), Tag.id != tag_id)
    )
    if other is not None:
        return merge_tags(session, tag_id, other.id)
    tag.name = name
    session.commit()
    return _tagged_article_ids(session, tag_id)


def merge_tags(session: Session, source_id: int, target_id: int) -> list[int]:
    """Move every article of tag ``source_id`` to ``target_id`` and delete the source tag."""
    if source_id == target_id:
        raise Invalid("A tag cannot be merged into itself.")
    _get(session, Tag, source_id)
    _get(session, Tag, target_id)
    moving = set(_tagged_article_ids(session, source_id))
    present = set(_tagged_article_ids(session, target_id))
    missing = sorted(moving - present)
    if missing:
        session.execute(
            insert(article_tags), [{"article_id": aid, "tag_id": target_id} for aid in missing]
        )
    session.execute(delete(article_tags).where(article_tags.c.tag_id == source_id))
    session.execute(delete(Tag).where(Tag.id == source_id))
    session.commit()
    return sorted(moving)


def delete_tag(session: Session, tag_id: int) -> list[int]:
    """Delete a tag (the articles stay); returns the articles that carried it."""
    _get(session, Tag, tag_id)
    touched = _tagged_article_ids(session, tag_id)
    session.execute(delete(article_tags).where(article_tags.c.tag_id == tag_id))
    session.execute(delete(Tag).where(Tag.id == tag_id))
    session.commit()
    return touched
