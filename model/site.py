"""Site-wide state: settings, sidebar widgets, daily statistics, uploaded media."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, utcnow

COMMENT_MODES = ("open", "moderated", "closed")
NAVBAR_STYLES = ("light", "dark")


class SiteSetting(Base):
    """The one row (id 1) of site settings."""

    __tablename__ = "site_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), default="Inkwell")
    signature: Mapped[str] = mapped_column(String(255), default="")
    navbar_style: Mapped[str] = mapped_column(String(16), default="light")
    footer: Mapped[str] = mapped_column(Text, default="")
    posts_per_page: Mapped[int] = mapped_column(Integer, default=10)
    comment_mode: Mapped[str] = mapped_column(String(16), default="open")
    # "auto" follows the visitor's Accept-Language.
    language: Mapped[str] = mapped_column(String(16), default="auto")
    # Every user must set up two-step verification before using the admin pages.
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Look, feel and time (issue 11, "writing"): see service.timezones and service.appearance.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    accent_color: Mapped[str] = mapped_column(String(7), default="", server_default="")
    logo_url: Mapped[str] = mapped_column(String(255), default="", server_default="")
    custom_css: Mapped[str] = mapped_column(Text, default="")
    # Trusted code from an administrator, put raw into reader pages (analytics snippets).
    header_code: Mapped[str] = mapped_column(Text, default="")
    footer_code: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Widget(Base):
    """A sidebar block: the admin's own HTML (kind "html") or a built-in (kind names it)."""

    __tablename__ = "widgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32), default="html")
    content: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class DailyStat(Base):
    __tablename__ = "daily_stats"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    pv: Mapped[int] = mapped_column(Integer, default=0)
    uv: Mapped[int] = mapped_column(Integer, default=0)


class Media(Base):
    """An uploaded file, stored under the media directory by its random name."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Pixels of the stored original; None until measured (rows older than the variants).
    width: Mapped[Optional[int]] = mapped_column(Integer, default=None)
    height: Mapped[Optional[int]] = mapped_column(Integer, default=None)
    # Widths of the resized copies stored beside the original ("480,960"), in its format
    # and as WebP (the WebP list may also hold the original's own width).
    variant_widths: Mapped[str] = mapped_column(String(64), default="")
    webp_widths: Mapped[str] = mapped_column(String(64), default="")
    alt_text: Mapped[str] = mapped_column(String(255), default="")
    caption: Mapped[str] = mapped_column(String(500), default="")
    # Who uploaded it (an author may edit the details of their own uploads); None: unknown.
    uploaded_by: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class CounterFlush(Base):
    """A batch of traffic counts the database has applied: a retried batch is not added twice."""

    __tablename__ = "counter_flushes"

    batch: Mapped[str] = mapped_column(String(64), primary_key=True)
    flushed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
