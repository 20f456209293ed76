"""Roles in the services: who may write, publish, change and delete which article."""

from __future__ import annotations

import pytest

from service import editor, roles, users
from service.editor import ArticleFilter, ArticleForm
from service.errors import Conflict, Forbidden, Invalid

PASSWORD = "violet-harbour-lantern-42"


def person(db, name, role):
    user = users.create_admin(db, name, PASSWORD, name.title(), "", role)
    return roles.actor(db, user.id)


def write(db, acting, status="draft", article_id=None, title="A title"):
    form = ArticleForm(title=title, content="Some text.", status=status)
    return editor.save_article(db, article_id, form, acting.id, acting=acting)


def test_capabilities_follow_wordpress():
    can = {role: roles.CAPABILITIES[role] for role in roles.ROLES}
    assert can[roles.ADMINISTRATOR] > can[roles.EDITOR] > can[roles.AUTHOR] > can[roles.CONTRIBUTOR]
    assert roles.MANAGE_SITE not in can[roles.EDITOR]
    assert {roles.MANAGE_CONTENT, roles.MODERATE_COMMENTS, roles.MANAGE_MEDIA} <= can[roles.EDITOR]
    assert roles.UPLOAD_MEDIA in can[roles.AUTHOR] and roles.EDIT_OTHERS not in can[roles.AUTHOR]
    assert can[roles.CONTRIBUTOR] == {roles.READ_ADMIN, roles.EDIT_OWN}


def test_the_first_user_is_an_administrator(db):
    user = users.create_admin(db, "ada", PASSWORD)
    assert user.role == roles.ADMINISTRATOR


def test_an_author_publishes_and_deletes_own_articles_only(db):
    admin = person(db, "ada", roles.ADMINISTRATOR)
    author = person(db, "ann", roles.AUTHOR)
    mine = write(db, author, "published")
    assert mine.status == "published" and mine.author_id == author.id
    theirs = write(db, admin, "published")
    with pytest.raises(Forbidden):
        write(db, author, "draft", theirs.id)
    with pytest.raises(Forbidden):
        editor.delete_article(db, theirs.id, author)
    with pytest.raises(Forbidden):
        editor.list_revisions(db, theirs.id, author)
    listed, _ = editor.list_articles(db, ArticleFilter(), author)
    assert [a.id for a in listed] == [mine.id]
    editor.delete_article(db, mine.id, author)
    listed, _ = editor.list_articles(db, ArticleFilter(), admin)
    assert [a.id for a in listed] == [theirs.id]


def test_a_contributor_submits_for_review_and_cannot_publish(db):
    contributor = person(db, "cole", roles.CONTRIBUTOR)
    editor_user = person(db, "eve", roles.EDITOR)
    for status in ("published", "scheduled"):
        with pytest.raises(Forbidden):
            write(db, contributor, status)
    draft = write(db, contributor, "draft")
    pending = write(db, contributor, "pending", draft.id)
    assert pending.status == "pending" and pending.publish_at is None
    with pytest.raises(Forbidden):
        write(db, contributor, "published", draft.id)
    # The editor sees what waits for review, and publishes it.
    waiting, _ = editor.list_articles(db, ArticleFilter(status="pending"), editor_user)
    assert [a.id for a in waiting] == [draft.id]
    published = write(db, editor_user, "published", draft.id)
    assert published.status == "published" and published.author_id == contributor.id
    # Once published, the contributor can no longer change or delete it.
    with pytest.raises(Forbidden):
        write(db, contributor, "draft", draft.id)
    with pytest.raises(Forbidden):
        editor.delete_article(db, draft.id, contributor)


def test_pages_need_the_content_capability(db):
    author = person(db, "ann", roles.AUTHOR)
    form = ArticleForm(title="About", content="Us.", status="published", slug="about")
    with pytest.raises(Forbidden):
        editor.save_article(db, None, form, author.id, kind="page", acting=author)
    with pytest.raises(Forbidden):
        editor.list_articles(db, ArticleFilter(kind="page"), author)


def test_the_last_administrator_keeps_the_role(db):
    ada = users.create_admin(db, "ada", PASSWORD)
    with pytest.raises(Conflict):
        users.change_role(db, ada.id, roles.EDITOR)
    bob = users.create_admin(db, "bob", PASSWORD)
    assert users.change_role(db, ada.id, roles.EDITOR).role == roles.EDITOR
    with pytest.raises(Conflict):
        users.change_role(db, bob.id, roles.AUTHOR)
    with pytest.raises(Invalid):
        users.change_role(db, bob.id, "overlord")


def test_a_removed_account_acts_no_more(db):
    with pytest.raises(Forbidden):
        roles.require(db, 12345, roles.READ_ADMIN)
