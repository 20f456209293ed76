"""Outgoing mail end to end: a real SMTP server (aiosmtpd, its own process) receives what
the queue delivers; a dead sender's message goes out exactly once; a failing server leads to
retries, then a failed message on /admin/mail that the Retry button sends again."""

import logging

import pytest

from extends.mailer import MailContent, compose
from service import users
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.clock import FakeClock
from tests.support.live import BlogClient, page_text
from tests.support.servers import RedisServer

CONTENT = MailContent(
    subject="Welcome to the blog",
    text="Hello reader,\n\nThis is plain text.\n",
    html="<p>Hello reader,</p><p>This is <strong>HTML</strong>.</p>",
)
# Long enough that only the test (deliver_due) or a wake-up runs a delivery.
QUIET = {"mail_poll_seconds": 3600.0}


def mail_settings(smtp_server, **extra):
    return {"smtp_url": smtp_server.url, "mail_from": "blog@example.org", **QUIET, **extra}


def queue_without_waking(live, to="reader@example.org", content=CONTENT):
    """Put a message in the queue the way Mailer.send does, minus the wake-up."""
    app = live.app
    envelope = compose(content, to, app.mailer.mail_from, "Inkwell Test", live.clock.time())
    return live.call(lambda: app.mailer.queue.enqueue(envelope))


def deliver_due(live):
    return live.call(lambda: live.app.mailer.delivery.deliver_due())


def signed_in_client(live):
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    client = BlogClient(live.url)
    assert AuthActions(client).login().status_code == 302
    return client


@pytest.mark.parametrize("store", ["database", "redis"])
def test_a_message_arrives_as_multipart_text_and_html_from_the_site(
    start_app, sqlite_url, smtp_server, store, request
):
    redis_urls = [request.getfixturevalue("redis_url")] if store == "redis" else None
    live = start_app(sqlite_url, redis_urls=redis_urls, **mail_settings(smtp_server))
    live.call(lambda: live.app.mailer.send(CONTENT, "Reader@Example.ORG", "Inkwell Test"))
    (message,) = smtp_server.wait_for(1)
    assert message["X-Rcpt-To"] == "Reader@example.org"
    assert message["From"].addresses[0].display_name == "Inkwell Test"
    assert message["From"].addresses[0].addr_spec == "blog@example.org"
    assert message["To"] == "Reader@example.org"
    assert message["Subject"] == "Welcome to the blog"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"] is not None
    assert message.get_content_type() == "multipart/alternative"
    assert "This is plain text." in message.get_body(("plain",)).get_content()
    assert "<strong>HTML</strong>" in message.get_body(("html",)).get_content()


def test_a_message_claimed_by_a_sender_that_died_is_delivered_once(
    start_app, sqlite_url, redis_url, smtp_server
):
    clock = FakeClock()
    live = start_app(sqlite_url, redis_urls=[redis_url], clock=clock, **mail_settings(smtp_server))
    queue = live.app.mailer.queue
    queue_without_waking(live)
    # Another instance claimed it, then was killed before sending or acknowledging.
    (dead_claim,) = live.call(lambda: queue.claim(10))
    assert deliver_due(live) == 0  # the claim still holds: nobody else sends it
    clock.advance(live.app.mailer.queue.policy.visibility_timeout + 1)
    assert deliver_due(live) == 1
    assert len(smtp_server.wait_for(1)) == 1
    # The dead instance's late acknowledgement changes nothing; nothing is sent twice.
    assert live.call(lambda: queue.delivered(dead_claim)) is False
    clock.advance(3600)
    assert deliver_due(live) == 0
    assert len(smtp_server.messages()) == 1


