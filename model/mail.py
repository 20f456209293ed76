"""The outgoing mail queue's table, used when no Redis is configured (extends/mailqueue.py)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import DateTime, Integer, String, Text
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
