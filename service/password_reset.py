"""Password reset by email: a signed, short-lived link that dies when it is used.

The link carries ``<user id>.<expiry>.<MAC>``, the MAC an HMAC-SHA256 (keyed from the cookie
secret) over the user id, the expiry *and the user's current password hash*. Nothing is
stored: any instance checks a link, and setting a password (through this link or any other
way) changes the hash, so every link issued before is dead — that is what makes a link
single-use. A session opened before the change is signed out on its next request, on any
instance (its password fingerprint no longer matches, see ``account.password_fingerprint``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import User
from model.base import utcnow
from service import users
from service.errors import Invalid, message

RESET_SECONDS = 30 * 60
MAX_TOKEN = 200

DEAD_LINK = message("This link has expired or was already used. Please ask for a new one.")


@dataclass(frozen=True)
class ResetLink:
    """One account to write to: where, under which name, and the token for its link."""

    user_id: int
    username: str
    display_name: str
    email: str
    token: str


def reset_key(cookie_secret: str) -> bytes:
    """The MAC key of reset links, derived from the cookie secret (never the secret itself)."""
    return hashlib.sha256(b"inkwell password reset\x00" + cookie_secret.encode()).digest()


def _mac(key: bytes, user_id: int, expires: int, password_hash: str) -> str:
    signed = f"{user_id}\x00{expires}\x00{password_hash}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_token(key: bytes, user: User, now: float) -> str:
    expires = int(now) + RESET_SECONDS
    return f"{user.id}.{expires}.{_mac(key, user.id, expires, user.password_hash)}"


def request_reset(session: Session, address: str, key: bytes, now: float) -> list[ResetLink]:
    """Links for every account using ``address`` (compared without case); often none.

    The caller answers the same whatever this returns: nothing tells a visitor whether
    an address belongs to an account.
    """
    wanted = address.strip().lower()
    if not wanted:
        return []
    found = session.scalars(select(User).where(func.lower(User.email) == wanted)).all()
    return [
        ResetLink(user.id, user.username, user.display_name, user.email, make_token(key, user, now))
        for user in found
    ]


def user_for_token(session: Session, token: str, key: bytes, now: float) -> User:
    """The user a live link belongs to; Invalid (one message for every reason) otherwise."""
    parts = token.split(".") if len(token) <= MAX_TOKEN else []
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise Invalid(DEAD_LINK)
    user_id, expires = int(parts[0]), int(parts[1])
    user = session.get(User, user_id) if user_id < 2**31 else None
    if user is None or expires < now:
        raise Invalid(DEAD_LINK)
    if not hmac.compare_digest(_mac(key, user.id, expires, user.password_hash), parts[2]):
        raise Invalid(DEAD_LINK)
    return user


def reset_password(
    session: Session, token: str, key: bytes, now: float, new: str, confirmation: str
) -> User:
    """Set the password a live link allows; the link (and every other one) dies with it."""
    user = user_for_token(session, token, key, now)
    if new != confirmation:
        raise Invalid("The two new passwords differ.")
    users.check_password_strength(session, new, user.username, user.display_name, user.email)
    user.password_hash = users.hash_password(new)
    user.password_changed_at = utcnow()
    session.commit()
    return user
