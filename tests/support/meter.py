"""What a live app asks of its database and Redis: SQL statements and Redis round trips.

SQL is counted with SQLAlchemy's ``before_cursor_execute`` event on the app's engine; Redis
round trips by wrapping each client's one sending method (a pipeline is one round trip).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.support.live import LiveApp


def quiet(live: LiveApp) -> None:
    """Stop what works beside the requests (jobs, lease, mail delivery, health checks), so
    every statement and round trip counted afterwards is a request's."""
    app = live.app
    assert app is not None

    async def stop() -> None:
        await app.jobs.stop()
        await app.lease.stop()
        await app.mailer.delivery.stop()
        app.health.stop()

    live.call(stop)


def background_done(live: LiveApp) -> None:
    """Wait for the tasks a response left running (a session saved after it, say)."""
    app = live.app
    assert app is not None

    async def drain() -> None:
        while pending := [task for task in app._background if not task.done()]:
            await asyncio.wait(pending)

    live.call(drain)


class Meter:
    """Counts SQL statements and Redis round trips of one live app."""

    def __init__(self, live: LiveApp) -> None:
        app = live.app
        assert app is not None
        self.live = live
        self.statements: list[str] = []
        self.round_trips: list[list[tuple[Any, ...]]] = []
        event.listen(app.engine, "before_cursor_execute", self._on_statement)
        for client in app.redis_clients:
            self._wrap(client)

    def _on_statement(self, *args: Any) -> None:
        self.statements.append(args[2])

    def _wrap(self, client: Any) -> None:
        send = client._send

        async def counted(*args: Any) -> Any:
            pipelined = getattr(args[0], "pipelined_args", None)
            commands = [tuple(command) for command in pipelined] if pipelined else [args]
            self.round_trips.append(commands)
            return await send(*args)

        client._send = counted

    @contextmanager
    def measure(self) -> Iterator[Meter]:
        """Count only what happens inside the block."""
        background_done(self.live)
        self.statements.clear()
        self.round_trips.clear()
        yield self
        background_done(self.live)

    def session_round_trips(self) -> int:
        """Round trips that touched a session key."""
        return sum(
            any(
                isinstance(arg, str | bytes) and _text(arg).startswith("session:")
                for command in commands
                for arg in command
            )
            for commands in self.round_trips
        )


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
