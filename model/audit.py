"""The audit log: who did what security-relevant thing, when, from where."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, utcnow


class AuditEvent(Base):
    """One event. No foreign key to users: the record outlives the account it names."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(default=None)
    username: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")  # the longest IPv6 text form
    instance: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[str] = mapped_column(String(255), default="")
