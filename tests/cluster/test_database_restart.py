"""MariaDB restarts under load through nginx: never a 500, and everything works once it is back.

Two clients send requests through nginx while the database is stopped and started again:
anonymous pages already in the page cache, anonymous pages that are not (a new search each
time), and a signed-in admin page. While the database is down a page that needs it may
answer 503 (nginx retries it on another instance first); a cached page keeps answering
200. Once MariaDB is back, the pools reconnect (pre-ping) and every request succeeds.

The module has its own MariaDB server, so restarting it disturbs no other test.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pymysql
import pytest
import requests
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from extends.errors import DatabaseUnavailable
from tests.cluster.conftest import RunningCluster, poll, sign_in, start_cluster
from tests.support.servers import MariaDBServer

CACHED = ["/", "/archive", "/feed.atom", "/sitemap.xml"]
MAX_LOAD_SECONDS = 15
DOWN_SECONDS = 3


@pytest.fixture(scope="module")
def own_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    server = MariaDBServer(tmp_path_factory.mktemp("mariadb-restart"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def restart_cluster(
    tmp_path_factory: pytest.TempPathFactory, own_mariadb: MariaDBServer
) -> Iterator[RunningCluster]:
    # The load's "uncached" page is a new search each time: far more than one address may send.
    limits = {"BLOG_SEARCH_LIMIT_PER_MINUTE": "1000000"}
    yield from start_cluster(tmp_path_factory, own_mariadb, instance_env=limits)


@dataclass
class Answers:
    """Statuses by kind of page and by phase (before, down, after)."""

    by_kind: dict[tuple[str, str], Counter[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, phase: str, kind: str, status: Any) -> None:
        with self.lock:
            self.by_kind.setdefault((phase, kind), Counter())[status] += 1

    def statuses(self, phase: str | None = None, kind: str | None = None) -> Counter[Any]:
        total: Counter[Any] = Counter()
        for (each_phase, each_kind), counts in self.by_kind.items():
            if phase in (None, each_phase) and kind in (None, each_kind):
                total.update(counts)
        return total


class RestartLoad:
    """Three clients: anonymous through nginx (cached and uncached pages), signed in through
    nginx, and anonymous straight to the instances (what the app answers, before nginx)."""

    def __init__(self, cluster: RunningCluster, admin_cookies: Any) -> None:
        self.cluster = cluster
        self.admin_cookies = admin_cookies
        self.answers = Answers()
        self.phase = "before"
        self.stop = threading.Event()
        self.deadline = time.monotonic() + MAX_LOAD_SECONDS
        self.counter = itertools.count()
        self.threads = [
            threading.Thread(target=self.anonymous),
            threading.Thread(target=self.signed_in),
            threading.Thread(target=self.direct),
        ]

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def get(self, session: requests.Session, kind: str, url: str) -> None:
        phase = self.phase
        try:
            response = session.get(url, timeout=20, allow_redirects=False)
            status: Any = response.status_code
            if status >= 500 and "Traceback" in response.text:
                status = f"{status} with a traceback"
        except requests.RequestException as exc:
            status = type(exc).__name__
        self.answers.add(phase, kind, status)
        time.sleep(0.01)

    def anonymous(self) -> None:
        session = requests.Session()
        while self.running():
            number = next(self.counter)
            self.get(session, "cached", self.cluster.url + CACHED[number % len(CACHED)])
            self.get(session, "uncached", f"{self.cluster.url}/search?q=harbour{number}")

    def signed_in(self) -> None:
        session = requests.Session()
        session.cookies.update(self.admin_cookies)
        while self.running():
            self.get(session, "admin", self.cluster.url + "/admin/articles")

    def direct(self) -> None:
        session = requests.Session()
        ports = self.cluster.ports
        while self.running():
            number = next(self.counter)
            base = self.cluster.instance_url(ports[number % len(ports)])
            self.get(session, "direct cached", base + CACHED[number % len(CACHED)])
            self.get(session, "direct uncached", f"{base}/search?q=direct{number}")

    def start(self) -> RestartLoad:
        for thread in self.threads:
            thread.start()
        return self

    def finish(self) -> Answers:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        return self.answers


def everything_answers(cluster: RunningCluster, admin: requests.Session) -> bool:
    anonymous = requests.Session()
    statuses = [anonymous.get(cluster.url + path, timeout=10).status_code for path in CACHED]
    statuses.append(anonymous.get(cluster.url + "/search?q=back", timeout=10).status_code)
    statuses.append(admin.get(cluster.url + "/admin/articles", timeout=10).status_code)
    return all(status == 200 for status in statuses)


@pytest.fixture(scope="module")
def outage(restart_cluster: RunningCluster, own_mariadb: MariaDBServer) -> dict[str, Any]:
    """Stop MariaDB for a few seconds under load, start it again; what every client saw."""
    cluster = restart_cluster
    cluster.heal()
    cluster.launcher.run_command(cluster.state, "demo")
    admin = cluster.client()
    sign_in(admin)
    # Warm the page cache of every instance (directly, and through nginx).
    warm = requests.Session()
    for port in cluster.ports:
        for path in CACHED:
            response = warm.get(cluster.instance_url(port) + path, timeout=10)
            assert response.status_code == 200, path
    # Through nginx the Host differs (another cache key): one round-robin turn per path
    # reaches every instance, rather than counting on the load to ask for each in time.
    for path in CACHED:
        for _ in cluster.ports:
            response = warm.get(cluster.url + path, timeout=10)
            assert response.status_code == 200, path

    load = RestartLoad(cluster, admin.cookies).start()
    recovered = None
    try:
        time.sleep(1)
        load.phase = "down"
        own_mariadb.stop()
        time.sleep(DOWN_SECONDS)
        load.phase = "restarting"
        own_mariadb.start()
        load.phase = "after"
        # Back: the pools find their connections dead (pre-ping) and open new ones.
        recovered = poll(lambda: everything_answers(cluster, admin), timeout=20, interval=0.2)
        load.phase = "recovered"
        time.sleep(1)
    finally:
        answers = load.finish()
        if own_mariadb.process is None:
            own_mariadb.start()
    report = {f"{phase}/{kind}": dict(counts) for (phase, kind), counts in answers.by_kind.items()}
    return {"answers": answers, "report": report, "recovered": recovered}


def test_mariadb_restart_under_load_never_answers_500(outage: dict[str, Any]) -> None:
    answers: Answers = outage["answers"]
    report = outage["report"]
    everything = answers.statuses()
    assert everything[500] == 0, report
    assert not [status for status in everything if isinstance(status, str)], report
    assert outage["recovered"], report
    # What the app answers while the database is down: a cached page as if nothing
    # happened, a page that needs the database 503 (with Retry-After), nothing else.
    assert set(answers.statuses("down", "direct cached")) == {200}, report
    assert set(answers.statuses("down", "direct uncached")) <= {200, 503}, report
    assert answers.statuses("down", "direct uncached")[503] > 0, report  # the outage was seen
    # Through nginx: never a 500, never nginx's own 502 (see the next test).
    for kind in ("cached", "uncached", "admin"):
        assert set(answers.statuses("down", kind)) <= {200, 503}, report
    # Once it is back, every request succeeds, through nginx and directly.
    recovered = answers.statuses("recovered")
    assert recovered and set(recovered) == {200}, report


def test_cached_pages_answer_200_through_nginx_while_the_database_is_down(
    outage: dict[str, Any],
) -> None:
    answers: Answers = outage["answers"]
    assert set(answers.statuses("down", "cached")) == {200}, outage["report"]
    for kind in ("uncached", "admin"):
        assert set(answers.statuses("down", kind)) <= {200, 503}, outage["report"]


# --- the mapping itself, without a cluster ---------------------------------------------------


def _disconnect(kind: type[DBAPIError], invalidated: bool) -> Callable[[Any], Any]:
    def service(_session: Any) -> Any:
        error = pymysql.err.InterfaceError(0, "")
        raise kind("SELECT 1", {}, error, connection_invalidated=invalidated)

    return service


@pytest.mark.parametrize(
    ("kind", "invalidated"),
    [(OperationalError, False), (InterfaceError, False), (DBAPIError, True)],
)
def test_a_lost_connection_of_any_kind_is_database_unavailable(
    start_app: Any, sqlite_url: str, kind: type[DBAPIError], invalidated: bool
) -> None:
    """pymysql raises InterfaceError(0, '') on a connection it already closed: a 503, not a 500."""
    live = start_app(sqlite_url)
    with pytest.raises(DatabaseUnavailable):
        live.service(_disconnect(kind, invalidated))


def test_other_database_errors_are_not_hidden_as_unavailable(
    start_app: Any, sqlite_url: str
) -> None:
    live = start_app(sqlite_url)
    with pytest.raises(DBAPIError):
        live.service(_disconnect(DBAPIError, False))
