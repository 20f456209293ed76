"""Users in the services: invitations (signed, once, 72 hours), disabling, deleting."""

from __future__ import annotations

import datetime as dt

import pytest

from model import Article
from service import account, editor, invitations, roles, users
from service.editor import ArticleForm
from service.errors import Conflict, Invalid

PASSWORD = "violet-harbour-lantern-42"
KEY = invitations.invitation_key("a cookie secret")
NOW = dt.datetime(2026, 11, 22, 5, 0, 0)


def test_an_invitation_is_used_once_within_72_hours(db):
    ada = users.create_admin(db, "ada", PASSWORD)
    link = invitations.invite(db, "cole@example.org", roles.CONTRIBUTOR, ada.id, KEY, NOW)
    assert [i.email for i in invitations.open_invitations(db, NOW)] == ["cole@example.org"]
    with pytest.raises(Invalid):
        invitations.invitation_for_token(db, link.token, invitations.invitation_key("other"), NOW)
    later = NOW + dt.timedelta(hours=72, seconds=1)
    with pytest.raises(Invalid):
        invitations.invitation_for_token(db, link.token, KEY, later)
    with pytest.raises(Invalid):
        invitations.accept(db, link.token, KEY, NOW, "ada", PASSWORD, PASSWORD)  # name taken
    with pytest.raises(Invalid):
        invitations.accept(db, link.token, KEY, NOW, "cole", "short", "short")
    cole = invitations.accept(db, link.token, KEY, NOW, "cole", PASSWORD, PASSWORD)
    assert (cole.role, cole.email) == (roles.CONTRIBUTOR, "cole@example.org")
    with pytest.raises(Invalid):
        invitations.accept(db, link.token, KEY, NOW, "cole2", PASSWORD, PASSWORD)
    assert invitations.open_invitations(db, NOW) == []


def test_a_disabled_user_cannot_sign_in_and_loses_the_session_fingerprint(db):
    users.create_admin(db, "ada", PASSWORD)
    ann = users.create_admin(db, "ann", PASSWORD, "Ann", "", roles.AUTHOR)
    assert account.session_fingerprint(db, ann.id) is not None
    users.set_disabled(db, ann.id, True)
    assert users.authenticate(db, "ann", PASSWORD) is None
    assert account.session_fingerprint(db, ann.id) is None
    users.set_disabled(db, ann.id, False)
    assert users.authenticate(db, "ann", PASSWORD) is not None


def test_the_last_administrator_cannot_be_disabled_or_deleted(db):
    ada = users.create_admin(db, "ada", PASSWORD)
    ann = users.create_admin(db, "ann", PASSWORD, "Ann", "", roles.AUTHOR)
    with pytest.raises(Conflict):
        users.set_disabled(db, ada.id, True)
    with pytest.raises(Conflict):
        users.delete_user(db, ada.id, ann.id)
    # A disabled administrator does not count as the other one.
    bob = users.create_admin(db, "bob", PASSWORD)
    users.set_disabled(db, bob.id, True)
    with pytest.raises(Conflict):
        users.change_role(db, ada.id, roles.EDITOR)


def test_deleting_gives_the_articles_to_the_heir(db):
    ada = users.create_admin(db, "ada", PASSWORD)
    ann = users.create_admin(db, "ann", PASSWORD, "Ann", "", roles.AUTHOR)
    form = ArticleForm(title="Mine", content="Text.", status="published")
    article = editor.save_article(db, None, form, ann.id)
    with pytest.raises(Invalid):
        users.delete_user(db, ann.id, ann.id)
    _, heir, moved = users.delete_user(db, ann.id, ada.id)
    assert (heir.username, moved) == ("ada", 1)
    db.expire_all()
    assert db.get(Article, article.id).author_id == ada.id
    assert [user.username for user in users.list_users(db)] == ["ada"]
