"""Mail: the outgoing queue's table (used when no Redis is configured, extends/mailqueue.py)
and the commenters' reply subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, utcnow


class OutgoingMail(Base):
    """One message: queued → sending (claimed until ``available_at``) → sent, or failed.

    ``available_at`` is when the message may be claimed: its due time while queued, the end
    of its claim while sending (a sender that died lets it go again then).
    """

    __tablename__ = "outgoing_mail"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    available_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sender: Mapped[str] = mapped_column(String(255))
    recipients: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str] = mapped_column(String(255))
    raw: Mapped[str] = mapped_column(Text)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)


class ReplySubscription(Base):
    """A commenter who asked for email when their comment gets a reply (double opt-in:
    nothing is sent but the confirmation until ``confirmed``). ``token`` confirms it and
    unsubscribes."""

    __tablename__ = "reply_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(255), index=True)
    language: Mapped[str] = mapped_column(String(10), default="")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DigestItem(Base):
    """A notice held back by the per-recipient limit, waiting to go out in one digest with
    the others for the same address once the limit's window closes (``due_at``)."""

    __tablename__ = "mail_digest_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    language: Mapped[str] = mapped_column(String(10), default="")
    kind: Mapped[str] = mapped_column(String(16))
    unsubscribe_token: Mapped[str] = mapped_column(String(120))
    base_url: Mapped[str] = mapped_column(String(255))
    site_name: Mapped[str] = mapped_column(String(255))
    article_title: Mapped[str] = mapped_column(String(255))
    article_url: Mapped[str] = mapped_column(String(500))
    floor: Mapped[int] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(64))
    excerpt: Mapped[str] = mapped_column(Text)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
