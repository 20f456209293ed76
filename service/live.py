"""What live updates show: newly visible comments, and the count waiting for moderation."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import Comment
from service.comments import CommentView, visible_comments


def live_comments(
    session: Session, article_id: int, comment_ids: list[int], newest: bool = False
) -> list[CommentView]:
    """The visible ones among ``comment_ids`` on the article (and its newest visible comment
    when ``newest``), by floor, built exactly as the article page builds them."""
    thread = visible_comments(session, article_id)
    wanted = set(comment_ids)
    if newest and thread:
        wanted.add(thread[-1].id)
    return [comment for comment in thread if comment.id in wanted]


def pending_comment_count(session: Session) -> int:
    """How many comments wait for moderation."""
    return session.scalar(select(func.count()).where(Comment.status == "pending")) or 0
