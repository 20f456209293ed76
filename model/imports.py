"""What an import brought in (so a re-import updates instead of duplicating) and the old
URLs of the site it came from (answered with 301)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, utcnow

# What an imported row is in Inkwell; target_id is the id in that kind's table.
IMPORTED_KINDS = ("article", "comment", "category", "tag", "user", "media")


class ImportedItem(Base):
    """One item of a WordPress, Ghost or other source and the Inkwell row it became."""

    __tablename__ = "imported_items"
    __table_args__ = (UniqueConstraint("source", "kind", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The source site ("wxr:https://old.example.com", "ghost:<site uuid or url>").
    source: Mapped[str] = mapped_column(String(191))
    kind: Mapped[str] = mapped_column(String(16))
    # The item's identity there: a WXR post id or guid, a Ghost id.
    source_key: Mapped[str] = mapped_column(String(191))
    target_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Redirect(Base):
    """An old URL (path, with ``?p=`` style query when it had one) and where it lives now."""

    __tablename__ = "redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(500), unique=True)
    target: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImportJob(Base):
    """An import started from the admin page, running in the background; its progress is
    in the database so whichever instance serves the progress page can show it."""

    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|done|failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
