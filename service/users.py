"""Accounts and passwords (argon2id, rehashed when the parameters change)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from model import Article, RecoveryCode, User
from model.base import utcnow
from service import passwords, roles, site
from service.errors import Conflict, Invalid, NotFound

MAX_USERNAME = 64  # the users.username column

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user name is unknown, so both failures cost the same time (made
    on first use: hashing at import would add to every instance's start)."""
    return _HASHER.hash("inkwell-timing-equaliser")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password_strength(session: Session, password: str, *names: str | None) -> None:
    """The password rule (service.passwords), with the user's names and the site's title
    counted as the first words an attacker tries."""
    title = site.get_settings(session).title
    passwords.check_password(password, passwords.personal_words(*names, title))


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > MAX_USERNAME:
        raise Invalid("The user name must be 1 to {limit} characters long.", limit=MAX_USERNAME)
    if any(c.isspace() or c == "/" or not c.isprintable() for c in username):
        raise Invalid("A user name cannot contain spaces or slashes.")
    return username


def create_admin(
    session: Session,
    username: str,
    password: str,
    display_name: str | None = None,
    email: str | None = None,
    role: str = roles.ADMINISTRATOR,
) -> User:
    """Create the user (an administrator unless ``role`` says otherwise), or reset the
    password of an existing one with that name (and give it ``role``)."""
    username = username.strip()
    if not username or len(username) > MAX_USERNAME:
        raise Invalid("The user name must be 1 to {limit} characters long.", limit=MAX_USERNAME)
    role = roles.check_role(role)
    user = session.scalar(select(User).where(User.username == username))
    known = (user.display_name, user.email) if user is not None else ()
    check_password_strength(session, password, username, display_name, email, *known)
    if user is None:
        user = User(username=username, display_name=display_name or username, email=email or "")
        session.add(user)
    else:
        if display_name:
            user.display_name = display_name
        if email:
            user.email = email
    if user.role == roles.ADMINISTRATOR and role != roles.ADMINISTRATOR:
        _keep_an_administrator(session, user.id)
    user.role = role
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.commit()
    return user


def _keep_an_administrator(session: Session, user_id: int) -> None:
    """Conflict when ``user_id`` is the last administrator who can sign in (who must stay
    one: not demoted, disabled or deleted)."""
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == roles.ADMINISTRATOR, User.id != user_id, User.disabled.is_(False))
    )
    if not others:
        raise Conflict("The last administrator must stay an administrator.")


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by user name."""
    return list(session.scalars(select(User).order_by(User.username)))


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFound("There is no such user.")
    return user


def set_disabled(session: Session, user_id: int, disabled: bool) -> User:
    """Disable an account (it cannot sign in; every session of it ends on its next request,
    on any instance: service.account.session_fingerprint) or enable it again."""
    user = _get(session, user_id)
    if disabled and user.role == roles.ADMINISTRATOR and not user.disabled:
        _keep_an_administrator(session, user.id)
    user.disabled = disabled
    session.commit()
    return user


def delete_user(session: Session, user_id: int, reassign_to: int) -> tuple[User, User, int]:
    """Delete an account after giving its articles (and pages) to ``reassign_to``.

    Returns the deleted user (detached), the new author and how many articles moved.
    """
    user = _get(session, user_id)
    heir = session.get(User, reassign_to)
    if heir is None or heir.id == user.id:
        raise Invalid("Please choose another user to give the articles to.")
    if user.role == roles.ADMINISTRATOR and not user.disabled:
        _keep_an_administrator(session, user.id)
    moved = session.execute(
        update(Article).where(Article.author_id == user.id).values(author_id=heir.id)
    )
    count = int(getattr(moved, "rowcount", 0) or 0)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.delete(user)
    session.commit()
    return user, heir, count


def change_role(session: Session, user_id: int, role: str) -> User:
    """Give a user another role; the last administrator keeps theirs."""
    role = roles.check_role(role)
    user = _get(session, user_id)
    if user.role == roles.ADMINISTRATOR and role != roles.ADMINISTRATOR:
        _keep_an_administrator(session, user.id)
    user.role = role
    session.commit()
    return user


def user_id_for_name(session: Session, username: str) -> int | None:
    """The id of the user the database takes ``username`` to mean, as sign-in would find it.

    The comparison is the column's: on MariaDB its collation folds case, accents and
    full-width forms, so every spelling of one account yields the same id (to throttle by).
    """
    return session.scalar(select(User.id).where(User.username == username.strip()))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password matches, else None; rehashes outdated hashes on success."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)
