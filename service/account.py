"""The signed-in author's own account: profile, password, and the session fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import User
from model.base import utcnow
from service import users
from service.errors import Invalid, NotFound

MAX_DISPLAY_NAME = 100
MAX_EMAIL = 255
MAX_BIO = 2000


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the stored hash: it changes whenever the password does.

    A session keeps it from sign-in; a session whose fingerprint no longer
    matches was opened before a password change and is signed out.
    """
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def session_fingerprint(session: Session, user_id: int) -> str | None:
    """The current fingerprint of a user (one small query), None when the user is gone or
    disabled: the database is shared, so a disabled account's sessions end on their next
    request on every instance."""
    stored = session.scalar(
        select(User.password_hash).where(User.id == user_id, User.disabled.is_(False))
    )
    return password_fingerprint(stored) if stored is not None else None


@dataclass(frozen=True)
class UserState:
    """What every signed-in request checks about its user: role, password, whether disabled.

    Each instance keeps it in memory (controller.base) and drops it when the bus names
    ``user:<id>``: a role change, a disabled account or a new password counts at once on
    every instance without a query per request.
    """

    id: int
    role: str
    fingerprint: str
    disabled: bool


def user_state(session: Session, user_id: int) -> UserState | None:
    """The user's role, password fingerprint and disabled flag (one query); None if gone."""
    row = session.execute(
        select(User.role, User.password_hash, User.disabled).where(User.id == user_id)
    ).first()
    if row is None:
        return None
    role, password_hash, disabled = row
    return UserState(user_id, role, password_fingerprint(password_hash), bool(disabled))


def get_account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


@dataclass(frozen=True)
class ProfileForm:
    display_name: str
    email: str
    bio: str = ""


def update_profile(session: Session, user_id: int, form: ProfileForm) -> User:
    """Change the display name and email of a user."""
    user = get_account(session, user_id)
    display_name = form.display_name.strip()
    email = form.email.strip()
    if len(display_name) > MAX_DISPLAY_NAME:
        raise Invalid(
            "The display name must be at most {limit} characters long.", limit=MAX_DISPLAY_NAME
        )
    if email and ("@" not in email or len(email) > MAX_EMAIL or any(c.isspace() for c in email)):
        raise Invalid("Please enter a valid email address.")
    if email:
        # A password reset link goes to the address: one account per address. (Whether mail
        # can reach it is checked when a message is composed, extends/mailer.py.)
        taken = session.scalar(
            select(User.id).where(func.lower(User.email) == email.lower(), User.id != user_id)
        )
        if taken is not None:
            raise Invalid("Another account already uses this email address.")
    bio = form.bio.replace("\r\n", "\n").strip()
    if len(bio) > MAX_BIO:
        raise Invalid("The bio must be at most {limit} characters long.", limit=MAX_BIO)
    user.display_name = display_name
    user.email = email
    user.bio = bio
    session.commit()
    return user


def change_password(
    session: Session, user_id: int, current: str, new: str, confirmation: str
) -> str:
    """Set a new password after checking the current one; returns the new fingerprint."""
    user = get_account(session, user_id)
    if users.authenticate(session, user.username, current) is None:
        raise Invalid("The current password is not correct.")
    if new != confirmation:
        raise Invalid("The two new passwords differ.")
    users.check_password_strength(session, new, user.username, user.display_name, user.email)
    user.password_hash = users.hash_password(new)
    user.password_changed_at = utcnow()
    session.commit()
    return password_fingerprint(user.password_hash)
