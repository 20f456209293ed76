"""A signed-in article page reuses the drawn article and comment list, and shows the same bytes.

The article's body and its comment list are the same for every signed-in reader of one
language: an instance draws them once and keeps them (the ``fragments`` region in /healthz)
while the cached article and comments they were drawn from stay the same. What differs per
reader (the header with their name, the comment form with its token and signed time) is drawn
on every request around them. So a page built from kept pieces is byte for byte the page a
fresh instance draws from scratch, for any role and language, and an edit, a new comment,
moderation or a change of the comment setting shows on the next request.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from extends.cache import ALL, FRAGMENTS
from model import Article, Comment
from service import roles, users
from tests.conftest import AuthActions
from tests.support.live import BlogClient
from tests.web.admin.conftest import save_article
from tests.web.reader.conftest import article_url, post_comment, set_site

PASSWORD = "violet-harbour-lantern-42"
READERS = {
    "ada": ("Ada <Admin>", roles.ADMINISTRATOR),
    "ann": ("Ann & Co", roles.AUTHOR),
    "carl": ("Carl", roles.CONTRIBUTOR),
}
LANGUAGES = ("en_US", "zh_CN")
# What is new on every request by design: the form's XSRF token and signed time, and the
# sidebar's live counts (each request is a view).
_PER_REQUEST = (
    (re.compile(r'(name="_xsrf" value=")[^"]*"'), r'\1"'),
    (re.compile(r'(name="form_time" value=")[^"]*"'), r'\1"'),
    (re.compile(r"<dd>[0-9]+</dd>"), "<dd></dd>"),
)


def without_per_request_values(html: str) -> str:
    for pattern, replacement in _PER_REQUEST:
        html = pattern.sub(replacement, html)
    return html


def signed_in(live, username: str, language: str) -> BlogClient:
    client = BlogClient(live.url)
    client.cookies.set("lang", language, domain="127.0.0.1", path="/")
    assert AuthActions(client).login(username=username, password=PASSWORD).status_code == 302
    return client


def forget_fragments(live) -> None:
    """Empty the fragments region, as on an instance that just started."""

    async def forget() -> None:
        live.app.cache.regions[FRAGMENTS].invalidate({ALL})

    live.call(forget)


def kept_fragments(client: BlogClient) -> int:
    return client.get("/healthz").json()["caches"][FRAGMENTS]["entries"]


def most_commented(live) -> Article:
    def query(session):
        article_id = session.scalar(
            select(Comment.article_id)
            .group_by(Comment.article_id)
            .order_by(func.count().desc(), Comment.article_id)
        )
        return session.get(Article, article_id)

    return live.service(query)


@pytest.fixture
def readers(site):
    for username, (name, role) in READERS.items():
        site.service(users.create_admin, username, PASSWORD, name, "", role)
    return site


def test_kept_pieces_make_the_page_a_fresh_instance_draws(readers):
    live = readers
    article = most_commented(live)
    reader = BlogClient(live.url)
    for text in ("First <b>bold</b> try https://example.org/a", "<script>alert(1)</script>"):
        response = post_comment(reader, article, text, author_name="Eve <i>")
        assert response.status_code == 303, response.text[-500:]
    assert post_comment(reader, article, "A reply", reply_to="1").status_code == 303
    clients = {
        (username, language): signed_in(live, username, language)
        for username in READERS
        for language in LANGUAGES
    }
    paths = (article_url(article), article_url(article) + "?reply_to=1")

    drawn = {}
    for key, client in clients.items():
        for path in paths:
            forget_fragments(live)
            response = client.get(path)
            assert response.status_code == 200
            drawn[(*key, path)] = response.text
    # Kept once by someone else (a reader who is not signed in), reused by every signed-in one.
    forget_fragments(live)
    for language in LANGUAGES:
        anonymous = BlogClient(live.url)
        anonymous.cookies.set("lang", language, domain="127.0.0.1", path="/")
        assert anonymous.get(paths[0]).status_code == 200
    assert kept_fragments(reader) == 2 * len(LANGUAGES)  # article and comments, per language

    for (username, language), client in clients.items():
        for path in paths:
            page = client.get(path).text
            expected = drawn[(username, language, path)]
            assert without_per_request_values(page) == without_per_request_values(expected), (
                username,
                language,
                path,
            )
    assert kept_fragments(reader) == 2 * len(LANGUAGES)  # nothing drawn again

    # What differs per reader is theirs, escaped; the shared pieces are escaped as before.
    ada = drawn[("ada", "en_US", paths[0])]
    assert "Ada &lt;Admin&gt;" in ada and "Ada <Admin>" not in ada
    assert "Ann &amp; Co" in drawn[("ann", "en_US", paths[0])]
    assert "Eve &lt;i&gt;" in ada and "<script>alert(1)</script>" not in ada
    assert '<html lang="zh-CN">' in drawn[("carl", "zh_CN", paths[0])]
    assert "Leave a comment" in ada and "Leave a comment" not in drawn[("ada", "zh_CN", paths[0])]


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """The bus reaches the other instance a moment later: wait for the behaviour."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_an_edit_a_comment_moderation_and_settings_show_at_once(start_app, database_url, redis_url):
    secret = secrets.token_urlsafe(32)
    first = start_app(database_url, redis_urls=[redis_url], cookie_secret=secret)
    second = start_app(database_url, redis_urls=[redis_url], cookie_secret=secret)
    first.service(users.create_admin, "ada", PASSWORD, "Ada", "")
    first.app.comment_guard.min_seconds = 0
    writer = signed_in(first, "ada", "en_US")
    article_id = save_article(
        writer, title="The first title", content="First words.", status="published"
    )
    # Readers on the other instance, in both languages.
    readers = [signed_in(second, "ada", language) for language in LANGUAGES]

    def everyone_sees(text: str, present: bool = True) -> bool:
        for client in readers:
            response = client.get(f"/article/{article_id}", allow_redirects=True)
            assert response.status_code == 200
            if (text in response.text) is not present:
                return False
        return True

    assert everyone_sees("First words.")
    assert everyone_sees("First words.")  # now from the kept pieces
    assert kept_fragments(readers[0]) == len(LANGUAGES)  # the article (no comments yet)

    save_article(
        writer, article_id, title="The second title", content="Second words.", status="published"
    )
    assert eventually(
        lambda: everyone_sees("Second words.") and everyone_sees("First words.", False)
    )

    article = first.service(lambda session: session.get(Article, article_id))
    assert post_comment(BlogClient(first.url), article, "Is this on?").status_code == 303
    assert eventually(lambda: everyone_sees("Is this on?"))
    assert everyone_sees('class="reply-link"')

    comment_id = first.service(
        lambda session: session.scalar(select(Comment.id).where(Comment.article_id == article_id))
    )
    assert writer.post_form(f"/admin/comments/{comment_id}/hide").status_code == 302
    assert eventually(lambda: everyone_sees("Is this on?", False))
    assert writer.post_form(f"/admin/comments/{comment_id}/approve").status_code == 302
    assert eventually(lambda: everyone_sees("Is this on?"))

    # Closing comments takes the reply links out of the kept comment list too.
    set_site(first, comment_mode="closed")
    assert eventually(lambda: everyone_sees('class="reply-link"', False))
    assert everyone_sees("Is this on?") and everyone_sees('id="comment-form"', False)
