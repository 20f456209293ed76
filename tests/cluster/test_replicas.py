"""MariaDB read replicas: anonymous reads spread to a replica, authors read their writes,
a lagging or stopped replica is taken out (and /healthz says so), a publish is seen at
once even when the replica lags, and stopping the replica under traffic fails no read.

The module has its own primary (binary log, GTID) and replica; every test gets a fresh
database on the primary that the replica copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pymysql
import pytest

from commands import upgrade_database
from service import users
from tests.cluster.conftest import Load, poll, start_cluster
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient, LiveApp, make_settings, page_text
from tests.support.servers import ReplicatedMariaDB
from tests.web.admin.conftest import save_article

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicatedMariaDB]:
    servers = ReplicatedMariaDB(tmp_path_factory.mktemp("replicated"))
    servers.start()
    yield servers
    servers.stop()


def set_replica_delay(replicated: ReplicatedMariaDB, seconds: int) -> None:
    replicated.replica.execute("STOP SLAVE")
    replicated.replica.execute(f"CHANGE MASTER TO MASTER_DELAY={int(seconds)}")
    replicated.replica.execute("START SLAVE")


@pytest.fixture
def databases(replicated: ReplicatedMariaDB, tmp_path: Any) -> tuple[str, str]:
    """A migrated database on the primary and its URL on the replica (which has it too)."""
    if replicated.replica.process is None:
        replicated.start_replica()
    set_replica_delay(replicated, 0)
    primary_url, replica_url = replicated.new_database_urls()
    upgrade_database(make_settings(tmp_path, primary_url))
    replicated.wait_caught_up()
    return primary_url, replica_url


@pytest.fixture
def start_replicated_app(
    start_app: Callable[..., LiveApp], databases: tuple[str, str]
) -> Callable[..., LiveApp]:
    primary_url, replica_url = databases

    def start(**extra: Any) -> LiveApp:
        return start_app(primary_url, database_replica_urls=[replica_url], **extra)

    return start


def replica_status(app: LiveApp) -> dict[str, Any]:
    answer = BlogClient(app.url).get("/healthz").json()
    (replica,) = answer["replicas"]
    return replica


def in_use(app: LiveApp) -> bool:
    return replica_status(app)["in_use"]


def selects_on(port: int) -> int:
    connection = pymysql.connect(host="127.0.0.1", port=port, user="root", password="")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_select'")
            row = cursor.fetchone()
    finally:
        connection.close()
    assert row is not None
    return int(row[1])


def signed_in_client(app: LiveApp) -> BlogClient:
    app.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    client = BlogClient(app.url)
    assert AuthActions(client).login().status_code == 302
    return client


def test_anonymous_reads_use_the_replica_and_signed_in_reads_the_primary(
    start_replicated_app: Callable[..., LiveApp], replicated: ReplicatedMariaDB
) -> None:
    app = start_replicated_app()
    assert poll(lambda: in_use(app), timeout=10)
    status = replica_status(app)
    assert status["reachable"] and status["lag_seconds"] == 0 and status["error"] == ""
    author = signed_in_client(app)
    assert poll(lambda: in_use(app), timeout=10)

    before = selects_on(replicated.replica.port)
    reader = BlogClient(app.url)
    for number in range(5):
        assert reader.get(f"/search?q=anonymous{number}").status_code == 200
    after_reader = selects_on(replicated.replica.port)
    assert after_reader >= before + 5

    for number in range(5):
        assert author.get(f"/search?q=author{number}").status_code == 200
    assert selects_on(replicated.replica.port) == after_reader


def test_a_browser_that_just_wrote_reads_the_primary_for_a_while(
    start_replicated_app: Callable[..., LiveApp], replicated: ReplicatedMariaDB
) -> None:
    app = start_replicated_app()
    assert poll(lambda: in_use(app), timeout=10)
    visitor = BlogClient(app.url)
    # Any successful POST pins the browser (a comment, a sign-in...); the simplest one an
    # anonymous browser can send is the sign-out form.
    answer = visitor.post_form("/auth/logout")
    assert answer.status_code in (302, 303), answer.status_code
    assert visitor.cookies.get("rw"), answer.headers
    assert poll(lambda: in_use(app), timeout=10)
    before = selects_on(replicated.replica.port)
    for number in range(3):
        assert visitor.get(f"/search?q=pinned{number}").status_code == 200
    assert selects_on(replicated.replica.port) == before
    # Without the cookie (another browser), reads go to the replica again.
    reader = BlogClient(app.url)
    assert reader.get("/search?q=unpinned").status_code == 200
    assert selects_on(replicated.replica.port) > before


def test_the_author_reads_what_they_just_wrote_while_the_replica_lags(
    start_replicated_app: Callable[..., LiveApp], replicated: ReplicatedMariaDB
) -> None:
    app = start_replicated_app()
    author = signed_in_client(app)
    assert poll(lambda: in_use(app), timeout=10)
    # The replica applies every change three seconds late, yet stays in use (lag < 5 s).
    set_replica_delay(replicated, 3)
    assert poll(lambda: in_use(app), timeout=10)

    article_id = save_article(
        author, title="Written just now", content="Fresh words.", status="published"
    )
    edited = author.get(f"/admin/articles/{article_id}/edit")
    assert "Fresh words." in edited.text
    own_view = author.get(f"/article/{article_id}", allow_redirects=True)
    assert own_view.status_code == 200 and "Fresh words." in page_text(own_view.text)
    # Readers too: the publish fenced the replica until it has the article.
    reader = BlogClient(app.url)
    assert "Written just now" in page_text(reader.get("/").text)


def test_publish_reaches_every_instance_although_the_replica_lags(
    start_replicated_app: Callable[..., LiveApp],
    replicated: ReplicatedMariaDB,
    redis_url: str,
) -> None:
    secret = "one secret for both instances"
    writer = start_replicated_app(redis_urls=[redis_url], cookie_secret=secret)
    other = start_replicated_app(redis_urls=[redis_url], cookie_secret=secret)
    author = signed_in_client(writer)
    set_replica_delay(replicated, 1)
    readers = [BlogClient(writer.url), BlogClient(other.url)]
    for app, reader in zip((writer, other), readers, strict=True):
        assert poll(lambda app=app: in_use(app), timeout=10)
        assert "Published under lag" not in page_text(reader.get("/").text)  # now cached

    save_article(author, title="Published under lag", content="Now.", status="published")

    # The writer dropped its cache before answering; the other instance hears it over
    # the bus. Neither builds the page again from a replica that lacks the article.
    assert "Published under lag" in page_text(readers[0].get("/").text)
    assert poll(lambda: "Published under lag" in page_text(readers[1].get("/").text), 1.0)
    for _ in range(10):
        for reader in readers:
            assert "Published under lag" in page_text(reader.get("/").text)


def test_a_replica_whose_sql_thread_stops_is_taken_out_and_comes_back(
    start_replicated_app: Callable[..., LiveApp], replicated: ReplicatedMariaDB
) -> None:
    app = start_replicated_app()
    assert poll(lambda: in_use(app), timeout=10)
    replicated.pause()
    try:
        assert poll(lambda: not in_use(app), timeout=10)
        status = replica_status(app)
        assert status["reachable"] and status["lag_seconds"] is None
        assert status["error"]
        before = selects_on(replicated.replica.port)
        reader = BlogClient(app.url)
        for number in range(3):
            assert reader.get(f"/search?q=paused{number}").status_code == 200
        assert selects_on(replicated.replica.port) == before
        health = BlogClient(app.url).get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
    finally:
        replicated.resume()
    assert poll(lambda: in_use(app), timeout=15)


@pytest.fixture
def replica_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    replicated: ReplicatedMariaDB,
    databases: tuple[str, str],
) -> Iterator[Any]:
    primary_url, replica_url = databases
    yield from start_cluster(
        tmp_path_factory,
        database_url=primary_url,
        instance_env={
            "BLOG_DATABASE_REPLICA_URLS": replica_url,
            # The load reads 40 different searches, over and over, from one address.
            "BLOG_SEARCH_LIMIT_PER_MINUTE": "1000000",
        },
    )


def test_stopping_the_replica_under_traffic_fails_no_read(
    replica_cluster: Any, replicated: ReplicatedMariaDB
) -> None:
    cluster = replica_cluster
    cluster.launcher.run_command(cluster.state, "demo")
    replicated.wait_caught_up()

    def all_in_use() -> bool:
        answers = [cluster.health(port) for port in cluster.ports]
        return all(answer and answer["replicas"][0]["in_use"] for answer in answers)

    assert poll(all_in_use, timeout=15)
    paths = ["/", "/feed.atom", "/sitemap.xml", *(f"/search?q=stop{n}" for n in range(40))]
    load = Load(cluster.url, paths, limit=600, workers=4, max_seconds=60).start()
    try:
        load.wait_sent(100)
        replicated.stop_replica()
        load.wait_sent(350)
        stopped = [cluster.health(port) for port in cluster.ports]
    finally:
        result = load.join()
        replicated.start_replica()
    assert result.total == 600
    assert result.failures == [], result.statuses
    for answer in stopped:
        assert answer is not None
        (replica,) = answer["replicas"]
        assert not replica["in_use"] and not replica["reachable"]
    assert poll(all_in_use, timeout=30), [
        cluster.health(port)["replicas"][0]["error"] for port in cluster.ports
    ]
