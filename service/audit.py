"""The audit log: security-relevant events, stored and written to the `blog.audit` log."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import AuditEvent
from model.pager import Pager
from service.errors import NotFound, message

log = logging.getLogger("blog.audit")

PAGE_SIZE = 50

# Every kind of event, with its label (a message template the page translates).
KINDS = {
    "sign_in": message("Signed in"),
    "sign_in_failed": message("Failed sign-in"),
    "sign_in_locked": message("Sign-in refused after too many attempts"),
    "password_changed": message("Password changed"),
    "password_reset_requested": message("Password reset link sent"),
    "password_reset": message("Password reset through an emailed link"),
    "two_factor_changed": message("Two-factor sign-in changed"),
    "role_changed": message("Role changed"),
    "user_invited": message("User invited"),
    "invitation_accepted": message("Invitation accepted"),
    "user_disabled": message("User disabled"),
    "user_enabled": message("User enabled"),
    "user_deleted": message("User deleted"),
    "settings_changed": message("Settings changed"),
    "import_run": message("Site imported"),
    "export_downloaded": message("Export downloaded"),
}

# Control characters would let a typed user name forge a second log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(value: str | None, limit: int) -> str:
    return _CONTROL.sub("?", value or "")[:limit]


def record(
    session: Session,
    kind: str,
    *,
    user_id: int | None,
    username: str,
    ip: str,
    instance: str,
    detail: str = "",
) -> AuditEvent:
    """Store one event and write it to the log as one line (the log first: a database
    that refuses the row still leaves the event in the log)."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit event kind {kind!r}")
    event = AuditEvent(
        kind=kind,
        user_id=user_id,
        username=_clean(username, 64),
        ip=_clean(ip, 45),
        instance=_clean(instance, 100),
        detail=_clean(detail, 255),
    )
    log.info(
        "%s user=%s:%s ip=%s instance=%s detail=%s",
        kind,
        user_id if user_id is not None else "-",
        event.username or "-",
        event.ip or "-",
        event.instance or "-",
        event.detail or "-",
    )
    session.add(event)
    session.commit()
    return event


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    pager: Pager
    kind: str  # the filter in force, "" for every kind


def list_events(session: Session, page: int = 1, kind: str = "") -> AuditPage:
    """Events newest first, PAGE_SIZE a page, optionally of one kind only."""
    kind = kind if kind in KINDS else ""
    conditions = [AuditEvent.kind == kind] if kind else []
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    pager = Pager(page=max(1, page), per_page=PAGE_SIZE, total=total)
    if pager.page > pager.pages:
        raise NotFound("There is no such page.")
    events = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset(pager.offset)
        .limit(pager.per_page)
    ).all()
    return AuditPage(list(events), pager, kind)