@pytest.mark.parametrize("store", ["database", "redis"])
def test_a_failing_server_leads_to_retries_then_a_failed_message_that_can_be_retried(
    start_app, sqlite_url, smtp_server, store, request
):
    redis_urls = [request.getfixturevalue("redis_url")] if store == "redis" else None
    clock = FakeClock()
    live = start_app(
        sqlite_url,
        redis_urls=redis_urls,
        clock=clock,
        **mail_settings(smtp_server, mail_max_attempts=3),
    )
    client = signed_in_client(live)
    smtp_server.stop()
    queue_without_waking(live, to="someone@example.org")
    policy = live.app.mailer.queue.policy
    for attempt in range(1, 4):
        assert deliver_due(live) == 0
        page = page_text(client.get("/admin/mail").text)
        assert "ConnectionRefusedError" in page
        clock.advance(policy.delay(attempt) + 1)
    page = client.get("/admin/mail")
    assert page.status_code == 200
    failed = page.text.split('class="data mail-failed"')[1].split("</table>")[0]
    assert "someone@example.org" in failed and "ConnectionRefusedError" in failed
    assert "Nothing is waiting to be sent." in page.text
    (mail,) = live.call(lambda: live.app.mailer.queue.outbox()).failed
    # The button is a POST with the XSRF token: without it, nothing happens.
    assert client.post(f"/admin/mail/{mail.id}/retry").status_code == 403
    smtp_server.start()
    response = client.post_form(f"/admin/mail/{mail.id}/retry")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/mail"
    (message,) = smtp_server.wait_for(1)  # the retry woke the delivery loop
    assert message["To"] == "someone@example.org"
    assert "No message has failed." in client.get("/admin/mail").text
    # A second retry of a message that is no longer failed is refused, clearly.
    assert client.post_form(f"/admin/mail/{mail.id}/retry").status_code == 409
    assert client.post_form("/admin/mail/not-an-id/retry").status_code == 404


def test_without_smtp_messages_go_to_the_log_and_the_outbox_page(start_app, sqlite_url, caplog):
    live = start_app(sqlite_url)  # no BLOG_SMTP_URL, as with `make run`
    client = signed_in_client(live)
    with caplog.at_level(logging.INFO, logger="blog.mail"):
        queue_without_waking(live, to="newcomer@example.org")
        assert deliver_due(live) == 1
    assert "This is plain text." in caplog.text
    assert "newcomer@example.org" in caplog.text
    page = client.get("/admin/mail").text
    assert "the log (no BLOG_SMTP_URL)" in page
    assert "newcomer@example.org" in page and "This is plain text." in page


def test_the_outbox_is_for_signed_in_authors_only(start_app, sqlite_url):
    live = start_app(sqlite_url)
    anonymous = BlogClient(live.url)
    assert anonymous.get("/admin/mail").status_code == 302
    assert anonymous.post_form("/admin/mail/" + "a" * 32 + "/retry").status_code == 403


class DurableRedis(RedisServer):
    """A redis-server with its append-only file on, as the cluster launcher runs it."""

    def start(self):
        from deploy.servers import start_redis

        self.process = start_redis(self.directory, self.port, snapshot=True)


def test_the_redis_queue_survives_a_redis_restart(start_app, sqlite_url, smtp_server, tmp_path):
    redis = DurableRedis(tmp_path / "redis")
    redis.start()
    try:
        live = start_app(sqlite_url, redis_urls=[redis.url], **mail_settings(smtp_server))
        queue_without_waking(live, to="durable@example.org")
        redis.stop()
        redis.start()
        sent = 0
        for _ in range(100):  # until Redis has replayed its file (it answers LOADING)
            try:
                sent = deliver_due(live)
                break
            except Exception as exc:
                assert "LOADING" in str(exc) or "unavailable" in str(exc).lower(), exc
        assert sent == 1
        (message,) = smtp_server.wait_for(1)
        assert message["To"] == "durable@example.org"
    finally:
        redis.stop()


def test_an_untrusted_smtp_certificate_keeps_the_message_with_a_clear_error(
    start_app, sqlite_url, smtp_tls_server, smtp_certificates
):
    # No BLOG_SMTP_CA_FILE: the test CA is not in the system's trust store.
    live = start_app(sqlite_url, **mail_settings(smtp_tls_server))
    client = signed_in_client(live)
    queue_without_waking(live, to="someone@example.org")
    assert deliver_due(live) == 0
    (mail,) = live.call(lambda: live.app.mailer.queue.outbox()).pending
    assert "certificate verify failed" in mail.last_error
    page = page_text(client.get("/admin/mail").text)
    assert "someone@example.org" in page and "certificate verify failed" in page
    assert smtp_tls_server.messages() == []

    # With the CA named in BLOG_SMTP_CA_FILE the same server is trusted.
    trusting = start_app(
        sqlite_url,
        **mail_settings(smtp_tls_server, smtp_ca_file=str(smtp_certificates.ca_cert)),
    )
    queue_without_waking(trusting, to="other@example.org")
    assert deliver_due(trusting) >= 1
    received = smtp_tls_server.wait_for(1)
    assert any(m["To"] == "other@example.org" and m["X-Received-TLS"] == "yes" for m in received)
