"""Operations: the health check that nginx, the launcher and monitoring read."""

from __future__ import annotations

import dataclasses

from sqlalchemy import text
from sqlalchemy.orm import Session

from controller.base import BaseHandler


def database_reachable(session: Session) -> bool:
    session.execute(text("SELECT 1"))
    return True


class HealthHandler(BaseHandler):
    """200 while this instance can serve pages, 503 while it stops or lost its database.

    The answer is the last report of the instance's health monitor (extends/health.py,
    refreshed every second): no query and no Redis round trip per call. A report that is
    too old (the checker is stuck) is a 503 like a failed check.

    Redis being down is reported but does not make the instance unhealthy: it still serves
    every anonymous page, so it must stay in the pool.
    """

    async def prepare(self) -> None:
        # No session, no settings: health must not depend on what it reports on.
        pass

    async def get(self) -> None:
        app = self.application
        report = await app.health.report()
        if app.shutting_down:
            status = "stopping"
        elif report is None or app.health.is_stale(report):
            status = "stale"
        elif not report.database:
            status = "degraded"
        else:
            status = "ok"
        self.set_status(200 if status == "ok" else 503)
        self.set_header("Cache-Control", "no-store")
        self.finish(
            {
                "status": status,
                "instance": app.config.instance_id,
                "port": app.config.port,
                "leader": app.lease.is_leader,
                "database": report.database if report else False,
                "redis": report.redis if report else None,
                # How old the checks above are (they run every health_interval_seconds).
                "checked_seconds_ago": round(app.health.age(report), 3) if report else None,
                "in_flight": app.in_flight,
                # Each replica: reachable, lag_seconds (None: unknown or stopped), in_use.
                "replicas": [dataclasses.asdict(replica) for replica in app.replicas.health()],
                # Each in-process cache region: entries, bytes and its byte limit.
                "caches": {
                    name: dataclasses.asdict(stats) for name, stats in app.cache.stats().items()
                },
            }
        )


routes = [(r"/healthz", HealthHandler)]
