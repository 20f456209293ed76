"""/healthz reads the last report of a check made every second: no query and no Redis round
trip per call, a 503 when that report is too old, and the size of every in-process cache."""

from __future__ import annotations

import asyncio

from extends.health import HealthMonitor
from extends.redis import RedisClient
from service.demo import load_demo_site
from tests.support.clock import FakeClock
from tests.support.live import BlogClient
from tests.support.meter import Meter, quiet

HOUR = 3600.0


def test_healthz_costs_no_query_and_no_redis_round_trip(start_app, database_url, redis_url):
    live = start_app(database_url, redis_urls=[redis_url])
    client = BlogClient(live.url)
    first = client.get("/healthz")  # waits for the first check if it has not finished yet
    assert first.status_code == 200
    quiet(live)  # the checker too: only what the calls themselves cost is counted
    meter = Meter(live)
    with meter.measure():
        answers = [client.get("/healthz") for _ in range(20)]
    assert [answer.status_code for answer in answers] == [200] * 20
    assert meter.statements == [] and meter.round_trips == []
    body = answers[-1].json()
    assert body["status"] == "ok" and body["database"] is True and body["redis"] is True
    assert body["checked_seconds_ago"] >= 0


def test_healthz_is_503_when_its_last_check_is_too_old(start_app, sqlite_url):
    clock = FakeClock()
    live = start_app(sqlite_url, clock=clock, health_interval_seconds=HOUR)
    client = BlogClient(live.url)
    assert client.get("/healthz").status_code == 200
    clock.advance(4 * HOUR)  # the checker is stuck: no report for four intervals
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.json()["status"] == "stale"
    assert stale.json()["checked_seconds_ago"] >= 4 * HOUR
    live.call(live.app.health.check_now)
    assert client.get("/healthz").status_code == 200


def test_healthz_shows_every_cache_with_its_size_and_limit(start_app, sqlite_url):
    live = start_app(sqlite_url, page_cache_mb=2, fragment_cache_mb=3)
    live.service(load_demo_site)
    client = BlogClient(live.url)
    empty = client.get("/healthz").json()["caches"]
    assert set(empty) == {"pages", "data", "users", "fragments"}
    assert empty["pages"] == {"entries": 0, "bytes": 0, "limit": 2 * 1024 * 1024}
    assert empty["fragments"] == {"entries": 0, "bytes": 0, "limit": 3 * 1024 * 1024}
    assert client.get("/").status_code == 200
    caches = client.get("/healthz").json()["caches"]
    assert caches["pages"]["entries"] == 1
    assert 0 < caches["pages"]["bytes"] <= caches["pages"]["limit"]
    assert caches["data"]["entries"] >= 2  # at least the settings and the menus


def test_a_failed_check_is_reported(redis_server):
    def database_down() -> bool:
        raise ConnectionError("no database")

    async def scenario():
        client = RedisClient(f"redis://127.0.0.1:{redis_server.port}/0")
        monitor = HealthMonitor(database_down, [client], interval=HOUR)
        redis_server.stop()
        try:
            report = await monitor.check_now()
        finally:
            redis_server.start()
            client.close()
            monitor.close()
        return report

    report = asyncio.run(scenario())
    assert report.database is False and report.redis is False
