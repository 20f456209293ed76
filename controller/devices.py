"""Device cookies (OWASP): a browser that completed a sign-in keeps its own attempt budget.

The signed ``device`` cookie names the user and a random nonce; the sign-in throttle counts
attempts from such a browser apart from everyone else's, so strangers guessing a user's
password cannot lock that user's own browser out.
"""

from __future__ import annotations

import re
import secrets

from controller.base import BaseHandler

DEVICE_COOKIE = "device"
DEVICE_COOKIE_DAYS = 365
_DEVICE_VALUE = re.compile(r"(\d+):([0-9a-f]{32})")


def device_nonce(handler: BaseHandler, user_id: int | None) -> str | None:
    """The nonce of this browser's device cookie if it names ``user_id``."""
    value = handler.get_signed_cookie(DEVICE_COOKIE, max_age_days=DEVICE_COOKIE_DAYS)
    found = _DEVICE_VALUE.fullmatch(value.decode()) if value else None
    if user_id is None or found is None or int(found[1]) != user_id:
        return None
    return found[2]


def remember_device(handler: BaseHandler, user_id: int) -> None:
    """Give (or renew) this browser the device cookie naming ``user_id`` (after a full sign-in)."""
    nonce = device_nonce(handler, user_id) or secrets.token_hex(16)
    handler.set_signed_cookie(
        DEVICE_COOKIE,
        f"{user_id}:{nonce}",
        expires_days=DEVICE_COOKIE_DAYS,
        httponly=True,
        samesite="Lax",
        secure=handler.application.config.secure_cookies,
    )
