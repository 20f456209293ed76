"""Operations: the health check that nginx, the launcher and monitoring read."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.orm import Session

from controller.base import BaseHandler


def database_reachable(session: Session) -> bool:
    session.execute(text("SELECT 1"))
    return True


class HealthHandler(BaseHandler):
    async def prepare(self) -> None:
        # No session, no settings: health must not depend on what it reports on.
        pass

    async def get(self) -> None:
        app = self.application
        try:
            database_ok = await asyncio.wait_for(app.run_service(database_reachable), 3)
        except Exception:
            database_ok = False
        redis_ok = await app.sessions.store.ping() if app.config.uses_redis else None
        healthy = database_ok and redis_ok is not False and not app.shutting_down
        self.set_status(200 if healthy else 503)
        self.set_header("Cache-Control", "no-store")
        self.finish(
            {
                "status": "ok" if healthy else ("stopping" if app.shutting_down else "degraded"),
                "instance": app.config.instance_id,
                "database": database_ok,
                "redis": redis_ok,
                "in_flight": app.in_flight,
            }
        )


routes = [(r"/healthz", HealthHandler)]
