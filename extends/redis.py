"""The one place that speaks Redis (tornadis, with the Tornado 6 shim).

Callers get plain Python values or a RedisUnavailable exception; tornadis's
habit of *returning* error objects stops here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast
from urllib.parse import urlparse

from extends.errors import Unavailable
from extends.tornadis_compat import tornadis

log = logging.getLogger("blog.redis")

CONNECT_TIMEOUT_SECONDS = 2
COMMAND_TIMEOUT_SECONDS = 5
POOL_SIZE = 16

# tornadis sends only str, bytes and int: floats (scores, times) travel as text.
RedisArg: TypeAlias = str | bytes | int
# What a command answers: a bulk or status string, an integer, nil, or an array of these.
RedisReply: TypeAlias = bytes | int | list["RedisReply"] | None


class RedisUnavailable(Unavailable):
    """Redis could not be reached or refused the command."""


class _ConnectionLost(Exception):
    """The connection broke under a command (worth one retry on a fresh connection)."""


@dataclass(frozen=True)
class RedisAddress:
    """Where one Redis server listens, and which database to use there."""

    host: str
    port: int
    password: str | None
    db: int


def parse_redis_url(url: str) -> RedisAddress:
    """host, port, password and db of a redis:// URL."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", ""):
        raise ValueError(f"unsupported Redis URL: {url}")
    db = parsed.path.lstrip("/")
    return RedisAddress(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 6379,
        password=parsed.password,
        db=int(db) if db else 0,
    )


def _check(reply: Any) -> RedisReply:
    """The reply as a typed value; an error object (tornadis returns them) raises."""
    if isinstance(reply, tornadis.TornadisException):
        raise RedisUnavailable(str(reply))
    return cast(RedisReply, reply)


def as_bytes(reply: RedisReply) -> bytes | None:
    """A string reply (GET, EVAL returning a value), or None for nil."""
    if reply is None or isinstance(reply, bytes):
        return reply
    raise TypeError(f"expected a string reply from Redis, got {reply!r}")


def as_int(reply: RedisReply) -> int:
    """An integer reply (INCR, ZCARD, EVAL returning a number); nil counts as 0."""
    if reply is None:
        return 0
    if isinstance(reply, int):
        return reply
    if isinstance(reply, bytes):
        return int(reply)
    raise TypeError(f"expected an integer reply from Redis, got {reply!r}")


def as_list(reply: RedisReply) -> list[RedisReply]:
    """An array reply (HGETALL, ZRANGE, EVAL returning a table); nil is empty."""
    if reply is None:
        return []
    if isinstance(reply, list):
        return reply
    raise TypeError(f"expected an array reply from Redis, got {reply!r}")


class RedisClient:
    """A pool of connections to one Redis server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.address = parse_redis_url(url)
        self._pool = tornadis.ClientPool(
            max_size=POOL_SIZE,
            client_timeout=-1,
            host=self.address.host,
            port=self.address.port,
            password=self.address.password,
            db=self.address.db,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )

    def __repr__(self) -> str:
        return f"RedisClient({self.address.host}:{self.address.port})"

    async def call(self, *args: RedisArg) -> RedisReply:
        """Run one command and return its reply; raises RedisUnavailable."""
        return _check(await self._send(*args))

    async def eval(
        self, script: str, keys: Sequence[str], args: Sequence[RedisArg] = ()
    ) -> RedisReply:
        """Run a Lua script (atomic in Redis) over ``keys`` with ``args``."""
        return await self.call("EVAL", script, len(keys), *keys, *args)

    async def pipeline(self, *commands: Sequence[RedisArg]) -> list[RedisReply]:
        """Run several commands in one round trip; raises RedisUnavailable if any fails."""
        pipe = tornadis.Pipeline()
        for command in commands:
            pipe.stack_call(*command)
        replies = await self._send(pipe)
        if not isinstance(replies, list):
            return [_check(replies)]
        return [_check(reply) for reply in replies]

    async def _send(self, *args: Any) -> Any:
        """Send a command (or a tornadis Pipeline) and return tornadis's untyped reply.

        A pooled connection that died while idle (a Redis restart) is noticed only when it is
        used: the command is then tried once more on a fresh connection.
        """
        try:
            return await self._send_once(*args)
        except _ConnectionLost:
            pass
        try:
            return await self._send_once(*args)
        except _ConnectionLost as exc:
            raise RedisUnavailable(str(exc)) from None

    async def _send_once(self, *args: Any) -> Any:
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
        return reply

    async def ping(self) -> bool:
        """True when the server answers PING (the health check asks this)."""
        try:
            return await self.call("PING") == b"PONG"
        except RedisUnavailable:
            return False

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.destroy()

    async def subscribe(
        self, *channels: str, on_subscribed: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, bytes]]:
        """Yield (channel, message) forever; raises RedisUnavailable when the link drops.

        ``on_subscribed`` is called once Redis has confirmed the subscription, before any
        message: from then on nothing published on the channels is missed.
        """
        client = tornadis.PubSubClient(
            host=self.address.host,
            port=self.address.port,
            password=self.address.password,
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
