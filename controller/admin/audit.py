"""The audit log page: administrators only, newest first, filtered by kind."""

from __future__ import annotations

from controller.admin.base import AdminHandler, pager_base
from controller.base import CurrentUser, PageError
from service import audit


def may_read_audit_log(user: CurrentUser) -> bool:
    """The one check for who reads the audit log: administrators. Every user is one until
    roles arrive; then this asks for the role."""
    return user is not None


class AuditLogHandler(AdminHandler):
    async def prepare(self) -> None:
        await super().prepare()
        if self._finished:
            return
        if not may_read_audit_log(self.user):
            raise PageError(403, self._("Only administrators may read the audit log."))

    async def get(self) -> None:
        kind = self.get_argument("kind", "")
        listing = await self.run(audit.list_events, self.get_int_argument("page", 1), kind)
        self.render(
            "admin/audit.html",
            admin_section="audit",
            listing=listing,
            kinds=audit.KINDS,
            pager_base=pager_base("/admin/audit", kind=listing.kind),
        )


routes = [(r"/admin/audit", AuditLogHandler)]
