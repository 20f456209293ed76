"""The one place that speaks Redis (tornadis, with the Tornado 6 shim).

Callers get plain Python values or a RedisUnavailable exception; tornadis's
habit of *returning* error objects stops here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlparse

from extends.tornadis_compat import tornadis

log = logging.getLogger("blog.redis")

CONNECT_TIMEOUT_SECONDS = 2
COMMAND_TIMEOUT_SECONDS = 5
POOL_SIZE = 16


class RedisUnavailable(Exception):
    """Redis could not be reached or refused the command."""


class _ConnectionLost(Exception):
    """The connection broke under a command (worth one retry on a fresh connection)."""


def parse_redis_url(url: str) -> dict[str, Any]:
    """host, port, password and db of a redis:// URL."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", ""):
        raise ValueError(f"unsupported Redis URL: {url}")
    db = parsed.path.lstrip("/")
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 6379,
        "password": parsed.password,
        "db": int(db) if db else 0,
    }


def _check(reply: Any) -> Any:
    if isinstance(reply, tornadis.TornadisException):
        raise RedisUnavailable(str(reply))
    return reply


class RedisClient:
    """A pool of connections to one Redis server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._options = parse_redis_url(url)
        self._pool = tornadis.ClientPool(
            max_size=POOL_SIZE,
            client_timeout=-1,
            host=self._options["host"],
            port=self._options["port"],
            password=self._options["password"],
            db=self._options["db"],
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )

    def __repr__(self) -> str:
        return f"RedisClient({self._options['host']}:{self._options['port']})"

    async def call(self, *args: Any) -> Any:
        """Run one command and return its reply; raises RedisUnavailable.

        A pooled connection that died while idle (a Redis restart) is noticed only when it is
        used: the command is then tried once more on a fresh connection.
        """
        try:
            return await self._call_once(*args)
        except _ConnectionLost:
            pass
        try:
            return await self._call_once(*args)
        except _ConnectionLost as exc:
            raise RedisUnavailable(str(exc)) from None

    async def _call_once(self, *args: Any) -> Any:
        client = await self._pool.get_connected_client()
        if isinstance(client, tornadis.TornadisException):
            # tornadis keeps the pool's slot when connecting fails: give it back, or the
            # pool runs dry after POOL_SIZE failures and every later call waits forever.
            self._pool.release_client(client)
            raise RedisUnavailable(str(client))
        try:
            reply = await asyncio.wait_for(client.call(*args), COMMAND_TIMEOUT_SECONDS)
        except TimeoutError:
            # A reply may still come on this connection: it must never serve another call.
            client.disconnect()
            self._pool.release_client(client)
            raise RedisUnavailable(
                f"{self} did not answer within {COMMAND_TIMEOUT_SECONDS}s"
            ) from None
        except BaseException:
            client.disconnect()
            self._pool.release_client(client)
            raise
        if client.is_connected():
            self._pool.release_client(client)
        else:
            # A dead connection must not go back to the pool.
            client.disconnect()
            self._pool.release_client(client)
            if isinstance(reply, tornadis.ConnectionError):
                raise _ConnectionLost(str(reply))
        return _check(reply)

    async def pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Run several commands in one round trip."""
        pipe = tornadis.Pipeline()
        for command in commands:
            pipe.stack_call(*command)
        replies = await self.call(pipe)
        return [_check(reply) for reply in replies]

    async def ping(self) -> bool:
        try:
            return await self.call("PING") == b"PONG"
        except RedisUnavailable:
            return False

    def close(self) -> None:
        self._pool.destroy()

    async def subscribe(
        self, *channels: str, on_subscribed: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, bytes]]:
        """Yield (channel, message) forever; raises RedisUnavailable when the link drops.

        ``on_subscribed`` is called once Redis has confirmed the subscription, before any
        message: from then on nothing published on the channels is missed.
        """
        client = tornadis.PubSubClient(
            host=self._options["host"],
            port=self._options["port"],
            password=self._options["password"],
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            autoconnect=False,
        )
        connected = await client.connect()
        if not connected or not await client.pubsub_subscribe(*channels):
            client.disconnect()
            raise RedisUnavailable(f"cannot subscribe on {self}")
        if on_subscribed is not None:
            on_subscribed()
        try:
            while True:
                reply = await client.pubsub_pop_message()
                if isinstance(reply, tornadis.TornadisException) or reply is None:
                    raise RedisUnavailable(f"subscription to {self} dropped")
                if len(reply) == 3 and reply[0] == b"message":
                    yield reply[1].decode(), reply[2]
        finally:
            client.disconnect()
