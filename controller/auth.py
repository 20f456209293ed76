"""Signing in with a password, signing out, and the sign-in throttle."""

from __future__ import annotations

import logging
import math

from controller.audit_log import record_event
from controller.base import BaseHandler
from controller.devices import device_nonce
from controller.twofactor import complete_password_sign_in
from extends.throttle import account_key
from service import users

log = logging.getLogger("blog.auth")

MAX_USERNAME = 64
MAX_PASSWORD = 1024


def notify_sign_in_ceiling(user_id: int) -> None:
    """Tell the owner that their account is under attack (for now a log line only)."""
    log.warning("sign-in ceiling reached for user %d", user_id)


class LoginHandler(BaseHandler):
    async def get(self) -> None:
        next_url = self.safe_next(self.get_argument("next", None), "/admin")
        if self.current_user:
            self.redirect(next_url)
            return
        self.set_header("Cache-Control", "no-store")
        self.render("auth/login.html", next_url=next_url, username="", error=None)

    async def post(self) -> None:
        self.require_session_store()
        username = self.get_argument("username", "").strip()[:MAX_USERNAME]
        password = self.get_argument("password", "")[:MAX_PASSWORD]
        next_url = self.safe_next(self.get_argument("next", None), "/admin")
        # Counted against the account the database will match, however the name is spelled.
        user_id = await self.run(users.user_id_for_name, username) if username else None
        # Reserved before any hash is compared: concurrent guesses cannot overdraw the budget.
        attempt = await self.application.throttle.reserve(
            account_key(user_id, username),
            self.request.remote_ip or "",
            device_nonce(self, user_id),
        )
        if attempt.ceiling_reached and user_id is not None:
            notify_sign_in_ceiling(user_id)
        if attempt.wait:
            await record_event(self, "sign_in_locked", username=username)
            self.set_status(429)
            self.set_header("Retry-After", str(attempt.wait))
            self._render_form(next_url, username, self._too_many(attempt.wait))
            return
        user = await self.run(users.authenticate, username, password) if username else None
        if user is None:
            await record_event(self, "sign_in_failed", username=username)
            self.set_status(400)
            # One message for an unknown name and a wrong password: nothing to enumerate.
            self._render_form(next_url, username, self._("Wrong user name or password."))
            return
        await self.application.throttle.succeeded(attempt)
        await complete_password_sign_in(self, user, next_url)

    def _render_form(self, next_url: str, username: str, error: str) -> None:
        self.render("auth/login.html", next_url=next_url, username=username, error=error)

    def _too_many(self, wait: int) -> str:
        minutes = max(1, math.ceil(wait / 60))
        return self._(
            "Too many failed attempts. Please wait %(minutes)d minute before trying again.",
            "Too many failed attempts. Please wait %(minutes)d minutes before trying again.",
            minutes,
        ) % {"minutes": minutes}


class LogoutHandler(BaseHandler):
    async def post(self) -> None:
        if self.current_user:
            self.require_session_store()
            await self.sign_out()
            self.flash(self._("You are signed out."), "info")
        await self.redirect_to("/")

    async def get(self) -> None:
        # Signing out changes state, so it is a POST; a bookmarked GET gets the button.
        self.render("auth/logout.html")


routes = [
    (r"/auth/login", LoginHandler),
    (r"/auth/logout", LogoutHandler),
]
