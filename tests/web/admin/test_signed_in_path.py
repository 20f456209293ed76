"""What a signed-in request costs on a warm instance, and that the cache behind it is coherent.

The operator's contract: a signed-in article, the home page, the dashboard and the article list
each make at most 3 SQL statements and one Redis round trip for the session (reader pages add
the one that counts the view). The user's role, password fingerprint and disabled flag, the
article, its comments, the sidebar and the counts come from the instance's memory, which every
instance drops when the bus names what changed: an edit, a role change or a disabled account
made on one instance (or from the shell) counts at once on the other.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from config import ROOT
from model import Article, Comment
from service import roles, users
from service.demo import load_demo_site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient, page_text
from tests.support.meter import Meter, background_done, quiet
from tests.web.admin.conftest import save_article

PASSWORD = "violet-harbour-lantern-42"
MAX_STATEMENTS = 3


def signed_in(live, username=ADMIN_USERNAME, password=ADMIN_PASSWORD):
    client = BlogClient(live.url)
    response = AuthActions(client).login(username=username, password=password)
    assert response.status_code == 302, response.text[-500:]
    return client


def eventually(condition, timeout=5.0):
    """The bus delivers to the other instance a moment later: wait for the behaviour."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            return value
        time.sleep(0.02)
    return value


def first_article_path(live):
    article = live.service(
        lambda s: s.scalar(
            select(Article)
            .where(Article.status == "published", Article.kind == "article")
            .order_by(Article.id)
        )
    )
    return f"/article/{article.id}/{article.slug}"


@pytest.fixture
def two_instances(start_app, database_url, redis_url):
    secret = secrets.token_urlsafe(32)
    first = start_app(database_url, redis_urls=[redis_url], cookie_secret=secret)
    second = start_app(database_url, redis_urls=[redis_url], cookie_secret=secret)
    first.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    return first, second


def test_a_warm_signed_in_page_costs_few_queries_and_one_session_round_trip(
    start_app, database_url, redis_url
):
    live = start_app(database_url, redis_urls=[redis_url])
    live.service(load_demo_site)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    client = signed_in(live)
    article = first_article_path(live)
    # Redis round trips allowed: the session's, and on reader pages the one counting the view.
    pages = {article: 2, "/": 2, "/admin": 1, "/admin/articles": 1}
    for path in pages:  # warm: the first visit loads what the next ones reuse
        for _ in range(2):
            assert client.get(path).status_code == 200, path
    background_done(live)
    quiet(live)
    meter = Meter(live)
    for path, round_trips in pages.items():
        with meter.measure():
            response = client.get(path)
        assert response.status_code == 200, path
        assert "Ada" in response.text, path  # really signed in
        assert len(meter.statements) <= MAX_STATEMENTS, (path, meter.statements)
        assert meter.session_round_trips() == 1, (path, meter.round_trips)
        assert len(meter.round_trips) <= round_trips, (path, meter.round_trips)
    # The meter sees what it counts: a free-text search of the list is never cached.
    with meter.measure():
        assert client.get("/admin/articles?q=inkwell").status_code == 200
    assert len(meter.statements) > 0


def test_an_edit_on_one_instance_shows_at_once_on_the_other(two_instances):
    first, second = two_instances
    writer = signed_in(first)
    article_id = save_article(writer, title="The first title", status="published")
    reader = signed_in(second)

    def article_text():
        response = reader.get(f"/article/{article_id}", allow_redirects=True)
        assert response.status_code == 200
        return page_text(response.text)

    def shows(path, text):
        return text in page_text(reader.get(path).text)

    # The second instance caches what its signed-in pages show...
    assert "The first title" in article_text()
    assert shows("/admin/articles", "The first title")
    assert shows("/admin", "1 articles")
    # ...and drops it when the first one saves.
    save_article(writer, article_id, title="The second title", status="published")
    save_article(writer, title="A new draft")
    assert eventually(lambda: "The second title" in article_text())
    assert eventually(lambda: shows("/admin/articles", "The second title"))
    assert shows("/admin/articles", "A new draft")
    assert eventually(lambda: shows("/admin", "2 articles"))

    # A comment approved on the first instance shows under the article on the second.
    def waiting_comment(session):
        comment = Comment(
            article_id=article_id,
            floor=1,
            author_name="Curious reader",
            content="Is this on?",
            status="pending",
        )
        session.add(comment)
        session.commit()
        return comment.id

    comment_id = first.service(waiting_comment)
    assert "Is this on?" not in article_text()
    assert writer.post_form(f"/admin/comments/{comment_id}/approve").status_code == 302
    assert eventually(lambda: "Is this on?" in article_text())


def test_a_role_changed_on_one_instance_counts_at_once_on_the_other(two_instances):
    first, second = two_instances
    first.service(users.create_admin, "eve", PASSWORD, "Eve", "", roles.EDITOR)
    eve = signed_in(second, "eve", PASSWORD)
    assert eve.get("/admin/comments").status_code == 200  # editors moderate (now cached)
    admin = signed_in(first)
    eve_id = first.service(users.find_user, "eve").id
    assert admin.post_form(f"/admin/users/{eve_id}/role", {"role": "author"}).status_code == 302
    assert eventually(lambda: eve.get("/admin/comments").status_code == 403)
    assert eve.get("/admin").status_code == 200  # authors still have a dashboard


def test_disabling_from_the_shell_signs_out_on_a_running_instance(
    start_app, database_url, redis_url, tmp_path
):
    live = start_app(database_url, redis_urls=[redis_url])
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    live.service(users.create_admin, "ann", PASSWORD, "Ann", "", roles.AUTHOR)
    ann = signed_in(live, "ann", PASSWORD)
    assert ann.get("/admin").status_code == 200  # her state is now in the instance's memory
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BLOG_DATABASE_URL": database_url,
        "BLOG_REDIS_URL": redis_url,
        "BLOG_DATA_DIR": str(tmp_path / "shell-var"),
        "BLOG_LOG_DIR": str(tmp_path / "shell-logs"),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "users", "disable", "ann"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    def signed_out():
        response = ann.get("/admin")
        return response.status_code == 302 and response.headers["Location"].startswith(
            "/auth/login"
        )

    assert eventually(signed_out)


def test_the_dashboard_counts_views_not_yet_flushed(start_app, sqlite_url, redis_url):
    live = start_app(sqlite_url, redis_urls=[redis_url])
    live.service(load_demo_site)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    admin = signed_in(live)

    def page_views():
        text = page_text(admin.get("/admin").text)
        return int(re.search(r"Page views: (\d+)", text).group(1))

    before = page_views()
    reader = BlogClient(live.url)
    for _ in range(3):
        assert reader.get("/").status_code == 200
    assert page_views() == before + 3
