"""Signing in with a password, signing out, and the sign-in throttle."""

from __future__ import annotations

import math

from controller.audit_log import record_event
from controller.base import BaseHandler, PageError
from extends.throttle import sign_in_keys
from service import users

MAX_USERNAME = 64
MAX_PASSWORD = 1024


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
        keys = sign_in_keys(username, self.request.remote_ip or "")
        # The throttle is asked before any hash is compared: a blocked guess costs nothing.
        wait = await self.application.throttle.retry_after(keys)
        if wait:
            await record_event(self, "sign_in_locked", username=username)
            raise PageError(429, self._too_many(wait), retry_after=wait)
        user = await self.run(users.authenticate, username, password) if username else None
        if user is None:
            await self.application.throttle.record_failure(keys)
            await record_event(self, "sign_in_failed", username=username)
            self.set_status(400)
            # One message for an unknown name and a wrong password: nothing to enumerate.
            self.render(
                "auth/login.html",
                next_url=next_url,
                username=username,
                error=self._("Wrong user name or password."),
            )
            return
        await self.application.throttle.reset(keys[:1])
        self.stamp_session(user.password_hash)
        await self.sign_in(user)
        await record_event(self, "sign_in")
        await self.redirect_to(next_url)

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
