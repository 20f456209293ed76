"""Who gets email about comments, and the tokens that confirm and unsubscribe.

* A comment waiting for moderation → every author who asked for it on /admin/account.
* A reply → the commenter answered, if they ticked "email me replies" and confirmed it from
  the message that followed (double opt-in).
* An article submitted for review → every editor and administrator who asked for it.

Each notice carries its unsubscribe token: ``s-<random>`` for a reply subscription (stored),
``a<user id>-<HMAC>`` for an author, ``r<user id>-<HMAC>`` for review notices (nothing
stored; keyed from the cookie secret).

Past the per-recipient limit, notices wait in ``mail_digest_items`` and go out together, one
digest per address (and kind of token), once the limit's window closes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from model import Article, Comment, DigestItem, ReplySubscription, User
from service import roles
from service.articles import article_path

EXCERPT = 300
MAX_TOKEN = 120


@dataclass(frozen=True)
class Notice:
    """One message to send: to whom, in which language, about which comment."""

    kind: str  # "confirm", "reply", "moderation" or "review"
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


def _author_token(key: bytes, user_id: int, prefix: str = "a") -> str:
    # "a": comments waiting for moderation; "r": articles waiting for review.
    purpose = "unsubscribe" if prefix == "a" else "unsubscribe " + prefix
    digest = hmac.new(key, f"{purpose}\x00{user_id}".encode(), hashlib.sha256).digest()
    return f"{prefix}{user_id}-" + base64.urlsafe_b64encode(digest[:18]).decode()


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
        _drop_held(session, email, "s")
        session.commit()
        return True
    user_part = token[1:].split("-", 1)[0]
    if token[:1] not in ("a", "r") or not user_part.isdigit() or len(user_part) > 9:
        return False
    user_id = int(user_part)
    if not hmac.compare_digest(token, _author_token(key, user_id, token[0])):
        return False
    if token.startswith("r"):
        session.execute(update(User).where(User.id == user_id).values(notify_reviews=False))
        session.commit()
        return True
    session.execute(update(User).where(User.id == user_id).values(notify_comments=False))
    address = session.scalar(select(User.email).where(User.id == user_id))
    if address:
        _drop_held(session, address, "a")
    session.commit()
    return True


def _drop_held(session: Session, email: str, token_kind: str) -> None:
    # Unsubscribed: the notices waiting for a digest are not sent either.
    session.execute(
        delete(DigestItem).where(
            func.lower(DigestItem.email) == email.lower(),
            DigestItem.unsubscribe_token.startswith(token_kind),
        )
    )


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


def review_notices(
    session: Session, article_id: int, submitter_id: int, key: bytes
) -> list[Notice]:
    """An article was submitted for review: a notice for every editor and administrator who
    wants them (never the submitter). ``article_url`` is the editor's page."""
    article = session.get(Article, article_id)
    if article is None or article.status != "pending":
        return []
    submitter = session.get(User, submitter_id)
    wanted = session.scalars(
        select(User).where(
            User.notify_reviews.is_(True),
            User.email != "",
            User.disabled.is_(False),
            User.role.in_((roles.ADMINISTRATOR, roles.EDITOR)),
            User.id != submitter_id,
        )
    ).all()
    excerpt = (article.summary or article.content).strip()[:EXCERPT]
    return [
        Notice(
            kind="review", email=user.email, language=user.notify_language,
            unsubscribe_token=_author_token(key, user.id, "r"), article_title=article.title,
            article_url=f"/admin/articles/{article.id}/edit", floor=0,
            author_name=submitter.shown_name if submitter else "", excerpt=excerpt,
        )
        for user in wanted
    ]  # fmt: skip


def article_status(session: Session, article_id: int) -> str | None:
    """An article's status now (None when there is none): was it pending already?"""
    return session.scalar(select(Article.status).where(Article.id == article_id))


def set_review_notifications(session: Session, user_id: int, wanted: bool, language: str) -> None:
    """An editor's choice of email about articles submitted for review, and its language."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(notify_reviews=wanted, notify_language=language[:10])
    )
    session.commit()


def set_comment_notifications(session: Session, user_id: int, wanted: bool, language: str) -> None:
    """An author's choice of email about comments waiting for moderation, and its language."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(notify_comments=wanted, notify_language=language[:10])
    )
    session.commit()


# --- digests: the notices held back by the per-recipient limit ------------------------------

DIGEST_KINDS = ("reply", "moderation")
MAX_DIGEST_ITEMS = 200


@dataclass(frozen=True)
class Digest:
    """Notices for one address sent as one message: ``items`` oldest first."""

    email: str
    language: str
    unsubscribe_token: str
    base_url: str
    site_name: str
    items: list[Notice]
    item_ids: list[int]


def hold_for_digest(
    session: Session, notice: Notice, base_url: str, site_name: str, due_at: dt.datetime
) -> None:
    """Keep a notice for the recipient's next digest, sent from ``due_at`` on."""
    session.add(
        DigestItem(
            email=notice.email[:255],
            language=notice.language[:10],
            kind=notice.kind,
            unsubscribe_token=notice.unsubscribe_token[:MAX_TOKEN],
            base_url=base_url[:255],
            site_name=site_name[:255],
            article_title=notice.article_title[:255],
            article_url=notice.article_url[:500],
            floor=notice.floor,
            author_name=notice.author_name[:64],
            excerpt=notice.excerpt,
            due_at=due_at,
        )
    )
    session.commit()


def _digest_key(item: DigestItem) -> tuple[str, str]:
    # A reply subscription's token and an author's token stop different mail: one digest each.
    return item.email.lower(), item.unsubscribe_token[:1]


def due_digests(session: Session, now: dt.datetime) -> list[Digest]:
    """The digests whose first notice is due by ``now`` (each holds every waiting notice
    for its address, at most ``MAX_DIGEST_ITEMS``); forget them with ``forget_digest_items``
    once queued."""
    due = set(session.scalars(select(func.lower(DigestItem.email)).where(DigestItem.due_at <= now)))
    if not due:
        return []
    rows = session.scalars(
        select(DigestItem).where(func.lower(DigestItem.email).in_(due)).order_by(DigestItem.id)
    ).all()
    groups: dict[tuple[str, str], list[DigestItem]] = {}
    for row in rows:
        groups.setdefault(_digest_key(row), []).append(row)
    digests = []
    for items in groups.values():
        if min(item.due_at for item in items) > now:
            continue
        items = items[:MAX_DIGEST_ITEMS]
        newest = items[-1]
        digests.append(
            Digest(
                email=newest.email,
                language=newest.language,
                unsubscribe_token=newest.unsubscribe_token,
                base_url=newest.base_url,
                site_name=newest.site_name,
                items=[
                    Notice(
                        kind=item.kind,
                        email=item.email,
                        language=item.language,
                        unsubscribe_token=item.unsubscribe_token,
                        article_title=item.article_title,
                        article_url=item.article_url,
                        floor=item.floor,
                        author_name=item.author_name,
                        excerpt=item.excerpt,
                    )
                    for item in items
                ],
                item_ids=[item.id for item in items],
            )
        )
    return digests


def forget_digest_items(session: Session, item_ids: list[int]) -> None:
    """A digest is queued: its notices are done."""
    if item_ids:
        session.execute(delete(DigestItem).where(DigestItem.id.in_(item_ids)))
        session.commit()
