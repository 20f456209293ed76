"""A WebSocket client for tests: Tornado's own client on an event loop of the test's thread."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect


class WebSocketClient:
    """Connects at once; ``receive()`` waits for the next JSON message (None once closed)."""

    def __init__(
        self,
        url: str,
        origin: str | None = None,
        cookies: dict[str, str] | None = None,
    ) -> None:
        parts = urlsplit(url)
        scheme = "https" if parts.scheme == "wss" else "http"
        headers = {"Origin": origin or f"{scheme}://{parts.netloc}"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.loop = asyncio.new_event_loop()
        request = HTTPRequest(url, headers=headers, connect_timeout=10)
        self.connection: WebSocketClientConnection = self._run(lambda: websocket_connect(request))

    def _run(self, start: Any, timeout: float = 15) -> Any:
        """Run ``start()`` (made inside this thread's loop) and wait for it."""

        async def bounded() -> Any:
            return await asyncio.wait_for(asyncio.ensure_future(start()), timeout)

        return self.loop.run_until_complete(bounded())

    def receive(self, timeout: float = 15) -> dict[str, Any] | None:
        message = self._run(self.connection.read_message, timeout)
        return None if message is None else json.loads(message)

    def send(self, text: str | bytes) -> None:
        self._run(lambda: self.connection.write_message(text))

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code

    def close(self) -> None:
        async def close() -> None:
            # Inside the loop: Tornado makes its futures on the running loop.
            self.connection.close()
            await asyncio.sleep(0.05)

        self._run(close)
        self.loop.close()


def ws_url(http_url: str, path: str) -> str:
    return "ws" + http_url[len("http") :] + path
