"""The menu as the author edits it: entries (category, page, link), their order and nesting."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from model import Article, Category, MenuItem
from model.blog import MENU_ITEM_KINDS
from service.errors import Invalid, NotFound
from service.forms import parse_id

MAX_LABEL = 100
MAX_URL = 500


@dataclass
class MenuItemForm:
    """What the menu page posts, as text."""

    kind: str = "link"
    category_id: str = ""
    page_id: str = ""
    label: str = ""
    url: str = ""
    parent_id: str = ""


@dataclass(frozen=True)
class MenuRow:
    """An entry as the admin list shows it, with what it points to."""

    item: MenuItem
    target_name: str  # the category's name or the page's title; "" for a link
    children: list[MenuRow] = field(default_factory=list)


@dataclass(frozen=True)
class MenuPage:
    rows: list[MenuRow]
    categories: list[Category]
    pages: list[Article]


def check_url(raw: str) -> str:
    """An http(s) address or a path on this site; anything else (javascript:, //host) is refused."""
    url = raw.strip()
    if len(url) > MAX_URL:
        raise Invalid("An address must be at most {limit} characters long.", limit=MAX_URL)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Invalid("An address may not contain spaces.")
    if not url:
        return url
    parts = urlsplit(url)
    if parts.scheme:
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise Invalid("A link must start with http://, https:// or /.")
    elif parts.netloc or url.startswith(("//", "\\")):
        raise Invalid("A link must start with http://, https:// or /.")
    return url


def menu_page(session: Session) -> MenuPage:
    """Every entry (top level, each with its children), and what an entry can point to."""
    categories = list(session.scalars(select(Category).order_by(Category.sort_order, Category.id)))
    pages = list(
        session.scalars(select(Article).where(Article.kind == "page").order_by(Article.title))
    )
    names = {("category", c.id): c.name for c in categories}
    names.update({("page", p.id): p.title for p in pages})
    items = session.scalars(select(MenuItem).order_by(MenuItem.sort_order, MenuItem.id)).all()

    def row(item: MenuItem, children: list[MenuRow]) -> MenuRow:
        return MenuRow(item, names.get((item.kind, item.target_id or 0), ""), children)

    rows = [
        row(top, [row(child, []) for child in items if child.parent_id == top.id])
        for top in items
        if top.parent_id is None
    ]
    return MenuPage(rows, categories, pages)


def _target(session: Session, form: MenuItemForm) -> tuple[int | None, str, str]:
    """(target_id, label, url) for the form's kind, checked."""
    label = " ".join(form.label.split())
    if len(label) > MAX_LABEL:
        raise Invalid("A label must be at most {limit} characters long.", limit=MAX_LABEL)
    if form.kind == "category":
        category_id = _parse(form.category_id, "Please choose a category.")
        if session.get(Category, category_id) is None:
            raise Invalid("Please choose a category.")
        return category_id, label, ""
    if form.kind == "page":
        page_id = _parse(form.page_id, "Please choose a page.")
        page = session.get(Article, page_id)
        if page is None or page.kind != "page":
            raise Invalid("Please choose a page.")
        return page_id, label, ""
    if not label:
        raise Invalid("A link needs a label.")
    return None, label, check_url(form.url)


def _parse(raw: str, problem: str) -> int:
    try:
        return parse_id(raw)
    except ValueError:
        raise Invalid(problem) from None


def _parent(session: Session, raw: str, item_id: int | None) -> int | None:
    """A top-level entry other than the item itself; an entry with children stays on top."""
    if not raw.strip():
        return None
    parent_id = _parse(raw, "Please choose a top-level entry to nest under.")
    parent = session.get(MenuItem, parent_id)
    if parent is None or parent.parent_id is not None or parent_id == item_id:
        raise Invalid("Please choose a top-level entry to nest under.")
    if item_id is not None and session.scalar(
        select(MenuItem.id).where(MenuItem.parent_id == item_id).limit(1)
    ):
        raise Invalid("An entry with entries under it stays at the top level.")
    return parent_id


def _next_order(session: Session, parent_id: int | None) -> int:
    siblings = select(func.max(MenuItem.sort_order)).where(
        MenuItem.parent_id.is_(None) if parent_id is None else MenuItem.parent_id == parent_id
    )
    highest = session.scalar(siblings)
    return 0 if highest is None else highest + 1


def create_item(session: Session, form: MenuItemForm) -> MenuItem:
    """Add an entry at the end of the top level or of its parent's entries."""
    if form.kind not in MENU_ITEM_KINDS:
        raise Invalid("Unknown kind of menu entry.")
    target_id, label, url = _target(session, form)
    parent_id = _parent(session, form.parent_id, None)
    item = MenuItem(
        kind=form.kind,
        target_id=target_id,
        label=label,
        url=url,
        parent_id=parent_id,
        sort_order=_next_order(session, parent_id),
    )
    session.add(item)
    session.commit()
    return item


def update_item(session: Session, item_id: int, form: MenuItemForm) -> MenuItem:
    """Change an entry's target, label, address or parent (its kind stays)."""
    item = _get(session, item_id)
    form.kind = item.kind
    target_id, label, url = _target(session, form)
    parent_id = _parent(session, form.parent_id, item_id)
    if parent_id != item.parent_id:
        item.sort_order = _next_order(session, parent_id)
    item.target_id, item.label, item.url, item.parent_id = target_id, label, url, parent_id
    session.commit()
    return item


def delete_item(session: Session, item_id: int) -> None:
    """Delete an entry; the entries under it move to the top level."""
    _get(session, item_id)
    _promote_children(session, item_id)
    session.execute(delete(MenuItem).where(MenuItem.id == item_id))
    session.commit()


def move_item(session: Session, item_id: int, direction: str) -> None:
    """Swap an entry with its neighbour above ("up") or below ("down") among its siblings."""
    item = _get(session, item_id)
    if direction not in ("up", "down"):
        raise NotFound("There is no such item.")
    siblings = list(
        session.scalars(
            select(MenuItem)
            .where(
                MenuItem.parent_id.is_(None)
                if item.parent_id is None
                else MenuItem.parent_id == item.parent_id
            )
            .order_by(MenuItem.sort_order, MenuItem.id)
        )
    )
    index = next(i for i, row in enumerate(siblings) if row.id == item_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(siblings):
        siblings[index], siblings[other] = siblings[other], siblings[index]
    for order, row in enumerate(siblings):
        row.sort_order = order
    session.commit()


def append_item(session: Session, kind: str, target_id: int) -> None:
    """Put a category or page at the end of the top level (not committed)."""
    session.add(
        MenuItem(
            kind=kind,
            target_id=target_id,
            label="",
            url="",
            parent_id=None,
            sort_order=_next_order(session, None),
        )
    )


def forget_target(session: Session, kind: str, target_id: int) -> None:
    """A deleted category or page leaves the menu (not committed)."""
    for item_id in session.scalars(
        select(MenuItem.id).where(MenuItem.kind == kind, MenuItem.target_id == target_id)
    ).all():
        _promote_children(session, item_id)
        session.execute(delete(MenuItem).where(MenuItem.id == item_id))


def _promote_children(session: Session, item_id: int) -> None:
    start = _next_order(session, None)
    children = session.scalars(
        select(MenuItem.id).where(MenuItem.parent_id == item_id).order_by(MenuItem.sort_order)
    ).all()
    for offset, child_id in enumerate(children):
        session.execute(
            update(MenuItem)
            .where(MenuItem.id == child_id)
            .values(parent_id=None, sort_order=start + offset)
        )


def _get(session: Session, item_id: int) -> MenuItem:
    item = session.get(MenuItem, item_id)
    if item is None:
        raise NotFound("There is no such item.")
    return item
