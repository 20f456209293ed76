"""Redis Sentinel: the master is killed under traffic through nginx.

Three instances find the master through three sentinels. While Sentinel promotes the
replica, anonymous pages never fail; signed-in requests answer at most a clear 503;
afterwards the session (replicated before the crash) keeps working on every instance
without a restart, one instance leads, and the bus delivers invalidations again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.cluster.conftest import RunningCluster, is_signed_in, poll, sign_in, start_cluster
from tests.support.servers import RedisSentinelGroup, redis_command

pytestmark = pytest.mark.cluster

ANONYMOUS = ["/", "/feed.atom", "/sitemap.xml", "/archive"]
MAX_LOAD_SECONDS = 60


@pytest.fixture(scope="module")
def sentinel_group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSentinelGroup]:
    group = RedisSentinelGroup(tmp_path_factory.mktemp("sentinel"))
    group.start()
    yield group
    group.stop()


@pytest.fixture(scope="module")
def sentinel_cluster(
    tmp_path_factory: pytest.TempPathFactory, sentinel_group: RedisSentinelGroup, mariadb_server
) -> Iterator[RunningCluster]:
    yield from start_cluster(
        tmp_path_factory,
        mariadb_server,
        instance_env={
            "BLOG_REDIS_SENTINELS": sentinel_group.sentinels,
            "BLOG_REDIS_MASTER": RedisSentinelGroup.MASTER_NAME,
            # The load's anonymous page is a new search each time, from one address.
            "BLOG_SEARCH_LIMIT_PER_MINUTE": "1000000",
        },
    )


class FailoverLoad:
    """Anonymous and signed-in clients through nginx until stopped (bounded in time)."""

    def __init__(self, cluster: RunningCluster, admin_cookies: Any) -> None:
        self.cluster = cluster
        self.admin_cookies = admin_cookies
        self.statuses: dict[str, Counter[Any]] = {"anonymous": Counter(), "signed in": Counter()}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.deadline = time.monotonic() + MAX_LOAD_SECONDS
        self.threads = [
            threading.Thread(target=self.anonymous),
            threading.Thread(target=self.anonymous),
            threading.Thread(target=self.signed_in),
        ]

    def running(self) -> bool:
        return not self.stop_event.is_set() and time.monotonic() < self.deadline

    def record(self, kind: str, session: requests.Session, path: str) -> None:
        try:
            response = session.get(self.cluster.url + path, timeout=20, allow_redirects=False)
            status: Any = response.status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with self.lock:
            self.statuses[kind][status] += 1
        time.sleep(0.01)

    def anonymous(self) -> None:
        session = requests.Session()
        number = 0
        while self.running():
            number += 1
            self.record("anonymous", session, ANONYMOUS[number % len(ANONYMOUS)])
            self.record("anonymous", session, f"/search?q=failover{number}")

    def signed_in(self) -> None:
        session = requests.Session()
        session.cookies.update(self.admin_cookies)
        while self.running():
            self.record("signed in", session, "/admin/articles")

    def start(self) -> FailoverLoad:
        for thread in self.threads:
            thread.start()
        return self

    def finish(self) -> dict[str, Counter[Any]]:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(30)
        return self.statuses


def test_killing_the_redis_master_fails_over_without_errors(
    sentinel_cluster: RunningCluster, sentinel_group: RedisSentinelGroup
) -> None:
    cluster = sentinel_cluster
    cluster.launcher.run_command(cluster.state, "demo")
    admin = cluster.client()
    sign_in(admin)
    old_master = sentinel_group.master_port()
    # The session reached the replica before the crash (WAIT: one replica acknowledged).
    assert redis_command(old_master, "WAIT", "1", "5000") == b":1\r\n"
    assert poll(lambda: len(cluster.leaders()) == 1, timeout=15)

    load = FailoverLoad(cluster, admin.cookies).start()
    try:
        time.sleep(1)
        sentinel_group.kill(old_master)
        new_master = poll(
            lambda: (port := sentinel_group.master_port()) != old_master and port, timeout=30
        )
        assert new_master, "Sentinel did not promote the replica"
        back = poll(lambda: is_signed_in(admin), timeout=30, interval=0.2)
        time.sleep(1)
    finally:
        statuses = load.finish()

    assert back, statuses
    assert set(statuses["anonymous"]) == {200}, statuses
    assert set(statuses["signed in"]) <= {200, 503}, statuses
    assert statuses["signed in"][200] > 0, statuses
    # Every instance follows the new master: sessions on all of them, health says Redis ok.
    for port in cluster.ports:
        assert is_signed_in(admin, cluster.instance_url(port))
        health = cluster.health(port)
        assert health is not None and health["redis"] is True, health
    # The lease goes on (one leader) and so does the bus: a publish reaches every instance.
    assert poll(lambda: len(cluster.leaders()) == 1, timeout=20)
    assert redis_command(new_master, "PUBSUB", "NUMSUB", "inkwell:invalidate").endswith(b":3\r\n")
