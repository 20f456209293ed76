"""The people who sign in, and the recovery codes of their two-step verification."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Two-step verification: the TOTP secret (base32) once enabled, None otherwise.
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64), default=None)
    # The last time step whose code was accepted: that code and older ones are refused.
    totp_last_step: Mapped[Optional[int]] = mapped_column(Integer, default=None)
    # Email about comments waiting for moderation, in the language chosen when asked for.
    notify_comments: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    notify_language: Mapped[str] = mapped_column(String(10), default="", server_default="")
    # Editors and administrators: email when a contributor submits an article for review.
    notify_reviews: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # administrator, editor, author or contributor (service.roles).
    role: Mapped[str] = mapped_column(
        String(16), default="administrator", server_default="administrator"
    )
    # A disabled account cannot sign in, and its sessions end on their next request.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A few words about the author, shown on their page (/author/<username>).
    bio: Mapped[Optional[str]] = mapped_column(Text, default=None)
    # An uploaded avatar (a file in the media store, service.avatars); None: the identicon.
    avatar: Mapped[Optional[str]] = mapped_column(String(64), default=None)

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None


class RecoveryCode(Base):
    """One single-use recovery code of a user, stored as a keyed digest; deleted when used."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Invitation(Base):
    """An emailed invitation to join with a role: its link is signed (service.invitations),
    valid until ``expires_at`` and used once (``accepted_at``)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    accepted_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)
