"""A real cluster for each test module: three instances (subprocesses) behind real nginx,
with their own redis-server and a MariaDB database, started by the deploy launcher's code."""

from __future__ import annotations

import json
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from config import ROOT
from deploy.cluster import Cluster
from deploy.processes import health, process_alive
from deploy.state import ClusterState
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.live import BlogClient
from tests.support.servers import MariaDBServer, RedisServer

INSTANCES = 3
LEASE_TTL_MS = 3000


@dataclass
class RunningCluster:
    """What a test needs of a running cluster: URLs, processes, logs, the launcher."""

    launcher: Cluster
    state: ClusterState
    redis: RedisServer
    log_dir: Path
    state_dir: Path
    probes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.state.http_port}"

    @property
    def ports(self) -> list[int]:
        return list(self.state.ports)

    def instance_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    def pid(self, port: int) -> int:
        return self.launcher.load().instances[str(port)].pid

    def health(self, port: int) -> dict[str, Any] | None:
        return health(port, timeout=2)

    def leaders(self) -> list[int]:
        """Sample every instance's /healthz at (nearly) the same moment."""
        with ThreadPoolExecutor(len(self.ports)) as pool:
            answers = list(pool.map(self.health, self.ports))
        leading = zip(self.ports, answers, strict=True)
        return [port for port, answer in leading if answer and answer["leader"]]

    def kill(self, port: int, sig: int = signal.SIGKILL) -> None:
        pid = self.pid(port)
        subprocess.run(["kill", f"-{int(sig)}", str(pid)], check=True)
        deadline = time.monotonic() + 30
        while process_alive(pid):
            assert time.monotonic() < deadline, f"instance {port} did not exit"
            time.sleep(0.05)

    def heal(self) -> None:
        if self.redis.process is None:
            self.redis.start()
        self.launcher.heal()

    def client(self) -> BlogClient:
        return BlogClient(self.url)

    def direct(self, port: int) -> BlogClient:
        return BlogClient(self.instance_url(port))

    def log_file(self, port: int) -> Path:
        return self.log_dir / f"blog@{port}.log"

    def nginx_access_log(self) -> str:
        return (self.state_dir / "nginx" / "access.log").read_text()

    def run_launcher(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """The launcher's command line, exactly as `make cluster-*` runs it."""
        return subprocess.run(
            [sys.executable, "-m", "deploy.cluster", "--state-dir", str(self.state_dir), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def listening_ports(count: int) -> list[int]:
    """Free ports below the ephemeral range, so no outgoing connection takes one first."""
    low, _high = (
        int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    )
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randrange(20000, min(low, 32000))
        if port in chosen:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
    return chosen


def start_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    mariadb_server: MariaDBServer | None = None,
    *,
    database_url: str | None = None,
    instance_env: dict[str, str] | None = None,
    microcache: bool = False,
) -> Iterator[RunningCluster]:
    """The cluster over a fresh database of ``mariadb_server`` (or over ``database_url``)."""
    base = tmp_path_factory.mktemp("cluster")
    redis = RedisServer(base / "redis")
    redis.start()
    log_dir = base / "logs"
    launcher = Cluster(base / "state", log=lambda message: None)
    *ports, http_port = listening_ports(INSTANCES + 1)
    try:
        state = launcher.up(
            ports,
            http_port,
            redis_url=redis.url,
            database_url=database_url or _new_database(mariadb_server),
            microcache=microcache,
            instance_env={
                **(instance_env or {}),
                "BLOG_LEASE_TTL_MS": str(LEASE_TTL_MS),
                "BLOG_LOG_DIR": str(log_dir),
                "BLOG_DATA_DIR": str(base / "data"),
                "BLOG_EXECUTOR_WORKERS": "4",
            },
        )
        launcher.run_command(
            state, "createadmin", "--username", ADMIN_USERNAME, "--password", ADMIN_PASSWORD
        )
        yield RunningCluster(launcher, state, redis, log_dir, base / "state")
    finally:
        launcher.down()
        redis.stop()


def _new_database(mariadb_server: MariaDBServer | None) -> str:
    assert mariadb_server is not None, "start_cluster needs a server or a database URL"
    return mariadb_server.new_database_url()


@pytest.fixture(scope="module")
def running_cluster(
    tmp_path_factory: pytest.TempPathFactory, mariadb_server: MariaDBServer
) -> Iterator[RunningCluster]:
    yield from start_cluster(tmp_path_factory, mariadb_server)


@pytest.fixture
def cluster(running_cluster: RunningCluster) -> RunningCluster:
    """The module's cluster with every instance (and Redis) running and healthy."""
    running_cluster.heal()
    return running_cluster


# --- scenario helpers -------------------------------------------------------------------


def sign_in(client: BlogClient, next_url: str = "/admin") -> requests.Response:
    response = client.post_form(
        "/auth/login",
        {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": next_url},
    )
    assert response.status_code in (302, 303), response.status_code
    assert response.headers["Location"] == next_url
    return response


def is_signed_in(client: BlogClient, base_url: str | None = None) -> bool:
    """The admin dashboard answers 200 to a signed-in visitor, a redirect otherwise."""
    url = (base_url or client.base_url) + "/admin"
    response = client.get(url, allow_redirects=False)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


@dataclass
class LoadResult:
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + len(self.errors)

    @property
    def failures(self) -> list[str]:
        bad = [f"{status} x{n}" for status, n in self.statuses.items() if status != 200]
        return bad + self.errors


class Load:
    """Clients sending GETs through nginx until stopped or ``limit`` requests are sent.

    Bounded in count and time; only ever 127.0.0.1.
    """

    def __init__(
        self, url: str, paths: list[str], limit: int, workers: int = 4, max_seconds: float = 120
    ) -> None:
        assert url.startswith("http://127.0.0.1:")
        self.url, self.paths, self.limit = url, paths, limit
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._sent = 0
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._run) for _ in range(workers)]

    def _next(self) -> int | None:
        with self._lock:
            if self._stop.is_set() or self._sent >= self.limit:
                return None
            if time.monotonic() > self._deadline:
                return None
            self._sent += 1
            return self._sent

    def _run(self) -> None:
        session = requests.Session()
        while (number := self._next()) is not None:
            path = self.paths[number % len(self.paths)]
            try:
                response = session.get(self.url + path, timeout=20, allow_redirects=False)
                with self._lock:
                    self.result.statuses[response.status_code] += 1
            except requests.RequestException as exc:
                with self._lock:
                    self.result.errors.append(f"{path}: {type(exc).__name__}")

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    @property
    def sent(self) -> int:
        with self._lock:
            return self._sent

    def wait_sent(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.sent < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> LoadResult:
        self._stop.set()
        return self.join()

    def join(self) -> LoadResult:
        for thread in self._threads:
            thread.join(60)
        return self.result


def poll(condition: Callable[[], Any], timeout: float, interval: float = 0.02) -> Any:
    """The first truthy value of ``condition()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def upstream_ports(access_log: str, marker: str) -> set[int]:
    """The instance ports nginx used for the access-log lines containing ``marker``."""
    ports = set()
    for line in access_log.splitlines():
        found = re.search(r"upstream=(.*?) upstream_status=", line)
        if marker in line and found:
            ports.update(int(port) for port in re.findall(r":(\d+)", found.group(1)))
    return ports


def healthz_json(response: requests.Response) -> dict[str, Any]:
    return json.loads(response.text)
