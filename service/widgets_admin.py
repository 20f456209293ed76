"""Sidebar widgets as the author manages them: the author's own HTML and the built-in kinds."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from model import Widget
from service.errors import Invalid, NotFound, message
from service.rendering import sanitize_html
from service.taxonomy import move_in_order

# Built-in widgets the reader's sidebar knows how to draw, with their default titles.
# The titles are shown translated in the admin and stored as the default widget title.
BUILTIN_KINDS = {
    "categories": message("Categories"),
    "tags": message("Tags"),
    "recent_articles": message("Recent articles"),
    "recent_comments": message("Recent comments"),
    "archives": message("Archives"),
    "stats": message("Statistics"),
}
MAX_TITLE = 100
MAX_CONTENT = 20_000


def list_widgets(session: Session) -> list[Widget]:
    return list(session.scalars(select(Widget).order_by(Widget.sort_order, Widget.id)))


def get_widget(session: Session, widget_id: int) -> Widget:
    widget = session.get(Widget, widget_id)
    if widget is None:
        raise NotFound("There is no such widget.")
    return widget


def _clean(title: str, content: str, kind: str) -> tuple[str, str]:
    title = " ".join((title or "").split())
    if not title:
        raise Invalid("Please give the widget a title.")
    if len(title) > MAX_TITLE:
        raise Invalid("A widget title must be at most {limit} characters long.", limit=MAX_TITLE)
    if kind != "html":
        return title, ""
    if len(content or "") > MAX_CONTENT:
        raise Invalid(
            "The widget's HTML must be at most {limit} characters long.", limit=MAX_CONTENT
        )
    # Scripts, event handlers and javascript: links are removed before anything is stored.
    return title, sanitize_html(content or "")


def create_widget(session: Session, kind: str, title: str, content: str = "") -> Widget:
    """Add a widget at the end of the sidebar: kind "html" or one of BUILTIN_KINDS."""
    if kind != "html" and kind not in BUILTIN_KINDS:
        raise Invalid("Unknown widget kind.")
    title, content = _clean(title or BUILTIN_KINDS.get(kind, ""), content, kind)
    order = (session.scalar(select(func.max(Widget.sort_order))) or 0) + 1
    widget = Widget(kind=kind, title=title, content=content, sort_order=order, enabled=True)
    session.add(widget)
    session.commit()
    return widget


def update_widget(
    session: Session, widget_id: int, title: str, content: str, enabled: bool
) -> Widget:
    widget = get_widget(session, widget_id)
    widget.title, widget.content = _clean(title, content, widget.kind)
    widget.enabled = enabled
    session.commit()
    return widget


def set_enabled(session: Session, widget_id: int, enabled: bool) -> Widget:
    widget = get_widget(session, widget_id)
    widget.enabled = enabled
    session.commit()
    return widget


def move_widget(session: Session, widget_id: int, direction: str) -> None:
    if direction not in ("up", "down"):
        raise NotFound("There is no such item.")
    move_in_order(session, Widget, widget_id, direction)


def delete_widget(session: Session, widget_id: int) -> None:
    get_widget(session, widget_id)
    session.execute(delete(Widget).where(Widget.id == widget_id))
    session.commit()
