"""People over HTTP: an invitation mailed through the real SMTP server, followed to create
the account and sign in; roles changed; an account disabled (its session refused at once on
another instance sharing Redis); deleted with its articles given to someone else; and the
last administrator, who cannot be demoted, disabled or deleted."""

from __future__ import annotations

import asyncio
import re
import secrets

import pytest
from sqlalchemy import select

from model import Article, User
from service import audit, editor, roles, users
from service.editor import ArticleForm
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.clock import FakeClock
from tests.support.live import BlogClient, page_text

PASSWORD = "violet-harbour-lantern-42"


def background_done(live):
    async def drain():
        while pending := [task for task in live.app._background if not task.done()]:
            await asyncio.wait(pending)

    live.call(drain)


def signed_in(live, username=ADMIN_USERNAME, password=ADMIN_PASSWORD):
    client = BlogClient(live.url)
    response = AuthActions(client).login(username=username, password=password)
    assert response.status_code == 302, response.text[-500:]
    return client


def opens_admin(client):
    return client.get("/admin", allow_redirects=False).status_code == 200


def user_named(live, username):
    return live.service(lambda s: s.scalar(select(User).where(User.username == username)))


def invitation_link(message):
    text = message.get_body(("plain",)).get_content()
    (link,) = re.findall(r"http://127\.0\.0\.1:\d+/auth/invite/\S+", text)
    assert f'href="{link}"' in message.get_body(("html",)).get_content()
    return link[link.index("/auth/invite/") :]


@pytest.fixture
def site(start_app, sqlite_url, smtp_server):
    clock = FakeClock()
    live = start_app(
        sqlite_url, clock=clock, smtp_url=smtp_server.url, mail_from="blog@example.org"
    )
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "ada@example.org")
    return live


def test_an_invitation_arrives_and_its_link_creates_the_account_once(site, smtp_server):
    admin = signed_in(site)
    response = admin.post_form("/admin/users", {"email": "cole@example.org", "role": "contributor"})
    assert response.status_code == 302
    assert "cole@example.org" in page_text(admin.follow(response).text)
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "cole@example.org"
    link = invitation_link(message)

    visitor = BlogClient(site.url)
    form = visitor.get(link)
    assert form.status_code == 200 and "cole@example.org" in form.text
    # The password rules of the site hold here too.
    weak = visitor.post_form(
        link, {"username": "cole", "new_password": "password", "confirm_password": "password"}
    )
    assert weak.status_code == 400
    created = visitor.post_form(
        link, {"username": "cole", "new_password": PASSWORD, "confirm_password": PASSWORD}
    )
    assert created.status_code == 302 and created.headers["Location"] == "/auth/login"

    cole = signed_in(site, "cole", PASSWORD)
    assert opens_admin(cole)
    assert cole.get("/admin/users", allow_redirects=False).status_code == 403
    assert user_named(site, "cole").role == roles.CONTRIBUTOR
    # Used once: the link is dead now.
    again = BlogClient(site.url).post_form(
        link, {"username": "cole2", "new_password": PASSWORD, "confirm_password": PASSWORD}
    )
    assert again.status_code == 400
    assert user_named(site, "cole2") is None
    kinds = [event.kind for event in site.service(lambda s: audit.list_events(s).events)]
    assert "user_invited" in kinds and "invitation_accepted" in kinds


def test_an_invitation_expires_after_72_hours(site, smtp_server):
    admin = signed_in(site)
    admin.post_form("/admin/users", {"email": "late@example.org", "role": "author"})
    link = invitation_link(smtp_server.wait_for(1)[-1])
    site.clock.advance(72 * 3600 + 1)
    assert BlogClient(site.url).get(link).status_code == 400


def test_a_forged_invitation_link_is_refused(site, smtp_server):
    admin = signed_in(site)
    admin.post_form("/admin/users", {"email": "eve@example.org", "role": "contributor"})
    link = invitation_link(smtp_server.wait_for(1)[-1])
    forged = link[: link.rindex(".") + 1] + "A" * 43
    assert BlogClient(site.url).get(forged).status_code == 400


def test_changing_roles_and_the_last_administrator(site):
    site.service(users.create_admin, "eve", PASSWORD, "Eve", "", roles.EDITOR)
    eve = user_named(site, "eve")
    ada = user_named(site, ADMIN_USERNAME)
    admin = signed_in(site)
    # The only administrator cannot be demoted, disabled or deleted.
    assert admin.post_form(f"/admin/users/{ada.id}/role", {"role": "editor"}).status_code == 409
    assert admin.post_form(f"/admin/users/{ada.id}/disable").status_code == 409
    delete = admin.post_form(f"/admin/users/{ada.id}/delete", {"reassign_to": str(eve.id)})
    assert delete.status_code == 409
    assert user_named(site, ADMIN_USERNAME).role == roles.ADMINISTRATOR
    # Another administrator makes it possible.
    promoted = admin.post_form(f"/admin/users/{eve.id}/role", {"role": "administrator"})
    assert promoted.status_code == 302
    assert admin.post_form(f"/admin/users/{ada.id}/role", {"role": "author"}).status_code == 302
    assert user_named(site, ADMIN_USERNAME).role == roles.AUTHOR
    # The role counts at once: the demoted user no longer opens the users page.
    assert admin.get("/admin/users", allow_redirects=False).status_code == 403
    kinds = [event.kind for event in site.service(lambda s: audit.list_events(s).events)]
    assert kinds.count("role_changed") == 2


