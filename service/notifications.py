"""Who gets email about comments, and the tokens that confirm and unsubscribe.

* A comment waiting for moderation → every author who asked for it on /admin/account.
* A reply → the commenter answered, if they ticked "email me replies" and confirmed it from
  the message that followed (double opt-in).

Each notice carries its unsubscribe token: ``s-<random>`` for a reply subscription (stored),
``a<user id>-<HMAC>`` for an author (nothing stored; keyed from the cookie secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from model import Article, Comment, ReplySubscription, User
from service.articles import article_path

EXCERPT = 300
MAX_TOKEN = 120


@dataclass(frozen=True)
class Notice:
    """One message to send: to whom, in which language, about which comment."""

    kind: str  # "confirm", "reply" or "moderation"
    email: str
    language: str
    unsubscribe_token: str
    article_title: str
    article_url: str
    floor: int
    author_name: str
    excerpt: str
    confirm_token: str = ""


def notify_key(cookie_secret: str) -> bytes:
    """The MAC key of authors' unsubscribe links (derived, never the secret itself)."""
    return hashlib.sha256(b"inkwell notifications\x00" + cookie_secret.encode()).digest()


def _author_token(key: bytes, user_id: int) -> str:
    digest = hmac.new(key, f"unsubscribe\x00{user_id}".encode(), hashlib.sha256).digest()
    return f"a{user_id}-" + base64.urlsafe_b64encode(digest[:18]).decode()


def _notice(
    kind: str, comment: Comment, article: Article, email: str, language: str, token: str
) -> Notice:
    return Notice(
        kind=kind,
        email=email,
        language=language,
        unsubscribe_token=token,
        article_title=article.title,
        article_url=article_path(article.id, article.slug) + f"#floor-{comment.floor}",
        floor=comment.floor,
        author_name=comment.author_name,
        excerpt=comment.content[:EXCERPT],
    )


def subscribe_replies(session: Session, comment_id: int, email: str, language: str) -> Notice:
    """Remember that the commenter wants replies once confirmed; the confirmation to send."""
    row = session.execute(
        select(Comment, Article)
        .join(Article, Article.id == Comment.article_id)
        .where(Comment.id == comment_id)
    ).one()
    comment, article = row
    token = "s-" + secrets.token_urlsafe(24)
    session.add(
        ReplySubscription(
            comment_id=comment_id, email=email, language=language, token=token, confirmed=False
        )
    )
    session.commit()
    notice = _notice("confirm", comment, article, email, language, token)
    return Notice(**{**notice.__dict__, "confirm_token": token})


def confirm_subscription(session: Session, token: str) -> bool:
    """Confirm the subscription with this token; False when there is none."""
    if not token.startswith("s-") or len(token) > MAX_TOKEN:
        return False
    result = session.execute(
        update(ReplySubscription).where(ReplySubscription.token == token).values(confirmed=True)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def unsubscribe(session: Session, token: str, key: bytes) -> bool:
    """Stop the mail this token names: every reply subscription of that address, or an
    author's moderation notices. False when the token means nothing."""
    if len(token) > MAX_TOKEN:
        return False
    if token.startswith("s-"):
        email = session.scalar(
            select(ReplySubscription.email).where(ReplySubscription.token == token)
        )
        if email is None:
            return False
        session.execute(
            delete(ReplySubscription).where(func.lower(ReplySubscription.email) == email.lower())
        )
        session.commit()
        return True
    user_part = token[1:].split("-", 1)[0]
    if not token.startswith("a") or not user_part.isdigit() or len(user_part) > 9:
        return False
    user_id = int(user_part)
    if not hmac.compare_digest(token, _author_token(key, user_id)):
        return False
    session.execute(update(User).where(User.id == user_id).values(notify_comments=False))
    session.commit()
    return True


def pending_among(session: Session, comment_ids: list[int]) -> list[int]:
    """The ids among ``comment_ids`` still waiting for moderation."""
    if not comment_ids:
        return []
    return list(
        session.scalars(
            select(Comment.id).where(Comment.id.in_(comment_ids), Comment.status == "pending")
        )
    )


def latest_reply(session: Session, parent_id: int) -> list[int]:
    """The id of the newest comment answering ``parent_id`` (empty when there is none)."""
    newest = session.scalar(select(func.max(Comment.id)).where(Comment.reply_to_id == parent_id))
    return [newest] if newest is not None else []


def reply_notices(session: Session, comment_ids: list[int]) -> list[Notice]:
    """For each visible reply among ``comment_ids``: the confirmed subscribers of the comment
    it answers (never the replier themself)."""
    if not comment_ids:
        return []
    rows = session.execute(
        select(Comment, Article, ReplySubscription)
        .join(Article, Article.id == Comment.article_id)
        .join(ReplySubscription, ReplySubscription.comment_id == Comment.reply_to_id)
        .where(
            Comment.id.in_(comment_ids),
            Comment.status == "visible",
            ReplySubscription.confirmed.is_(True),
        )
        .order_by(Comment.id, ReplySubscription.id)
    ).all()
    notices, seen = [], set()
    for comment, article, subscription in rows:
        address = subscription.email.lower()
        if address == (comment.author_email or "").lower() or (comment.id, address) in seen:
            continue
        seen.add((comment.id, address))
        notices.append(
            _notice(
                "reply", comment, article, subscription.email, subscription.language,
                subscription.token,
            )
        )  # fmt: skip
    return notices


def moderation_notices(session: Session, comment_id: int, key: bytes) -> list[Notice]:
    """A comment waits for moderation: a notice for every author who wants them."""
    row = session.execute(
        select(Comment, Article)
        .join(Article, Article.id == Comment.article_id)
        .where(Comment.id == comment_id, Comment.status == "pending")
    ).one_or_none()
    if row is None:
        return []
    comment, article = row
    wanted = session.scalars(
        select(User).where(User.notify_comments.is_(True), User.email != "")
    ).all()
    return [
        _notice(
            "moderation", comment, article, user.email, user.notify_language,
            _author_token(key, user.id),
        )
        for user in wanted
    ]  # fmt: skip


def set_comment_notifications(session: Session, user_id: int, wanted: bool, language: str) -> None:
    """An author's choice of email about comments waiting for moderation, and its language."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(notify_comments=wanted, notify_language=language[:10])
    )
    session.commit()
