"""Instances die and restart; readers behind nginx never notice, and one instance leads."""

import json
import secrets
import time

import requests

from config import ROOT
from tests.cluster.conftest import LEASE_TTL_MS, Load, poll

READER_PATHS = ["/", "/robots.txt", "/feed.atom", "/", "/sitemap.xml"]


def sample_leaders(cluster, seconds):
    """Every sample of all instances' /healthz, for ``seconds``."""
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(cluster.leaders())
        time.sleep(0.05)
    return samples


def test_exactly_one_instance_leads(cluster):
    assert poll(lambda: len(cluster.leaders()) == 1, timeout=LEASE_TTL_MS / 1000 * 2)
    samples = sample_leaders(cluster, 2)
    assert all(len(sample) == 1 for sample in samples)
    assert len({sample[0] for sample in samples}) == 1


def test_when_the_leader_dies_another_takes_over_within_the_lease_time(cluster):
    [leader] = poll(lambda: (found := cluster.leaders()) and len(found) == 1 and found, 10)
    cluster.kill(leader)
    killed_at = time.monotonic()
    samples = []

    def new_leader():
        sample = cluster.leaders()
        samples.append(sample)
        return sample

    successor = poll(new_leader, timeout=LEASE_TTL_MS / 1000 * 1.5 + 1, interval=0.05)
    took = time.monotonic() - killed_at
    assert successor and successor[0] != leader
    assert took <= LEASE_TTL_MS / 1000 * 1.5 + 1
    samples += sample_leaders(cluster, 1)
    assert all(len(sample) <= 1 for sample in samples)


def test_kill_9_of_an_instance_under_load_fails_no_request(cluster):
    load = Load(cluster.url, READER_PATHS, limit=500).start()
    load.wait_sent(100)
    cluster.kill(cluster.ports[1])
    result = load.join()
    assert result.total == 500
    assert result.failures == []


def test_a_rolling_reload_under_load_fails_no_request(cluster):
    pids_before = {port: cluster.pid(port) for port in cluster.ports}
    load = Load(cluster.url, READER_PATHS, limit=20000, max_seconds=150).start()
    load.wait_sent(50)
    reload = cluster.run_launcher("reload")
    result = load.stop()
    assert reload.returncode == 0, reload.stderr
    assert all(cluster.pid(port) != pids_before[port] for port in cluster.ports)
    assert result.total > 50
    assert result.failures == []
    status = cluster.run_launcher("status")
    assert status.returncode == 0, status.stdout + status.stderr


def test_sigterm_lets_the_instance_finish_and_exit_cleanly(cluster):
    port = cluster.ports[0]
    cluster.kill(port, 15)
    text = cluster.log_file(port).read_text()
    assert "signal received: shutting down" in text
    assert text.rstrip().endswith("stopped")


def test_each_instance_writes_only_its_own_log_file(cluster):
    token = secrets.token_hex(4)
    for port in cluster.ports:
        for _ in range(3):
            response = requests.get(
                cluster.instance_url(port) + "/robots.txt",
                headers={"X-Request-ID": f"probe-{token}-{port}"},
                timeout=10,
            )
            assert response.status_code == 200
    through_nginx = requests.get(cluster.url + "/robots.txt", timeout=10)
    nginx_rid = through_nginx.headers["X-Request-ID"]

    def logs():
        return {port: cluster.log_file(port).read_text() for port in cluster.ports}

    # An access line is written just after its response is sent: wait until all are there.
    def complete():
        texts = logs()
        probes = all(texts[port].count(f"rid=probe-{token}-{port}") == 3 for port in texts)
        return probes and any(f"rid={nginx_rid}" in text for text in texts.values()) and texts

    texts = poll(complete, timeout=5)
    assert texts
    files = sorted(path.name for path in cluster.log_dir.glob("blog@*.log"))
    assert files == sorted(f"blog@{port}.log" for port in cluster.ports)
    for port, text in texts.items():
        others = [p for p in cluster.ports if p != port]
        assert not any(f"probe-{token}-{other}" in text for other in others)
        assert f"listening on http://127.0.0.1:{port}" in text
    # nginx's request id reached exactly one instance, which logged it.
    assert sum(f"rid={nginx_rid}" in text for text in texts.values()) == 1


def test_healthz_reports_instance_leadership_and_dependencies(cluster):
    answers = [
        json.loads(requests.get(cluster.instance_url(port) + "/healthz", timeout=5).text)
        for port in cluster.ports
    ]
    assert [a["instance"].rsplit(":", 1)[1] for a in answers] == [str(p) for p in cluster.ports]
    assert all(a["status"] == "ok" and a["database"] and a["redis"] for a in answers)
    assert sum(a["leader"] for a in answers) <= 1


def test_nginx_serves_static_files_itself_and_tags_requests(cluster):
    static = sorted(p for p in (ROOT / "static").rglob("*.css") if p.is_file())[0]
    path = "/static/" + static.relative_to(ROOT / "static").as_posix()
    hashed = requests.get(cluster.url + path + "?v=0123456789", timeout=10)
    assert hashed.status_code == 200
    assert "immutable" in hashed.headers["Cache-Control"]
    assert "max-age=31536000" in hashed.headers["Cache-Control"]
    compressed = requests.get(cluster.url + path, headers={"Accept-Encoding": "gzip"}, timeout=10)
    if len(static.read_bytes()) >= 512:
        assert compressed.headers.get("Content-Encoding") == "gzip"
    assert "immutable" not in compressed.headers["Cache-Control"]
    # Served by nginx: no instance logged it.
    assert not any(path in cluster.log_file(port).read_text() for port in cluster.ports)
    page = requests.get(cluster.url + "/", timeout=10)
    assert len(page.headers["X-Request-ID"]) == 32
