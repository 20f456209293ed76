"""Invitations: an administrator invites an address with a role; the emailed link lets the
person choose a user name and password once, within 72 hours.

The link carries ``<invitation id>.<MAC>``, the MAC an HMAC-SHA256 (keyed from the cookie
secret, like password reset links) over the id, the address, the role and the expiry, so
any instance checks it. The row remembers when it was used: a second use is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from model import Invitation, User
from model.base import utcnow
from service import roles, users
from service.errors import Conflict, Invalid, message

INVITATION_SECONDS = 72 * 3600
MAX_TOKEN = 200
MAX_EMAIL = 255

DEAD_INVITATION = message("This invitation has expired or was already used.")


@dataclass(frozen=True)
class InvitationLink:
    invitation_id: int
    email: str
    role: str
    token: str


def invitation_key(cookie_secret: str) -> bytes:
    """The MAC key of invitation links, derived from the cookie secret."""
    return hashlib.sha256(b"inkwell invitation\x00" + cookie_secret.encode()).digest()


def _mac(key: bytes, invitation: Invitation) -> str:
    expires = invitation.expires_at.replace(microsecond=0).isoformat()
    signed = f"{invitation.id}\x00{invitation.email}\x00{invitation.role}\x00{expires}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invite(
    session: Session, email: str, role: str, invited_by: int | None, key: bytes, now: dt.datetime
) -> InvitationLink:
    """Record an invitation of ``email`` (already a valid address) as ``role``."""
    role = roles.check_role(role)
    email = email.strip()
    if not email or len(email) > MAX_EMAIL:
        raise Invalid("Please enter a valid email address.")
    taken = session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
    if taken is not None:
        raise Invalid("Another account already uses this email address.")
    invitation = Invitation(
        email=email,
        role=role,
        invited_by=invited_by,
        created_at=now.replace(microsecond=0),
        expires_at=now.replace(microsecond=0) + dt.timedelta(seconds=INVITATION_SECONDS),
    )
    session.add(invitation)
    session.commit()
    return InvitationLink(invitation.id, email, role, f"{invitation.id}.{_mac(key, invitation)}")


def open_invitations(session: Session, now: dt.datetime) -> list[Invitation]:
    """Invitations not used yet and not expired, newest first."""
    return list(
        session.scalars(
            select(Invitation)
            .where(Invitation.accepted_at.is_(None), Invitation.expires_at > now)
            .order_by(Invitation.id.desc())
        )
    )


def invitation_for_token(session: Session, token: str, key: bytes, now: dt.datetime) -> Invitation:
    """The live invitation a link names; Invalid (one message for every reason) otherwise."""
    parts = token.split(".") if len(token) <= MAX_TOKEN else []
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 9:
        raise Invalid(DEAD_INVITATION)
    invitation = session.get(Invitation, int(parts[0]))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
        raise Invalid(DEAD_INVITATION)
    if not hmac.compare_digest(_mac(key, invitation), parts[1]):
        raise Invalid(DEAD_INVITATION)
    return invitation


def accept(
    session: Session,
    token: str,
    key: bytes,
    now: dt.datetime,
    username: str,
    password: str,
    confirmation: str,
) -> User:
    """Create the invited account with the chosen name and password; the link dies."""
    invitation = invitation_for_token(session, token, key, now)
    username = users.check_username(username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Invalid("This user name is taken. Please choose another.")
    if password != confirmation:
        raise Invalid("The two new passwords differ.")
    users.check_password_strength(session, password, username, invitation.email)
    # Used once: only the request that marks it first goes on, whichever instance it is.
    marked = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow())
    )
    if not getattr(marked, "rowcount", 0):
        session.rollback()
        raise Conflict(DEAD_INVITATION)
    user = User(
        username=username,
        display_name=username,
        email=invitation.email,
        role=invitation.role,
        password_hash=users.hash_password(password),
    )
    session.add(user)
    session.commit()
    return user
