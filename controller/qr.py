"""Sign in by scanning a QR code with a phone that is already signed in (contract 6)."""

from __future__ import annotations

import functools
import io
from typing import Any

import segno

from controller.audit_log import record_event
from controller.base import BaseHandler, PageError, authenticated
from controller.twofactor import (
    mark_two_factor_passed,
    may_act_as_second_factor,
    passed_two_factor,
)
from extends.qr import QrTickets
from extends.ratelimit import RateLimitUnavailable
from service import user_agents, users

QR_COOKIE = "qr"
WAITING_STATUSES = ("pending", "scanned")


class QrBaseHandler(BaseHandler):
    @property
    def tickets(self) -> QrTickets:
        return self.application.qr


class QrLoginHandler(QrBaseHandler):
    """The desktop: shows a fresh code and waits for a phone to confirm it."""

    async def get(self) -> None:
        next_url = self.safe_next(self.get_argument("next", None), "/admin")
        if self.current_user:
            self.redirect(next_url)
            return
        desktop = {
            "ip": self.request.remote_ip,
            "agent": self.request.headers.get("User-Agent", "")[:200],
            "next": next_url,
        }
        await self.limit_tickets()
        token = await self.tickets.create(desktop)
        # Only the browser holding this cookie may claim the ticket once it is confirmed.
        self.set_signed_cookie(
            QR_COOKIE,
            token,
            expires_days=None,
            httponly=True,
            samesite="Lax",
            secure=self.application.config.secure_cookies,
        )
        self.set_header("Cache-Control", "no-store")
        # The code itself is drawn by the image request (QrCodeHandler): this page stays cheap.
        self.render(
            "auth/qr.html",
            token=token,
            scan_url=scan_url(self.public_base_url(), token),
            ttl=self.application.config.qr_ticket_seconds,
            page_title=self._("Sign in with your phone"),
        )

    async def limit_tickets(self) -> None:
        """A 429 page once this address asks for too many codes (each is a Redis ticket)."""
        try:
            retry_after = await self.application.qr_limit.hit(self.request.remote_ip or "")
        except RateLimitUnavailable:
            # Without Redis no ticket can be made either: the ticket store answers 503.
            return
        if retry_after:
            raise PageError(
                429,
                self._("Too many sign-in codes were asked for. Please wait a minute."),
                retry_after=retry_after,
            )


def scan_url(base_url: str, token: str) -> str:
    """What the phone opens: the code's content."""
    return f"{base_url}/auth/qr/scan/{token}"


@functools.lru_cache(maxsize=256)
def qr_code_svg(url: str) -> bytes:
    """The code as an SVG image; kept for a replayed request (drawing one takes ~10 ms)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=5, border=2, dark="#000", light="#fff")
    return out.getvalue()


class QrCodeHandler(QrBaseHandler):
    """The desktop's code image, for the browser that holds the ticket only."""

    async def get(self, token: str) -> None:
        self.set_header("Cache-Control", "no-store")
        owned = self.get_signed_cookie(QR_COOKIE, max_age_days=1)
        if owned is None or owned.decode() != token:
            raise PageError(403, self._("This sign-in code belongs to another browser."))
        self.set_header("Content-Type", "image/svg+xml")
        self.finish(qr_code_svg(scan_url(self.public_base_url(), token)))


class QrWaitHandler(QrBaseHandler):
    """The desktop's long poll: answers when its ticket changes, or after 33–55 s."""

    async def get(self, token: str) -> None:
        self.set_header("Cache-Control", "no-store")
        owned = self.get_signed_cookie(QR_COOKIE, max_age_days=1)
        if owned is None or owned.decode() != token:
            self.set_status(403)
            self.finish({"status": "forbidden"})
            return
        since = self.get_argument("since", "pending")
        if since in WAITING_STATUSES:
            # One Redis read while nothing happens; the wait itself costs nothing.
            wait = self.application.config.qr_wait_seconds
            ticket = await self.tickets.poll(token, since, wait)
        else:
            ticket = await self.tickets.get(token)
        if ticket is None:
            self.finish({"status": "expired"})
        elif ticket["status"] == "confirmed":
            await self._sign_in_with(token)
        else:
            self.finish({"status": ticket["status"]})

    async def _sign_in_with(self, token: str) -> None:
        claimed = await self.tickets.claim(token)
        if claimed is None:  # another poll of this browser claimed it first
            self.finish({"status": "expired"})
            return
        user = await self.run(users.get_user, int(claimed["user_id"]))
        # Two-step verification turned on after the phone confirmed: that phone did not pass it.
        if user is None or (user.two_factor_enabled and not claimed.get("two_factor")):
            self.finish({"status": "expired"})
            return
        self.stamp_session(user.password_hash)
        await self.sign_in(user)
        await record_event(self, "sign_in", "with a QR code")
        if claimed.get("two_factor"):
            # The phone passed the second step: so has this sign-in.
            mark_two_factor_passed(self, user.id)
        self.clear_cookie(QR_COOKIE)
        self.finish({"status": "signed_in", "next": claimed["desktop"].get("next", "/admin")})


class QrScanHandler(QrBaseHandler):
    """The phone: opened from the code, asks its signed-in user to confirm."""

    async def _ticket_or_gone(self, token: str) -> dict[str, Any] | None:
        ticket = await self.tickets.get(token)
        if ticket is None or ticket["status"] not in WAITING_STATUSES:
            self.set_status(410)
            self.render("auth/qr_result.html", outcome="expired")
            return None
        return ticket

    async def _require_second_factor(self) -> None:
        """A user with two-step verification confirms only from a session that passed it."""
        if not await may_act_as_second_factor(self):
            raise PageError(403, self._("Sign in on this phone with your two-step code first."))

    @authenticated
    async def get(self, token: str) -> None:
        await self._require_second_factor()
        ticket = await self._ticket_or_gone(token)
        if ticket is None:
            return
        if ticket["status"] == "pending":
            ticket = await self.tickets.set_status(token, "scanned")
            if ticket is None:
                self.set_status(410)
                self.render("auth/qr_result.html", outcome="expired")
                return
        desktop = ticket["desktop"]
        device = user_agents.describe(str(desktop.get("agent", "")))
        self.render("auth/qr_confirm.html", token=token, desktop=desktop, device=device)

    @authenticated
    async def post(self, token: str) -> None:
        action = self.get_argument("action", "")
        if action not in ("confirm", "cancel"):
            raise PageError(400, self._("Choose to confirm or to cancel."))
        if await self._ticket_or_gone(token) is None:
            return
        if action == "confirm":
            await self._require_second_factor()
            changed = await self.tickets.set_status(
                token, "confirmed", user_id=self.user.id, two_factor=passed_two_factor(self)
            )
        else:
            changed = await self.tickets.set_status(token, "cancelled")
        if changed is None:
            self.set_status(410)
            self.render("auth/qr_result.html", outcome="expired")
            return
        self.render(
            "auth/qr_result.html", outcome="confirmed" if action == "confirm" else "cancelled"
        )


routes = [
    (r"/auth/qr", QrLoginHandler),
    (r"/auth/qr/code/([A-Za-z0-9_-]{16,64})", QrCodeHandler),
    (r"/auth/qr/wait/([A-Za-z0-9_-]{16,64})", QrWaitHandler),
    (r"/auth/qr/scan/([A-Za-z0-9_-]{16,64})", QrScanHandler),
]
