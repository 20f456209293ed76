"""Search through HTTP: it only reads, its results are cached by their words and dropped
when an article changes (on every instance), and one client cannot flood it."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event, select, update

from config import Settings
from model import Article
from model.base import utcnow
from service import search, users
from service.demo import load_demo_site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient, page_text
from tests.web.reader.conftest import invalidate

SEARCHES_PER_MINUTE = Settings().search_limit_per_minute  # the default


def publish(client: BlogClient, title: str, content: str) -> Any:
    response = client.post_form(
        "/admin/articles/new",
        {"title": title, "content": content, "summary": "", "tags": "", "status": "published"},
    )
    assert response.status_code in (302, 303), response.status_code
    return response


def rename_behind_the_app(live: Any, slug: str, title: str) -> None:
    """Change an article and its index directly, telling no instance (no invalidation)."""

    def rename(session):
        article = session.scalar(select(Article).where(Article.slug == slug))
        article.title = title
        search.index_article(session, article)
        session.commit()

    live.service(rename)


def eventually(check: Any, seconds: float = 10) -> bool:
    """True once ``check()`` is (the bus delivers to the other instance in the background)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_search_request_writes_nothing(site, client):
    written: list[str] = []

    def count_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            written.append(statement)

    # Only the requests write here: the leader's jobs (the index's safety net among them) stop.
    site.call(lambda: site.app.jobs.stop())
    # Every article looks edited since it was indexed: before, a search would index them all.
    site.service(lambda s: (s.execute(update(Article).values(updated_at=utcnow())), s.commit()))
    engine = site.app.engine
    event.listen(engine, "before_cursor_execute", count_writes)
    try:
        for path in ("/search?q=nginx", "/search?q=redis+lease", "/search?q=%E5%8D%9A%E5%AE%A2"):
            assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count_writes)
    assert written == []


def test_a_published_article_is_found_at_once(site, client, auth):
    assert "Zeppelin notes" not in client.get("/search?q=zeppelin").text
    auth.login()
    publish(client, "Zeppelin notes", "Airships over the harbour.")
    found = page_text(client.get("/search?q=zeppelin").text)
    assert "Zeppelin notes" in found and "1 article found" in found


def test_results_are_cached_by_their_words_until_an_article_changes(site, client):
    before = page_text(client.get("/search?q=nginx").text)
    assert "How sessions survive behind nginx" in before
    rename_behind_the_app(site, "how-sessions-survive-behind-nginx", "Sticky nothing with nginx")
    # Nobody said an article changed: the same words, however typed, answer from the cache.
    for query in ("nginx", "NGINX", "  Nginx!  ", "ｎｇｉｎｘ"):
        text = page_text(client.get("/search", params={"q": query}).text)
        assert "How sessions survive behind nginx" in text, query
        assert "Sticky nothing" not in text
    invalidate(site, "articles")
    after = page_text(client.get("/search?q=nginx").text)
    assert "Sticky nothing with nginx" in after
    assert "How sessions survive behind nginx" not in after


def test_a_client_searching_too_often_is_told_to_wait(site, client):
    flooder = {"X-Real-IP": "198.51.100.7"}
    for number in range(SEARCHES_PER_MINUTE):
        assert client.get(f"/search?q=word{number}", headers=flooder).status_code == 200
    refused = client.get("/search?q=one+more", headers=flooder)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "You are searching too often" in refused.text
    # A query already answered costs nothing: it still comes from the cache.
    assert client.get("/search?q=word3", headers=flooder).status_code == 200
    # Another address is not held back.
    assert client.get("/search?q=one+more", headers={"X-Real-IP": "192.0.2.9"}).status_code == 200
    client.get("/lang/zh_CN?next=/")
    chinese = client.get("/search?q=yet+another", headers=flooder)
    assert chinese.status_code == 429 and "搜索太频繁" in chinese.text


def test_many_readers_of_one_address_searching_the_same_words_at_once_are_not_refused(
    start_app, database_url, redis_url
):
    # Behind one address (an office, a proxy) many readers ask for the same new words at
    # the same moment: one search runs, the others wait for its results and count nothing
    # (the limit lives in Redis, so the count takes a round trip the crowd could slip into).
    site = start_app(database_url, redis_urls=[redis_url])
    site.service(load_demo_site)
    client = BlogClient(site.url)
    office = {"X-Real-IP": "198.51.100.8"}
    readers = SEARCHES_PER_MINUTE * 3
    start = threading.Barrier(32)

    def read(_: int) -> int:
        reader = BlogClient(site.url)
        start.wait(timeout=30)
        return reader.get("/search?q=markdown+tornado", headers=office).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(read, range(readers - readers % 32)))
    assert statuses == [200] * (readers - readers % 32)
    # The crowd counted one search: the office may still search as often as anyone.
    for number in range(SEARCHES_PER_MINUTE - 1):
        assert client.get(f"/search?q=office{number}", headers=office).status_code == 200
    assert client.get("/search?q=office+more", headers=office).status_code == 429


def wait_subscribed(live: Any) -> None:
    live.call(lambda: asyncio.wait_for(live.app.bus.subscribed.wait(), 10))


def test_instances_share_the_limit_and_drop_cached_results_together(
    start_app, database_url, redis_url
):
    first = start_app(database_url, redis_urls=[redis_url])
    second = start_app(database_url, redis_urls=[redis_url])
    first.service(load_demo_site)
    first.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada", "")
    wait_subscribed(first)
    wait_subscribed(second)
    reader = BlogClient(second.url)

    # The reader's instance caches "nothing found"; the author publishes on the other one.
    assert "1 article found" not in reader.get("/search?q=zeppelin").text
    author = BlogClient(first.url)
    AuthActions(author).login()
    publish(author, "Zeppelin notes", "Airships over the harbour.")
    assert eventually(lambda: "Zeppelin notes" in reader.get("/search?q=zeppelin").text)

    # One address, two instances, one count in Redis.
    address = {"X-Real-IP": "198.51.100.8"}
    on_first, on_second = BlogClient(first.url), BlogClient(second.url)
    for number in range(SEARCHES_PER_MINUTE):
        client = on_first if number % 2 else on_second
        assert client.get(f"/search?q=shared{number}", headers=address).status_code == 200
    assert on_first.get("/search?q=over", headers=address).status_code == 429
    assert on_second.get("/search?q=over", headers=address).status_code == 429
