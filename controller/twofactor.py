"""Two-step verification at sign-in: the pending sign-in, the code form, and what it unlocks.

After the right password, a user with two-step verification is not signed in yet: the
session holds a pending sign-in (``PENDING_KEY``: user id, expiry, next URL, failures) that
``/auth/two-factor`` completes with a code. A session that completed it remembers so
(``PASSED_KEY`` holds the user id), which is what lets a phone confirm a QR sign-in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from controller.audit_log import record_event
from controller.base import BaseHandler, PageError
from controller.devices import device_nonce, remember_device
from extends.throttle import account_key
from model.user import User
from service import account, twofactor, users
from service.twofactor import CodeCheck

PENDING_KEY = "two_factor_pending"
PASSED_KEY = "two_factor_passed"
PENDING_SECONDS = 300
MAX_CODE_FAILURES = 5
MAX_CODE = 64
SETUP_URL = "/admin/account/two-factor"


async def complete_password_sign_in(handler: BaseHandler, user: User, next_url: str) -> None:
    """After the right password: sign in, or first ask for the second step when it is on."""
    if not user.two_factor_enabled:
        handler.stamp_session(user.password_hash)
        await handler.sign_in(user)
        remember_device(handler, user.id)
        await record_event(handler, "sign_in")
        await handler.redirect_to(next_url)
        return
    handler.session[PENDING_KEY] = {
        "user_id": user.id,
        "username": user.username,
        "fingerprint": account.password_fingerprint(user.password_hash),
        "expires": handler.application.clock.time() + PENDING_SECONDS,
        "next": next_url,
        "failures": 0,
    }
    await handler.redirect_to("/auth/two-factor")


def passed_two_factor(handler: BaseHandler) -> bool:
    """Whether this session's user completed two-step verification in it."""
    user = handler.current_user
    return user is not None and handler.session.get(PASSED_KEY) == user.id


def mark_two_factor_passed(handler: BaseHandler, user_id: int) -> None:
    handler.session[PASSED_KEY] = user_id


async def may_act_as_second_factor(handler: BaseHandler) -> bool:
    """A session may vouch for another sign-in (a QR code) if it passed the second step,
    or if its user has none to pass."""
    user = handler.current_user
    if user is None:
        return False
    return passed_two_factor(handler) or not await handler.run(twofactor.is_enabled, user.id)


async def send_to_two_factor_setup(handler: BaseHandler) -> bool:
    """When the site requires two-step verification, an admin page sends a signed-in user
    without it to its set-up. True when the request was answered here.

    Pages that must stay reachable meanwhile (the set-up itself) set
    ``open_without_two_factor = True``; signing out is not an admin page.
    """
    user = handler.current_user
    if (
        user is None
        or not handler.site.require_two_factor
        or getattr(handler, "open_without_two_factor", False)
        or passed_two_factor(handler)
        or await handler.run(twofactor.is_enabled, user.id)
    ):
        return False
    if handler.request.method not in ("GET", "HEAD"):
        raise PageError(403, handler._("Please set up two-step verification first."))
    handler.flash(
        handler._("This site requires two-step verification. Please set it up to continue."),
        "warning",
    )
    await handler.redirect_to(SETUP_URL)
    return True


class TwoFactorSignInHandler(BaseHandler):
    """The second step of a password sign-in."""

    async def get(self) -> None:
        if await self._pending() is None:
            return
        self.set_header("Cache-Control", "no-store")
        self.render("auth/two_factor.html", error=None)

    async def post(self) -> None:
        self.require_session_store()
        pending = await self._pending()
        if pending is None:
            return
        code = self.get_argument("code", "")[:MAX_CODE]
        user_id = int(pending["user_id"])
        # A code guess is reserved like a password guess, before it is checked.
        attempt = await self.application.throttle.reserve(
            account_key(user_id, ""), self.request.remote_ip or "", device_nonce(self, user_id)
        )
        if attempt.wait:
            raise PageError(
                429,
                self._("Too many failed attempts. Please wait a moment and try again."),
                retry_after=attempt.wait,
            )
        check = await self.run(
            twofactor.check_sign_in_code,
            int(pending["user_id"]),
            code,
            self.application.clock.time(),
        )
        if check in (CodeCheck.ACCEPTED, CodeCheck.RECOVERY):
            await self.application.throttle.succeeded(attempt)
            await self._sign_in(pending, check)
        else:
            await self._refuse(pending, check)

    async def _pending(self) -> dict[str, Any] | None:
        """The pending sign-in; without a live one, back to the password form (None)."""
        pending = self.session.get(PENDING_KEY)
        if pending and float(pending.get("expires", 0)) > self.application.clock.time():
            return dict(pending)
        if pending:
            self.session.pop(PENDING_KEY)
            self.flash(self._("The sign-in took too long. Please sign in again."), "warning")
        await self._back_to_password(pending)
        return None

    async def _back_to_password(self, pending: dict[str, Any] | None) -> None:
        next_url = self.safe_next(pending.get("next") if pending else None, "/admin")
        await self.redirect_to("/auth/login?" + urlencode({"next": next_url}))

    async def _sign_in(self, pending: dict[str, Any], check: CodeCheck) -> None:
        self.session.pop(PENDING_KEY)
        user = await self.run(users.get_user, int(pending["user_id"]))
        # The password changed (or the user went) since the first step: start again.
        if user is None or account.password_fingerprint(user.password_hash) != pending.get(
            "fingerprint"
        ):
            await self._back_to_password(pending)
            return
        self.stamp_session(user.password_hash)
        await self.sign_in(user)
        remember_device(self, user.id)
        await record_event(self, "sign_in", "with a two-step code")
        mark_two_factor_passed(self, user.id)
        if check is CodeCheck.RECOVERY:
            self.flash(
                self._("You signed in with a recovery code. It cannot be used again."), "warning"
            )
        await self.redirect_to(self.safe_next(pending.get("next"), "/admin"))

    async def _refuse(self, pending: dict[str, Any], check: CodeCheck) -> None:
        await record_event(
            self, "sign_in_failed", "wrong two-step code", username=str(pending["username"])
        )
        # The wrong code stays counted by the sign-in throttle (reserved in post): a known
        # password buys a handful of guesses, not an endless supply.
        pending["failures"] = int(pending.get("failures", 0)) + 1
        if pending["failures"] >= MAX_CODE_FAILURES:
            self.session.pop(PENDING_KEY)
            self.flash(self._("Too many wrong codes. Please sign in again."), "error")
            await self._back_to_password(pending)
            return
        self.session[PENDING_KEY] = pending
        if check is CodeCheck.REUSED:
            error = self._("That code was already used. Wait for the next one.")
        else:
            error = self._("That code is not right.")
        self.set_status(400)
        self.set_header("Cache-Control", "no-store")
        self.render("auth/two_factor.html", error=error)


routes = [
    (r"/auth/two-factor", TwoFactorSignInHandler),
]
