"""Commenting on an article page that nginx's micro-cache served: the shared page holds no
token and sets no cookie; the form's script fetches this visitor's own, and the post works."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.conftest import RunningCluster, poll, sign_in, start_cluster
from tests.cluster.test_live_comments import publish_article
from tests.support.live import BlogClient


@pytest.fixture(scope="module")
def cached_cluster(tmp_path_factory, mariadb_server) -> Iterator[RunningCluster]:
    """Instances behind nginx with BLOG_NGINX_MICROCACHE on; no wait before commenting."""
    yield from start_cluster(
        tmp_path_factory,
        mariadb_server,
        microcache=True,
        instance_env={"BLOG_COMMENT_MIN_SECONDS": "0"},
    )


def served_from_cache(client: BlogClient, url: str):
    """The page as nginx's micro-cache answers it (two requests in the same second)."""

    def hit():
        response = client.get(url)
        return response if response.headers.get("X-Cache-Status") == "HIT" else None

    return poll(hit, timeout=20)


def test_nginx_keeps_the_article_page_and_it_holds_nobodys_token(cached_cluster):
    author = cached_cluster.client()
    sign_in(author)
    article_id = publish_article(author)
    reader = cached_cluster.client()
    url = reader.get(f"/article/{article_id}").headers["Location"]
    cached = served_from_cache(reader, url)
    assert cached is not None, "nginx's micro-cache answers the anonymous article page"
    assert "Set-Cookie" not in cached.headers
    assert '<input type="hidden" name="_xsrf" value="">' in cached.text
    assert '<input type="hidden" name="form_time" value="">' in cached.text
    assert not reader.cookies
    # A signed-in author is never served the shared copy.
    assert author.get(url).headers.get("X-Cache-Status") == "BYPASS"
    # The hit is logged (buffered, flushed within 2 s) in cache-hits.log, not in access.log.
    hit_line = f"rid={cached.headers['X-Request-ID']} "
    hits_log = cached_cluster.state_dir / "nginx" / "cache-hits.log"
    assert poll(lambda: hits_log.exists() and hit_line in hits_log.read_text(), timeout=10)
    assert "cache=HIT" in next(
        line for line in hits_log.read_text().splitlines() if hit_line in line
    )
    assert hit_line not in cached_cluster.nginx_access_log()


def test_a_reader_comments_from_a_page_served_by_the_micro_cache(cached_cluster, page):
    author = cached_cluster.client()
    sign_in(author)
    article_id = publish_article(author)
    url = (
        cached_cluster.url
        + BlogClient(cached_cluster.url).get(f"/article/{article_id}").headers["Location"]
    )

    def open_from_cache():
        response = page.goto(url)
        return response if response.headers.get("x-cache-status") == "HIT" else None

    served = poll(open_from_cache, timeout=20)
    assert served is not None, "the browser got the page from nginx's micro-cache"
    assert "set-cookie" not in served.headers
    assert page.context.cookies() == []

    form = page.locator("#comment-form")
    form.get_by_label("Your name").fill("Cached reader")
    form.get_by_label("Your comment").fill("Posted from a cached page")
    page.locator("#comment-form[data-ready=yes]").wait_for()  # the script fetched the token
    assert any(cookie["name"] == "_xsrf" for cookie in page.context.cookies())
    with page.expect_navigation():
        form.get_by_role("button", name="Post comment").click()
    # Back on the article, fresh (not the cached copy): the comment is there.
    page.locator(".comment-list", has_text="Posted from a cached page").wait_for()
    assert "Cached reader" in page.locator(".comment-list").inner_text()
