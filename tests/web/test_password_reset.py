"""Password reset over HTTP with a real SMTP server: the mail arrives, its link sets a new
password once, within 30 minutes; unknown addresses get the same page and no mail; every
other session of the account is signed out; requests are throttled."""

import asyncio
import re
import time

import pytest

from service import audit, users
from service import site as site_service
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.clock import FakeClock
from tests.support.live import BlogClient, page_text

ADDRESS = "ada@example.org"
NEW_PASSWORD = "copper lantern meadow"


@pytest.fixture
def site(start_app, sqlite_url, smtp_server):
    """An app on a FakeClock sending to the test SMTP server, with an administrator."""
    clock = FakeClock()
    live = start_app(
        sqlite_url, clock=clock, smtp_url=smtp_server.url, mail_from="blog@example.org"
    )
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", ADDRESS)
    return live


def background_done(live):
    """Wait for the work a page left for after its answer (the lookup and the mail)."""

    async def drain():
        while pending := [task for task in live.app._background if not task.done()]:
            await asyncio.wait(pending)

    live.call(drain)


def ask_for_link(client, address=ADDRESS):
    return client.post_form("/auth/reset", {"email": address})


def link_in(message):
    text = message.get_body(("plain",)).get_content()
    (link,) = re.findall(r"http://127\.0\.0\.1:\d+/auth/reset/\S+", text)
    html = message.get_body(("html",)).get_content()
    assert f'href="{link}"' in html
    return link[link.index("/auth/reset/") :]


def signed_in(live, password=ADMIN_PASSWORD):
    client = BlogClient(live.url)
    assert AuthActions(client).login(password=password).status_code == 302
    return client


def test_the_sign_in_page_leads_to_the_reset_form(site):
    client = BlogClient(site.url)
    assert 'href="/auth/reset"' in client.get("/auth/login").text
    form = client.get("/auth/reset")
    assert form.status_code == 200 and 'name="email"' in form.text


def test_a_reset_link_sets_a_new_password_once_and_signs_other_sessions_out(site, smtp_server):
    phone = signed_in(site)  # another session of the same account
    visitor = BlogClient(site.url)
    answer = ask_for_link(visitor, "ADA@Example.org")
    assert answer.status_code == 200
    assert "If an account uses this address" in page_text(answer.text)
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == ADDRESS
    title = site.service(site_service.get_settings).title
    assert message["Subject"] == f"Choose a new password for {title}"
    assert message["From"].addresses[0].display_name == title
    link = link_in(message)

    form = visitor.get(link)
    assert form.status_code == 200 and ADMIN_USERNAME in form.text
    assert form.headers["Referrer-Policy"] == "no-referrer"
    weak = visitor.post_form(link, {"new_password": "password1", "confirm_password": "password1"})
    assert weak.status_code == 400 and 'name="new_password"' in weak.text
    done = visitor.post_form(link, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/auth/login"
    assert "Your password is changed" in visitor.get("/auth/login").text

    # The new password works, the old one does not.
    assert AuthActions(BlogClient(site.url)).login(password=ADMIN_PASSWORD).status_code == 400
    fresh = signed_in(site, NEW_PASSWORD)
    assert fresh.get("/admin").status_code == 200
    # The session opened before the reset is signed out.
    assert phone.get("/admin").status_code == 302
    # The link is dead now: used.
    again = visitor.get(link)
    assert again.status_code == 400 and "expired or was already used" in again.text
    reuse = visitor.post_form(link, {"new_password": "x" * 20, "confirm_password": "x" * 20})
    assert reuse.status_code == 400
    assert AuthActions(BlogClient(site.url)).login(password=NEW_PASSWORD).status_code == 302
    # Both steps are in the audit log.
    kinds = [event.kind for event in site.service(audit.list_events, 1, "").events]
    assert "password_reset_requested" in kinds and "password_reset" in kinds


def test_an_unknown_address_gets_the_identical_page_and_no_mail(site, smtp_server):
    known = ask_for_link(BlogClient(site.url), ADDRESS)
    background_done(site)
    unknown = ask_for_link(BlogClient(site.url), "nobody@example.org")
    background_done(site)
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == ADDRESS
    # The queue saw one message only (waiting until its delivery is acknowledged).
    deadline = time.monotonic() + 30
    while (outbox := site.call(lambda: site.app.mailer.queue.outbox())).pending:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [m.recipients for m in outbox.sent] == [(ADDRESS,)]


def test_a_link_expires_after_thirty_minutes(site, smtp_server):
    ask_for_link(BlogClient(site.url))
    link = link_in(smtp_server.wait_for(1)[0])
    client = BlogClient(site.url)
    site.clock.advance(29 * 60)
    assert client.get(link).status_code == 200
    site.clock.advance(2 * 60)
    expired = client.get(link)
    assert expired.status_code == 400 and "expired" in expired.text
    refused = client.post_form(
        link, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert refused.status_code == 400
    assert AuthActions(BlogClient(site.url)).login().status_code == 302  # unchanged


def test_a_password_change_kills_a_link_sent_before(site, smtp_server):
    ask_for_link(BlogClient(site.url))
    link = link_in(smtp_server.wait_for(1)[0])
    author = signed_in(site)
    changed = author.post_form(
        "/admin/account/password",
        {
            "current_password": ADMIN_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    assert BlogClient(site.url).get(link).status_code == 400


def test_forged_or_tampered_links_are_refused(site, smtp_server):
    ask_for_link(BlogClient(site.url))
    link = link_in(smtp_server.wait_for(1)[0])
    user_id, expires, mac = link.rsplit("/", 1)[1].split(".")
    client = BlogClient(site.url)
    later = f"/auth/reset/{user_id}.{int(expires) + 3600}.{mac}"
    for forged in [
        later,
        f"/auth/reset/{user_id}.{expires}.AAAA",
        "/auth/reset/1.2",
        "/auth/reset/x",
    ]:
        assert client.get(forged).status_code == 400, forged


def test_requests_are_throttled_per_address_whether_or_not_it_exists(site):
    client = BlogClient(site.url)
    for address in (ADDRESS, "nobody@example.org"):
        statuses = [ask_for_link(client, address).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
    assert ask_for_link(client, "not an address").status_code == 400
    site.clock.advance(3601)
    assert ask_for_link(client, ADDRESS).status_code == 200


def test_requests_are_throttled_per_client_across_addresses(site):
    client = BlogClient(site.url)
    statuses = [ask_for_link(client, f"r{n}@example.org").status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]
    assert "Too many requests" in ask_for_link(client, "other@example.org").text


def test_the_throttle_is_shared_by_every_instance(start_app, sqlite_url, redis_url):
    instances = [start_app(sqlite_url, redis_urls=[redis_url]) for _ in range(2)]
    clients = [BlogClient(live.url) for live in instances]
    statuses = [ask_for_link(clients[n % 2], ADDRESS).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
