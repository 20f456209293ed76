"""The outbox: what the mail queue holds, what was sent lately, what failed and why."""

from __future__ import annotations

import re

from controller.admin.base import AdminHandler
from controller.base import PageError

# Message ids are 32 hex digits (extends/mailqueue.py).
MAIL_ID = re.compile(r"^[0-9a-f]{32}$")


class OutboxHandler(AdminHandler):
    async def get(self) -> None:
        outbox = await self.application.mailer.queue.outbox()
        self.render(
            "admin/mail.html",
            admin_section="mail",
            outbox=outbox,
            transport=str(self.application.mailer.delivery.transport),
            now=self.application.clock.time(),
        )


class RetryHandler(AdminHandler):
    async def post(self, mail_id: str) -> None:
        if not MAIL_ID.match(mail_id):
            raise PageError(404, self._("There is no such message."))
        if not await self.application.mailer.queue.retry(mail_id):
            raise PageError(409, self._("Only a failed message can be retried."))
        self.application.mailer.delivery.wake()
        await self.done(self._("The message is queued again."), "/admin/mail")


routes = [
    (r"/admin/mail", OutboxHandler),
    (r"/admin/mail/([^/]+)/retry", RetryHandler),
]
