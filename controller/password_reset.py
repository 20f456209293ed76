"""Password reset by email: ask for a link, follow it, choose a new password.

The request page answers the same whether or not the address belongs to an account: the
lookup, the message and the audit record happen after the answer, in the background.
Requests are throttled per address and per client address, across instances.
"""

from __future__ import annotations

import logging
import math

from controller.audit_log import record_event
from controller.base import BaseHandler, PageError, user_scope
from controller.mail_content import render_mail
from extends.errors import Unavailable
from extends.mailer import InvalidAddress, normalize_address
from extends.ratelimit import Rule
from service import password_reset, passwords
from service.errors import ServiceError
from service.password_reset import DEAD_LINK, RESET_SECONDS, ResetLink

log = logging.getLogger("blog.auth")

MAX_EMAIL = 255
# Links asked for one address, and from one client address, per hour.
PER_ADDRESS = Rule(limit=3, window=3600)
PER_CLIENT = Rule(limit=10, window=3600)


class ResetRequestHandler(BaseHandler):
    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.render("auth/reset_request.html", address="", error=None)

    async def post(self) -> None:
        self.set_header("Cache-Control", "no-store")
        address = self.get_argument("email", "").strip()[:MAX_EMAIL]
        try:
            normalized = normalize_address(address)
        except InvalidAddress:
            self.set_status(400)
            error = self._("Please enter a valid email address.")
            self.render("auth/reset_request.html", address=address, error=error)
            return
        attempt = await self.application.reset_limit.reserve(
            {
                "address:" + normalized.lower(): PER_ADDRESS,
                "client:" + (self.request.remote_ip or ""): PER_CLIENT,
            }
        )
        if attempt.wait:
            minutes = max(1, math.ceil(attempt.wait / 60))
            self.set_status(429)
            self.set_header("Retry-After", str(attempt.wait))
            error = self._(
                "Too many requests. Please wait %(minutes)d minute before asking again.",
                "Too many requests. Please wait %(minutes)d minutes before asking again.",
                minutes,
            ) % {"minutes": minutes}
            self.render("auth/reset_request.html", address=address, error=error)
            return
        # The same answer, at once, for every address: the work happens after it.
        self.application.spawn(self._send_links(normalized))
        self.render("auth/reset_sent.html")

    async def _send_links(self, address: str) -> None:
        app = self.application
        try:
            links = await app.run_service(
                password_reset.request_reset,
                address,
                password_reset.reset_key(app.config.cookie_secret),
                app.clock.time(),
            )
            for link in links:
                await self._send_link(link)
        except (Unavailable, ServiceError, InvalidAddress) as exc:
            log.error("password reset mail for a requested address not queued: %s", exc)

    async def _send_link(self, link: ResetLink) -> None:
        url = f"{self.public_base_url()}/auth/reset/{link.token}"
        site_name = self.site.title
        content = render_mail(
            "password_reset",
            self._("Choose a new password for %(site)s") % {"site": site_name},
            self.locale,
            name=link.display_name or link.username,
            username=link.username,
            site_name=site_name,
            link=url,
            minutes=RESET_SECONDS // 60,
        )
        await self.application.mailer.send(content, link.email, site_name)
        await record_event(self, "password_reset_requested", username=link.username)


class ResetPasswordHandler(BaseHandler):
    def set_default_headers(self) -> None:
        super().set_default_headers()
        # The token is in the URL: never send it onwards, never keep the page.
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def _key(self) -> bytes:
        return password_reset.reset_key(self.application.config.cookie_secret)

    async def get(self, token: str) -> None:
        user = await self.run(
            password_reset.user_for_token, token, self._key(), self.application.clock.time()
        )
        self._render_form(user.username)

    async def post(self, token: str) -> None:
        self.require_session_store()
        try:
            user = await self.application.run_service(
                password_reset.reset_password,
                token,
                self._key(),
                self.application.clock.time(),
                self.get_argument("new_password", ""),
                self.get_argument("confirm_password", ""),
            )
        except ServiceError as exc:
            if exc.message == DEAD_LINK or exc.status_code != 400:
                raise PageError(exc.status_code, self.service_message(exc)) from exc
            username = await self.run(
                password_reset.user_for_token, token, self._key(), self.application.clock.time()
            )
            hints = exc.hints if isinstance(exc, passwords.WeakPassword) else []
            self.set_status(400)
            self._render_form(
                username.username, self.service_message(exc), [self._(h) for h in hints]
            )
            return
        await record_event(self, "password_reset", username=user.username)
        # The old password's sessions end on every instance (their cached state goes).
        await self.invalidate(user_scope(user.id))
        if self.current_user:
            await self.sign_out()
        self.flash(self._("Your password is changed. Please sign in with it."), "success")
        await self.redirect_to("/auth/login")

    def _render_form(
        self, username: str, error: str | None = None, hints: list[str] | None = None
    ) -> None:
        self.render(
            "auth/reset_password.html",
            username=username,
            error=error,
            password_minimum=passwords.MIN_PASSWORD_LENGTH,
            password_hints=hints or [],
        )


routes = [
    (r"/auth/reset", ResetRequestHandler),
    (r"/auth/reset/([A-Za-z0-9_.\-]{1,200})", ResetPasswordHandler),
]
