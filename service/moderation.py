"""Comment moderation: list with filters, approve / hide / spam / delete, reply as the author."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from model import Article, Comment, User
from model.blog import COMMENT_STATUSES
from model.pager import Pager
from service import comments
from service.errors import Invalid, NotFound

PAGE_SIZE = 30

# Moderation actions and the status each one sets (delete removes the row).
ACTIONS = {"approve": "visible", "hide": "hidden", "spam": "spam", "delete": None}


@dataclass(frozen=True)
class CommentFilter:
    status: str = ""
    article_id: int | None = None
    page: int = 1


@dataclass(frozen=True)
class CommentRow:
    comment: Comment
    article_title: str


@dataclass(frozen=True)
class CommentPage:
    rows: list[CommentRow]
    pager: Pager
    counts: dict[str, int]
    article_title: str | None


def list_comments(session: Session, filters: CommentFilter) -> CommentPage:
    """Comments newest first, with their article's title and the count per status."""
    conditions = []
    if filters.status in COMMENT_STATUSES:
        conditions.append(Comment.status == filters.status)
    if filters.article_id is not None:
        conditions.append(Comment.article_id == filters.article_id)
    total = session.scalar(select(func.count()).select_from(Comment).where(*conditions)) or 0
    pager = Pager(page=max(1, filters.page), per_page=PAGE_SIZE, total=total)
    if pager.page > pager.pages:
        raise NotFound("There is no such page.")
    rows = session.execute(
        select(Comment, Article.title)
        .join(Article, Article.id == Comment.article_id)
        .where(*conditions)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .offset(pager.offset)
        .limit(pager.per_page)
    ).all()
    counts = dict(
        session.execute(select(Comment.status, func.count()).group_by(Comment.status)).all()
    )
    article_title = None
    if filters.article_id is not None:
        article_title = session.scalar(
            select(Article.title).where(Article.id == filters.article_id)
        )
    return CommentPage(
        [CommentRow(comment, title) for comment, title in rows],
        pager,
        {status: counts.get(status, 0) for status in COMMENT_STATUSES},
        article_title,
    )


def refresh_comment_count(session: Session, article_id: int) -> None:
    """Keep the article's cached count equal to its visible comments."""
    visible = (
        select(func.count())
        .select_from(Comment)
        .where(Comment.article_id == article_id, Comment.status == "visible")
        .scalar_subquery()
    )
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(comment_count=visible, updated_at=Article.updated_at)
    )


def moderate(session: Session, comment_ids: list[int], action: str) -> list[int]:
    """Apply one action to several comments; returns the ids of the articles touched."""
    if action not in ACTIONS:
        raise Invalid("Unknown action.")
    if not comment_ids:
        raise Invalid("Please select at least one comment.")
    article_ids = sorted(
        set(session.scalars(select(Comment.article_id).where(Comment.id.in_(comment_ids))))
    )
    if not article_ids:
        raise NotFound("There is no such comment.")
    status = ACTIONS[action]
    if status is None:
        session.execute(delete(Comment).where(Comment.id.in_(comment_ids)))
    else:
        session.execute(update(Comment).where(Comment.id.in_(comment_ids)).values(status=status))
    for article_id in article_ids:
        refresh_comment_count(session, article_id)
    session.commit()
    return article_ids


def reply_as_author(session: Session, comment_id: int, user_id: int, content: str) -> int:
    """The author answers a comment: a visible comment on the next floor, marked as the author's.

    Replying to a comment that waits for approval approves it (the author has read it).
    The floor is taken by the readers' own floor-safe ``post_comment``. Returns the article id.
    """
    parent = session.get(Comment, comment_id)
    if parent is None:
        raise NotFound("There is no such comment.")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    if parent.status in ("hidden", "spam"):
        raise Invalid("Approve the comment before replying to it.")
    if parent.status == "pending":
        parent.status = "visible"
        refresh_comment_count(session, parent.article_id)
        session.commit()
    form = comments.CommentForm(
        author_name=user.shown_name[:64],
        author_email=user.email,
        content=content,
        reply_to=parent.id,
    )
    article_id = parent.article_id
    comments.post_comment(session, article_id, form, "open", True, "")
    return article_id
