"""Live comments across instances: a comment posted on instance A reaches WebSocket clients
connected to instance C directly and through nginx (whichever instance nginx picked)."""

import re
import secrets
import time

from tests.cluster.conftest import poll, sign_in, upstream_ports
from tests.support.websocket import WebSocketClient, ws_url

# The comment form refuses posts made faster than this after the page was shown.
COMMENT_MIN_SECONDS = 3.0


def publish_article(client):
    response = client.post_form(
        "/admin/articles/new",
        {
            "title": f"Live {secrets.token_hex(4)}",
            "content": "Comments arrive while you read.",
            "summary": "",
            "tags": "",
            "status": "published",
        },
    )
    assert response.status_code in (302, 303), response.status_code
    return int(re.search(r"/admin/articles/(\d+)/edit", response.headers["Location"])[1])


def test_a_comment_posted_on_one_instance_reaches_pages_open_on_the_others(cluster):
    first, _second, third = cluster.ports
    author = cluster.direct(first)
    sign_in(author)
    article_id = publish_article(author)
    path = f"/live/article/{article_id}"
    listeners = [WebSocketClient(ws_url(cluster.instance_url(third), path))]
    # Through nginx: consecutive connections go to different instances.
    listeners += [WebSocketClient(ws_url(cluster.url, path)) for _ in range(3)]
    try:
        reader = cluster.direct(first)
        page = reader.get(f"/article/{article_id}", allow_redirects=True)
        assert 'id="comment-form"' in page.text
        # What the form's script fetches: this visitor's token (a cookie) and form time.
        form_time = reader.get(f"/article/{article_id}/comment").json()["form_time"]
        time.sleep(COMMENT_MIN_SECONDS)  # the anti-robot check, not a measurement
        text = f"Hello from instance A <{secrets.token_hex(3)}>"
        posted = reader.post_form(
            f"/article/{article_id}/comment",
            {"author_name": "Reader", "author_email": "", "content": text, "form_time": form_time},
        )
        assert posted.status_code == 303, posted.status_code
        escaped = text.replace("<", "&lt;").replace(">", "&gt;")
        for listener in listeners:
            message = listener.receive(timeout=15)
            assert message["type"] == "comment" and escaped in message["html"]
    finally:
        for listener in listeners:
            listener.close()
    # nginx proxied the upgrades (101, logged once each connection closed) to several instances.
    marker = f'"GET {path} HTTP/1.1" 101 '
    assert poll(lambda: cluster.nginx_access_log().count(marker) == 3, timeout=10)
    assert len(upstream_ports(cluster.nginx_access_log(), marker)) >= 2
