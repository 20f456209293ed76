"""Recording audit events from a handler: who (the signed-in user), from where, on which
instance. An audit failure is logged and never breaks the request it describes."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from service import audit

if TYPE_CHECKING:
    from controller.base import BaseHandler

log = logging.getLogger("blog.audit")


async def record_event(
    handler: BaseHandler, kind: str, detail: str = "", *, username: str = ""
) -> None:
    """Store an event for this request (in the executor, like every database write).

    The user is the signed-in one; ``username`` names the account a visitor who is not
    signed in tried (a failed or throttled sign-in).
    """
    user = handler.current_user
    try:
        await handler.application.run_service(
            audit.record,
            kind,
            user_id=user.id if user else None,
            username=user.username if user else username,
            ip=handler.request.remote_ip or "",
            instance=handler.application.config.instance_id,
            detail=detail,
        )
    except Exception:
        # The event is already in the log (audit.record writes it first) unless it never
        # reached the executor; either way the page the visitor asked for goes on.
        log.exception("could not store the audit event %s", kind)


def changed_fields(before: object, after: object, names: Iterable[str]) -> str:
    """The names of the attributes that differ, for an event's detail ("title, language")."""
    return ", ".join(name for name in names if getattr(before, name) != getattr(after, name))
