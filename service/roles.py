"""Roles as WordPress users know them, and the checks every admin action goes through.

Administrator: everything. Editor: all content, comments, taxonomy, menus, pages, media.
Author: writes, publishes and deletes own articles, uploads media. Contributor: writes own
drafts and submits them for review ("pending"); cannot publish, schedule or upload.

A check raises ``Forbidden`` (a 403 page): the admin base handler asks ``require`` for the
capability of every request, and the editor's services check ownership with ``Actor``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from model import User
from service.errors import Forbidden, Invalid, message

ADMINISTRATOR = "administrator"
EDITOR = "editor"
AUTHOR = "author"
CONTRIBUTOR = "contributor"
ROLES = (ADMINISTRATOR, EDITOR, AUTHOR, CONTRIBUTOR)

# Names shown in the admin (translated by the template).
ROLE_NAMES = {
    ADMINISTRATOR: message("Administrator"),
    EDITOR: message("Editor"),
    AUTHOR: message("Author"),
    CONTRIBUTOR: message("Contributor"),
}

# What each capability allows, and to whom.
READ_ADMIN = "read_admin"  # the dashboard, one's own account
EDIT_OWN = "edit_own_articles"  # write own articles (contributors: drafts and pending)
PUBLISH_OWN = "publish_own_articles"  # publish, schedule, delete own published articles
EDIT_OTHERS = "edit_others_articles"  # every article, whoever wrote it
UPLOAD_MEDIA = "upload_media"
MANAGE_MEDIA = "manage_media"  # edit and delete anyone's uploads
MODERATE_COMMENTS = "moderate_comments"
MANAGE_CONTENT = "manage_content"  # categories, sources, tags, menus, pages
MANAGE_SITE = "manage_site"  # settings, widgets, users, import/export, audit, mail

CAPABILITIES: dict[str, frozenset[str]] = {
    ADMINISTRATOR: frozenset(
        {
            READ_ADMIN,
            EDIT_OWN,
            PUBLISH_OWN,
            EDIT_OTHERS,
            UPLOAD_MEDIA,
            MANAGE_MEDIA,
            MODERATE_COMMENTS,
            MANAGE_CONTENT,
            MANAGE_SITE,
        }
    ),
    EDITOR: frozenset(
        {
            READ_ADMIN,
            EDIT_OWN,
            PUBLISH_OWN,
            EDIT_OTHERS,
            UPLOAD_MEDIA,
            MANAGE_MEDIA,
            MODERATE_COMMENTS,
            MANAGE_CONTENT,
        }
    ),
    AUTHOR: frozenset({READ_ADMIN, EDIT_OWN, PUBLISH_OWN, UPLOAD_MEDIA}),
    CONTRIBUTOR: frozenset({READ_ADMIN, EDIT_OWN}),
}


@dataclass(frozen=True)
class Actor:
    """Who acts, as the database says now (a role changed elsewhere counts at once)."""

    id: int
    role: str

    def can(self, capability: str) -> bool:
        return capability in CAPABILITIES.get(self.role, frozenset())


def check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise Invalid("Unknown role.")
    return role


def actor(session: Session, user_id: int) -> Actor:
    """The acting user with their current role; Forbidden when the account is gone."""
    role = session.scalar(select(User.role).where(User.id == user_id))
    if role is None:
        raise Forbidden("You may not do this.")
    return Actor(user_id, role)


def require(session: Session, user_id: int, capability: str) -> Actor:
    """The acting user, if their role has ``capability``; else Forbidden."""
    acting = actor(session, user_id)
    if not acting.can(capability):
        raise Forbidden("Your role does not allow this.")
    return acting


def require_can(acting: Actor | None, capability: str) -> None:
    """For services given an Actor: None is the system (command line, jobs), allowed all."""
    if acting is not None and not acting.can(capability):
        raise Forbidden("Your role does not allow this.")


def may_edit(acting: Actor | None, author_id: int | None, status: str) -> bool:
    """Whether ``acting`` may change an article by ``author_id`` in ``status``."""
    if acting is None or acting.can(EDIT_OTHERS):
        return True
    if author_id != acting.id:
        return False
    return acting.can(PUBLISH_OWN) or status in ("draft", "pending")


def require_edit(acting: Actor | None, author_id: int | None, status: str) -> None:
    if not may_edit(acting, author_id, status):
        raise Forbidden("Your role does not allow changing this article.")
