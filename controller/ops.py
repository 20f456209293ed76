"""Operations: the health check that nginx, the launcher and monitoring read."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlalchemy import text
from sqlalchemy.orm import Session

from controller.base import BaseHandler

CHECK_TIMEOUT_SECONDS = 3


def database_reachable(session: Session) -> bool:
    session.execute(text("SELECT 1"))
    return True


class HealthHandler(BaseHandler):
    """200 while this instance can serve pages, 503 while it stops or lost its database.

    Redis being down is reported but does not make the instance unhealthy: it still serves
    every anonymous page, so it must stay in the pool.
    """

    async def prepare(self) -> None:
        # No session, no settings: health must not depend on what it reports on.
        pass

    async def get(self) -> None:
        app = self.application
        database_ok, redis_ok = await asyncio.gather(self._database_ok(), self._redis_ok())
        if app.shutting_down:
            status = "stopping"
        elif not database_ok:
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
                "database": database_ok,
                "redis": redis_ok,
                "in_flight": app.in_flight,
                # Each replica: reachable, lag_seconds (None: unknown or stopped), in_use.
                "replicas": [dataclasses.asdict(replica) for replica in app.replicas.health()],
            }
        )

    async def _database_ok(self) -> bool:
        try:
            return await asyncio.wait_for(
                self.application.run_service(database_reachable), CHECK_TIMEOUT_SECONDS
            )
        except Exception:
            return False

    async def _redis_ok(self) -> bool | None:
        clients = self.application.redis_clients
        if not clients:
            return None
        try:
            replies = await asyncio.wait_for(
                asyncio.gather(*(client.ping() for client in clients)), CHECK_TIMEOUT_SECONDS
            )
        except TimeoutError:
            return False
        return all(replies)


routes = [(r"/healthz", HealthHandler)]
