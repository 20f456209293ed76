"""The launcher's HA mode (``make cluster N=3 HA=1``), as a deployer runs it.

One cluster for the module: a MariaDB primary and replica, a Redis master, replica and
three sentinels, SeaweedFS, three instances each on its own loopback address with its
own var/ and log dir, and nginx. ``status`` shows every process with its role, health
and lag; an upload lands in the bucket and is served through nginx; an instance on
another address killed under traffic costs no request; ``down`` stops everything.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import ROOT
from deploy.cluster import Cluster
from deploy.processes import health, process_alive, stop_process
from deploy.state import ClusterState
from tests.cluster.conftest import Load, listening_ports, poll, sign_in
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.live import BlogClient
from tests.web.admin.conftest import png_bytes

pytestmark = pytest.mark.cluster

INSTANCES = 3


class HACluster:
    def __init__(self, launcher: Cluster, state: ClusterState, state_dir: Path) -> None:
        self.launcher, self.state, self.state_dir = launcher, state, state_dir

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.state.http_port}"

    def status(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "deploy.cluster", "--state-dir", str(self.state_dir), "status"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def health(self, port: int) -> dict[str, Any] | None:
        return health(port, timeout=2, host=self.state.host(port))


@pytest.fixture(scope="module")
def ha_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HACluster]:
    state_dir = tmp_path_factory.mktemp("ha-cluster") / "state"
    launcher = Cluster(state_dir, log=lambda message: None)
    *ports, http_port = listening_ports(INSTANCES + 1)
    try:
        state = launcher.up(
            ports,
            http_port,
            ha=True,
            instance_env={"BLOG_EXECUTOR_WORKERS": "4", "BLOG_LEASE_TTL_MS": "3000"},
        )
        launcher.run_command(
            state, "createadmin", "--username", ADMIN_USERNAME, "--password", ADMIN_PASSWORD
        )
        yield HACluster(launcher, state, state_dir)
    finally:
        launcher.down()


def test_every_process_runs_with_its_role_and_each_instance_on_its_own_host(
    ha_cluster: HACluster,
) -> None:
    state = ha_cluster.state
    assert [state.host(port) for port in state.ports] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    status = ha_cluster.status()
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout
    assert re.search(r"mariadb-primary\s+primary .* ok", lines)
    assert re.search(r"mariadb-replica\s+replica .* \d+s\s+ok", lines)
    assert len(re.findall(r"redis-[ab]\s+master ", lines)) == 1
    assert len(re.findall(r"redis-[ab]\s+replica ", lines)) == 1
    assert len(re.findall(r"sentinel-\d\s+sentinel .* master at :\d+", lines)) == 3
    assert re.search(r"seaweedfs\s+s3 .* up", lines)
    for port in state.ports:
        host = state.host(port)
        assert re.search(rf"{re.escape(host)}:{port}\s+\d+\s+ok", lines)
        answer = ha_cluster.health(port)
        assert answer is not None and answer["instance"] == f"{host}:{port}"
        assert len(answer["replicas"]) == 1
        # The replica is taken into use once its lag was measured (every second) at ≤ 1 s.
        assert poll(
            lambda port=port: (ha_cluster.health(port) or {"replicas": [{}]})["replicas"][0].get(
                "in_use"
            ),
            timeout=20,
            interval=0.2,
        ), ha_cluster.health(port)
        # Its own var/ and log dir: nothing on a disk another instance writes.
        own = ha_cluster.state_dir / "hosts" / host
        assert (own / "logs" / f"blog@{port}.log").is_file()
        assert (own / "var").is_dir()


def test_an_upload_is_served_by_every_instance_through_nginx(ha_cluster: HACluster) -> None:
    author = BlogClient(ha_cluster.url)
    sign_in(author)
    response = author.post(
        "/admin/media",
        data={"_xsrf": author.xsrf_token},
        files={"file": ("photo.png", png_bytes(), "image/png")},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert response.status_code == 200, response.text
    url = response.json()["url"]
    assert BlogClient(ha_cluster.url).get(url).status_code == 200
    for port in ha_cluster.state.ports:
        direct = BlogClient(f"http://{ha_cluster.state.host(port)}:{port}")
        assert direct.get(url).status_code == 200


def test_killing_an_instance_on_another_address_fails_no_request(ha_cluster: HACluster) -> None:
    state = ha_cluster.state
    victim = state.ports[1]
    service = state.instances[str(victim)]
    paths = ["/", "/archive", "/feed.atom", "/sitemap.xml", "/search?q=host"]
    load = Load(ha_cluster.url, paths, limit=500, workers=4, max_seconds=60).start()
    try:
        load.wait_sent(100)
        subprocess.run(["kill", f"-{int(signal.SIGKILL)}", str(service.pid)], check=True)
        assert poll(lambda: not process_alive(service.pid), timeout=10)
    finally:
        result = load.join()
    assert result.total == 500
    assert result.failures == [], result.statuses
    ha_cluster.launcher.heal()
    assert poll(lambda: (ha_cluster.health(victim) or {}).get("status") == "ok", timeout=30)


def test_with_seaweedfs_stopped_pages_answer_and_media_say_so_until_it_is_back(
    ha_cluster: HACluster,
) -> None:
    author = BlogClient(ha_cluster.url)
    sign_in(author)
    url = upload(author).json()["url"]  # never requested yet: not in nginx's cache
    state = ha_cluster.launcher.load()
    assert state is not None
    instance_pids = {port: service.pid for port, service in state.instances.items()}
    seaweedfs = state.ha_services["seaweedfs"]
    stop_process(seaweedfs.pid, seaweedfs.marker)

    paths = ["/", "/archive", "/feed.atom", "/search?q=store"]
    load = Load(ha_cluster.url, paths, limit=200, workers=3, max_seconds=60).start()
    try:
        image = BlogClient(ha_cluster.url).get(url)
        assert image.status_code == 503
        assert "Images are unavailable for a moment" in image.text
        refused = upload(author)
        assert refused.status_code == 503
        assert "Images are unavailable for a moment" in refused.text
    finally:
        result = load.join()
    assert result.failures == [], result.statuses

    # Back (same ports and data); the instances were not restarted.
    ha_cluster.launcher.heal()
    assert poll(lambda: BlogClient(ha_cluster.url).get(url).status_code == 200, 60, 0.3)
    assert upload(author).status_code == 200
    state = ha_cluster.launcher.load()
    assert state is not None
    assert {port: service.pid for port, service in state.instances.items()} == instance_pids


def upload(author: BlogClient) -> Any:
    return author.post(
        "/admin/media",
        data={"_xsrf": author.xsrf_token},
        files={"file": ("photo.png", png_bytes(), "image/png")},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )


def test_down_stops_every_process_it_started(ha_cluster: HACluster) -> None:
    state = ha_cluster.launcher.load()
    assert state is not None
    services = [*state.instances.values(), *state.ha_services.values(), state.nginx]
    ha_cluster.launcher.down()
    for service in services:
        assert service is not None
        assert poll(lambda service=service: not process_alive(service.pid, service.marker), 30)
    assert ha_cluster.launcher.load() is None
