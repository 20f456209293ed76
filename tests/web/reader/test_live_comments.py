"""Live comments over WebSocket: a comment posted (or approved) reaches an open article page
as the page's own escaped fragment; the admin header's moderation count follows; strange
origins, anonymous admins and chatty clients are refused; shutdown closes cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tornado.httpclient import HTTPClientError

from model import Comment
from tests.support.live import BlogClient
from tests.support.websocket import WebSocketClient, ws_url
from tests.web.reader.conftest import article_by_slug, article_url, post_comment, set_site

SLUG = "writing-in-markdown"


def article_socket(live, article, **kwargs):
    return WebSocketClient(ws_url(live.url, f"/live/article/{article.id}"), **kwargs)


def admin_socket(live, client):
    cookies = {name: client.cookies.get(name) for name in ("sid",)}
    return WebSocketClient(ws_url(live.url, "/live/admin"), cookies=cookies)


def test_a_new_comment_reaches_an_open_page_escaped_as_on_the_page(site, client):
    article = article_by_slug(site, SLUG)
    listener = article_socket(site, article)
    try:
        hostile = "<script>alert('x')</script> & <b>bold</b>"
        response = post_comment(client, article, hostile, author_name="<img src=x onerror=1>")
        assert response.status_code == 303
        message = listener.receive()
        assert message["type"] == "comment"
        floor = message["floor"]
        assert response.headers["Location"].endswith(f"#floor-{floor}")
        html = message["html"]
        assert "<script>" not in html and "<img" not in html and "<b>" not in html
        assert "&lt;script&gt;" in html and "&lt;img src=x onerror=1&gt;" in html
        assert f'id="floor-{floor}"' in html and "?reply_to=" in html
        # Exactly the fragment the page itself shows.
        page = client.get(article_url(article)).text
        assert html.strip() in page
    finally:
        listener.close()


def test_other_articles_hear_nothing_and_a_pending_comment_waits_for_approval(site, client, auth):
    set_site(site, comment_mode="moderated")
    article = article_by_slug(site, SLUG)
    auth.login()
    author = auth.client
    reader = BlogClient(site.url)
    listener = article_socket(site, article)
    admin = admin_socket(site, author)
    try:
        assert admin.receive() == {"type": "pending", "count": 0}
        response = post_comment(reader, article, "Please approve me")
        assert response.status_code == 303 and "comment=pending" in response.headers["Location"]
        assert admin.receive() == {"type": "pending", "count": 1}
        comment_id = site.service(lambda session: session.scalar(select(func.max(Comment.id))))
        approved = author.post_form(f"/admin/comments/{comment_id}/approve")
        assert approved.status_code == 302
        message = listener.receive()
        assert message["type"] == "comment" and "Please approve me" in message["html"]
        assert admin.receive() == {"type": "pending", "count": 0}
    finally:
        listener.close()
        admin.close()


def test_a_foreign_origin_is_refused(site):
    article = article_by_slug(site, SLUG)
    with pytest.raises(HTTPClientError) as refused:
        article_socket(site, article, origin="https://evil.example")
    assert refused.value.code == 403


def test_the_admin_channel_needs_a_signed_in_author(site):
    with pytest.raises(HTTPClientError) as refused:
        WebSocketClient(ws_url(site.url, "/live/admin"))
    assert refused.value.code == 403


def test_what_clients_send_is_ignored_and_size_limited(site, client):
    article = article_by_slug(site, SLUG)
    listener = article_socket(site, article)
    try:
        listener.send("hello")  # ignored: the connection stays and still delivers
        post_comment(client, article, "Still listening")
        assert "Still listening" in listener.receive()["html"]
        listener.send("x" * 100_000)
        assert listener.receive() is None
        assert listener.close_code == 1009  # message too big
    finally:
        listener.close()


def test_shutdown_closes_connections_cleanly(start_app, sqlite_url):
    live = start_app(sqlite_url)
    listener = WebSocketClient(ws_url(live.url, "/live/article/1"))
    try:
        live.stop()
        assert listener.receive() is None
        assert listener.close_code == 1001  # going away: the page reconnects elsewhere
    finally:
        listener.close()
