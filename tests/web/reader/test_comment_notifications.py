"""Email about comments, with a real SMTP server: "email me replies" is confirmed first
(double opt-in), replies then arrive, in the commenter's language, with a one-click
unsubscribe that works (RFC 8058); authors who ask get moderation notices; a flood of
comments is not a flood of mail."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlalchemy import func, select

from extends.ratelimit import MemoryRateLimit
from model import Comment
from service import users
from service.demo import load_demo_site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient
from tests.web.reader.conftest import article_by_slug, post_comment, set_site

SLUG = "writing-in-markdown"


@pytest.fixture
def blog(start_app, sqlite_url, smtp_server):
    live = start_app(sqlite_url, smtp_url=smtp_server.url, mail_from="blog@example.org")
    live.service(load_demo_site)
    live.app.comment_guard.min_seconds = 0
    live.app.comment_guard.limiter = MemoryRateLimit(limit=1000, window=60)
    return live


def settle(live):
    """Wait until the notices left for after each answer are queued and delivered."""

    async def drain():
        while pending := [task for task in live.app._background if not task.done()]:
            await asyncio.wait(pending)

    live.call(drain)
    deadline = time.monotonic() + 30
    while live.call(lambda: live.app.mailer.queue.outbox()).pending:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def last_comment_id(live):
    return live.service(lambda session: session.scalar(select(func.max(Comment.id))))


def link(message, path):
    text = message.get_body(("plain",)).get_content()
    (found,) = re.findall(rf"http://127\.0\.0\.1:\d+{path}\S+", text)
    return found


def one_click(url):
    """What a mail client does with List-Unsubscribe-Post: a bare POST, no cookies."""
    import requests

    return requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)


def test_reply_mail_needs_confirmation_then_arrives_until_one_click_unsubscribe(blog, smtp_server):
    article = article_by_slug(blog, SLUG)
    ada = BlogClient(blog.url)
    post_comment(ada, article, "First!", author_email="ada@example.org", notify_replies="1")
    ada_comment = last_comment_id(blog)
    (confirmation,) = smtp_server.wait_for(1)
    assert confirmation["To"] == "ada@example.org"
    assert confirmation["Subject"].startswith("Confirm reply notifications")
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    confirm = link(confirmation, "/mail/confirm/")

    # Before confirming: a reply sends nothing.
    post_comment(BlogClient(blog.url), article, "Too early", reply_to=str(ada_comment))
    settle(blog)
    assert len(smtp_server.messages()) == 1

    page = ada.get(confirm[confirm.index("/mail/") :])
    assert page.status_code == 200 and "Confirm" in page.text
    assert ada.post_form(confirm[confirm.index("/mail/") :]).status_code == 200

    post_comment(
        BlogClient(blog.url), article, "A real <answer>", author_name="Bob",
        reply_to=str(ada_comment),
    )  # fmt: skip
    settle(blog)
    confirmation, reply = smtp_server.wait_for(2)
    assert reply["To"] == "ada@example.org"
    assert reply["Subject"] == "New reply to your comment on “Writing in Markdown”"
    body = reply.get_body(("plain",)).get_content()
    assert "Bob replied" in body and "A real <answer>" in body
    assert "&lt;answer&gt;" in reply.get_body(("html",)).get_content()
    unsubscribe = reply["List-Unsubscribe"].strip().strip("<>")
    assert reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link(reply, "/mail/unsubscribe/") == unsubscribe

    assert one_click(unsubscribe).status_code == 200
    post_comment(BlogClient(blog.url), article, "Anyone there?", reply_to=str(ada_comment))
    settle(blog)
    assert len(smtp_server.messages()) == 2
    assert one_click(unsubscribe).status_code == 404  # nothing left to stop


def test_the_confirmation_speaks_the_commenters_language(blog, smtp_server):
    article = article_by_slug(blog, SLUG)
    reader = BlogClient(blog.url)
    reader.cookies.set("lang", "zh_CN", domain="127.0.0.1", path="/")
    post_comment(reader, article, "你好", author_email="li@example.org", notify_replies="1")
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"].startswith("确认")
    assert "退订" in message.get_body(("plain",)).get_content()


def test_authors_who_ask_get_moderation_notices_within_a_limit(blog, smtp_server):
    blog.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "ada@example.org")
    author = BlogClient(blog.url)
    assert AuthActions(author).login().status_code == 302
    assert 'name="notify_comments"' in author.get("/admin/account").text
    saved = author.post_form("/admin/account/notifications", {"notify_comments": "1"})
    assert saved.status_code == 302
    set_site(blog, comment_mode="moderated")
    article = article_by_slug(blog, SLUG)
    for n in range(7):  # a flood
        post_comment(BlogClient(blog.url), article, f"Spam wave {n}")
    settle(blog)
    notices = smtp_server.messages()
    assert len(notices) == 5  # the per-recipient hourly limit
    assert notices[0]["Subject"] == "A comment waits for moderation on “Writing in Markdown”"
    assert "/admin/comments?status=pending" in notices[0].get_body(("plain",)).get_content()
    assert one_click(notices[0]["List-Unsubscribe"].strip().strip("<>")).status_code == 200
    assert 'name="notify_comments" value="1" checked' not in author.get("/admin/account").text


def test_forged_links_are_refused(blog):
    client = BlogClient(blog.url)
    assert one_click(blog.url + "/mail/unsubscribe/a1-forged").status_code == 404
    assert one_click(blog.url + "/mail/unsubscribe/s-unknown").status_code == 404
    assert client.post_form("/mail/confirm/s-unknown").status_code == 404
    assert client.post("/mail/confirm/s-unknown").status_code == 403  # a page form: XSRF


def test_approved_replies_and_the_authors_own_reply_are_notified(blog, smtp_server):
    blog.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    author = BlogClient(blog.url)
    assert AuthActions(author).login().status_code == 302
    set_site(blog, comment_mode="moderated")
    article = article_by_slug(blog, SLUG)
    reader = BlogClient(blog.url)
    post_comment(reader, article, "Mine", author_email="li@example.org", notify_replies="1")
    mine = last_comment_id(blog)
    (confirmation,) = smtp_server.wait_for(1)
    confirm = link(confirmation, "/mail/confirm/")
    assert reader.post_form(confirm[confirm.index("/mail/") :]).status_code == 200
    assert author.post_form(f"/admin/comments/{mine}/approve").status_code == 302

    post_comment(BlogClient(blog.url), article, "Waiting reply", reply_to=str(mine))
    settle(blog)
    assert len(smtp_server.messages()) == 1  # pending: nobody is told yet
    waiting = last_comment_id(blog)
    assert author.post_form(f"/admin/comments/{waiting}/approve").status_code == 302
    settle(blog)
    assert "Waiting reply" in smtp_server.wait_for(2)[1].get_body(("plain",)).get_content()

    answered = author.post_form(f"/admin/comments/{mine}/reply", {"content": "Thanks, Li"})
    assert answered.status_code == 302
    settle(blog)
    latest = smtp_server.wait_for(3)[2]
    assert latest["To"] == "li@example.org"
    assert "Thanks, Li" in latest.get_body(("plain",)).get_content()


def test_a_comment_flood_becomes_a_few_notices_and_one_digest(start_app, sqlite_url, smtp_server):
    from tests.support.clock import FakeClock

    clock = FakeClock()
    blog = start_app(sqlite_url, clock=clock, smtp_url=smtp_server.url, mail_from="b@example.org")
    blog.service(load_demo_site)
    blog.app.comment_guard.min_seconds = 0
    blog.app.comment_guard.limiter = MemoryRateLimit(limit=1000, window=60)
    blog.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "ada@example.org")
    author = BlogClient(blog.url)
    assert AuthActions(author).login().status_code == 302
    assert author.post_form("/admin/account/notifications", {"notify_comments": "1"}).ok
    set_site(blog, comment_mode="moderated")
    article = article_by_slug(blog, SLUG)
    for n in range(30):
        post_comment(BlogClient(blog.url), article, f"Wave number {n}")
    settle(blog)
    assert len(smtp_server.messages()) == 5  # the limit; the other 25 wait

    blog.call(lambda: blog.app.jobs.run_now("mail-digests"))
    settle(blog)
    assert len(smtp_server.messages()) == 5  # the window is still open

    clock.advance(3600)
    blog.call(lambda: blog.app.jobs.run_now("mail-digests"))
    settle(blog)
    messages = smtp_server.messages()
    assert len(messages) == 6
    digest = messages[-1]
    assert digest["To"] == "ada@example.org"
    assert digest["Subject"].startswith("25 new comments at ")
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    for n in range(5, 30):
        assert f"Wave number {n}" in text and f"Wave number {n}" in html
    assert "Wave number 4" not in text
    floors = re.findall(rf"http://127\.0\.0\.1:\d+/article/{article.id}/\S+#floor-\d+", text)
    assert len(floors) == 25
    assert "/admin/comments?status=pending" in text
    assert "/mail/unsubscribe/" in digest["List-Unsubscribe"]

    # Sent once: the next run has nothing left.
    blog.call(lambda: blog.app.jobs.run_now("mail-digests"))
    settle(blog)
    assert len(smtp_server.messages()) == 6


def test_the_digest_speaks_the_recipients_language(blog):
    import tornado.locale

    from controller.mail_content import render_mail
    from service.notifications import Digest, Notice

    notice = Notice("reply", "li@example.org", "zh_CN", "s-x", "标题", "/article/1/x#floor-2",
                    2, "Reader", "你好")  # fmt: skip
    digest = Digest("li@example.org", "zh_CN", "s-x", "http://b", "Blog", [notice] * 2, [1, 2])
    content = render_mail(
        "notify_digest", "subject", tornado.locale.get("zh_CN"), digest=digest,
        links=["http://b/article/1/x#floor-2"] * 2, moderation_link="", unsubscribe_link="u",
    )  # fmt: skip
    assert "在我们暂缓发信期间收到了 2 条新评论" in content.text
    assert "Reader 评论了《标题》（#2）" in content.html