def test_a_disabled_user_is_signed_out_on_every_instance(start_app, database_url, redis_url):
    shared_secret = secrets.token_urlsafe(32)
    first = start_app(database_url, redis_urls=[redis_url], cookie_secret=shared_secret)
    second = start_app(database_url, redis_urls=[redis_url], cookie_secret=shared_secret)
    first.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    first.service(users.create_admin, "ann", PASSWORD, "Ann", "", roles.AUTHOR)
    ann = signed_in(first, "ann", PASSWORD)
    ann.base_url = second.url
    assert opens_admin(ann)

    admin = signed_in(first)
    ann_id = user_named(first, "ann").id
    assert admin.post_form(f"/admin/users/{ann_id}/disable").status_code == 302
    # Ann's existing session, presented to the other instance, is refused at once.
    response = ann.get("/admin", allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    # And she cannot sign in again.
    assert AuthActions(BlogClient(second.url)).login("ann", PASSWORD).status_code == 400
    assert admin.post_form(f"/admin/users/{ann_id}/enable").status_code == 302
    assert opens_admin(signed_in(second, "ann", PASSWORD))


def test_a_disabled_user_is_told_the_account_is_disabled(site):
    site.service(users.create_admin, "ann", PASSWORD, "Ann", "", roles.AUTHOR)
    ann = signed_in(site, "ann", PASSWORD)
    admin = signed_in(site)
    assert admin.post_form(f"/admin/users/{user_named(site, 'ann').id}/disable").status_code == 302
    page = page_text(ann.follow(ann.get("/admin")).text)
    assert "Your account is disabled" in page
    assert "password was changed" not in page


def test_deleting_a_user_gives_the_articles_to_another(site):
    site.service(users.create_admin, "ann", PASSWORD, "Ann", "", roles.AUTHOR)
    ann = user_named(site, "ann")
    ada = user_named(site, ADMIN_USERNAME)
    form = ArticleForm(title="Ann's story", content="Words.", status="published")
    article = site.service(editor.save_article, None, form, ann.id)
    admin = signed_in(site)
    page = admin.get(f"/admin/users/{ann.id}/delete")
    assert page.status_code == 200 and ADMIN_USERNAME in page.text
    assert admin.post_form(f"/admin/users/{ann.id}/delete").status_code == 400
    response = admin.post_form(f"/admin/users/{ann.id}/delete", {"reassign_to": str(ada.id)})
    assert response.status_code == 302
    assert user_named(site, "ann") is None
    assert site.service(lambda s: s.get(Article, article.id).author_id) == ada.id
    assert AuthActions(BlogClient(site.url)).login("ann", PASSWORD).status_code == 400
    kinds = [event.kind for event in site.service(lambda s: audit.list_events(s).events)]
    assert "user_deleted" in kinds


def test_a_submission_for_review_mails_the_editors_who_asked(site, smtp_server):
    from tests.web.admin.conftest import save_article

    site.service(
        users.create_admin, "cole", PASSWORD, "Cole", "cole@example.org", roles.CONTRIBUTOR
    )
    site.service(users.create_admin, "eve", PASSWORD, "Eve", "eve@example.org", roles.EDITOR)
    ada = signed_in(site)
    page = ada.get("/admin/account").text
    assert 'name="notify_reviews"' in page
    assert ada.post_form("/admin/account/notifications", {"notify_reviews": "1"}).status_code == 302
    cole = signed_in(site, "cole", PASSWORD)
    assert 'name="notify_reviews"' not in cole.get("/admin/account").text  # not a reviewer

    article_id = save_article(cole, title="Cole's first piece", status="draft")
    background_done(site)
    assert smtp_server.messages() == []  # a draft is nobody's business yet
    save_article(cole, article_id, title="Cole's first piece", status="pending")
    background_done(site)
    (message,) = smtp_server.wait_for(1)  # Ada asked; Eve did not
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "“Cole's first piece” waits for your review"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    assert "Cole submitted" in text
    (link,) = re.findall(r"http://127\.0\.0\.1:\d+(/admin/articles/\d+/edit)", text)
    assert link == f"/admin/articles/{article_id}/edit"
    assert ada.get(link).status_code == 200

    # Saved again while it waits: no second message (nothing even queued).
    save_article(cole, article_id, title="Cole's first piece, revised", status="pending")
    background_done(site)
    outbox = site.call(lambda: site.app.mailer.queue.outbox())
    assert outbox.pending == [] and len(outbox.sent) == 1
    assert len(smtp_server.messages()) == 1
