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


def _make_pool(address: RedisAddress) -> Any:
    return tornadis.ClientPool(
        max_size=POOL_SIZE,
        client_timeout=-1,
        host=address.host,
        port=address.port,
        password=address.password,
        db=address.db,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )


class RedisClient:
    """A pool of connections to one Redis server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.address = parse_redis_url(url)
        self._pool = _make_pool(self.address)

    def __repr__(self) -> str:
        return f"RedisClient({self.address.host}:{self.address.port})"

    async def _current_pool(self) -> Any:
        """The pool of the server to talk to now (a Sentinel client may have to ask)."""
        return self._pool

    def _lost_server(self) -> None:
        """The server was lost or refused a write (READONLY): a Sentinel client asks again."""

    async def _current_address(self) -> RedisAddress:
        await self._current_pool()
        return self.address

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
        pool = await self._current_pool()
        client = await pool.get_connected_client()
        if isinstance(client, tornadis.TornadisException):
            # tornadis keeps the pool's slot when connecting fails: give it back, or the
            # pool runs dry after POOL_SIZE failures and every later call waits forever.
            pool.release_client(client)
            self._lost_server()
            raise RedisUnavailable(str(client))
        try:
            reply = await asyncio.wait_for(client.call(*args), COMMAND_TIMEOUT_SECONDS)
        except TimeoutError:
            # A reply may still come on this connection: it must never serve another call.
            self._lost_server()
            client.disconnect()
            pool.release_client(client)
            raise RedisUnavailable(
                f"{self} did not answer within {COMMAND_TIMEOUT_SECONDS}s"
            ) from None
        except BaseException:
            client.disconnect()
            pool.release_client(client)
            raise
        if client.is_connected():
            pool.release_client(client)
        else:
            # A dead connection must not go back to the pool.
            client.disconnect()
            pool.release_client(client)
            if isinstance(reply, tornadis.ConnectionError):
                self._lost_server()
                raise _ConnectionLost(str(reply))
        if isinstance(reply, tornadis.ClientError) and str(reply).startswith("READONLY"):
            # A master demoted by a failover: find the new one and try there once.
            self._lost_server()
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
        address = await self._current_address()
        client = tornadis.PubSubClient(
            host=address.host,
            port=address.port,
            password=address.password,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            autoconnect=False,
        )
        connected = await client.connect()
        if not connected or not await client.pubsub_subscribe(*channels):
            client.disconnect()
            self._lost_server()
            raise RedisUnavailable(f"cannot subscribe on {self}")
        if on_subscribed is not None:
            on_subscribed()
        try:
            while True:
                reply = await client.pubsub_pop_message()
                if isinstance(reply, tornadis.TornadisException) or reply is None:
                    self._lost_server()
                    raise RedisUnavailable(f"subscription to {self} dropped")
                if len(reply) == 3 and reply[0] == b"message":
                    yield reply[1].decode(), reply[2]
        finally:
            client.disconnect()


class SentinelRedisClient(RedisClient):
    """The master of a Sentinel-managed group, found by asking the sentinels.

    The master's address is asked once (``SENTINEL get-master-addr-by-name``) and kept
    until the connection to it is lost, a command times out, or it answers ``READONLY``
    (a master demoted by a failover); the next command asks the sentinels again and
    talks to whichever server they name. Pooled connections to the old master are closed.
    """

    def __init__(
        self,
        sentinels: Sequence[str],
        master: str,
        password: str | None = None,
        db: int = 0,
    ) -> None:
        self.url = f"sentinel://{master}"
        self.master = master
        self.sentinels = [_parse_host_port(entry) for entry in sentinels]
        self._password = password
        self._db = db
        self.address = RedisAddress("", 0, password, db)
        self._pool: Any = None
        self._stale = True
        self._asking: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"SentinelRedisClient({self.master} at {self.address.host}:{self.address.port})"

    def _lost_server(self) -> None:
        self._stale = True

    async def _current_pool(self) -> Any:
        if self._stale or self._pool is None:
            # Many requests notice at once: one question to the sentinels serves them all.
            if self._asking is None:
                self._asking = asyncio.ensure_future(self._ask_sentinels())
            asking = self._asking
            try:
                await asyncio.shield(asking)
            finally:
                if self._asking is asking and asking.done():
                    self._asking = None
        return self._pool

    async def _ask_sentinels(self) -> None:
        for host, port in self.sentinels:
            reply = await _ask_one_sentinel(host, port, self.master)
            if reply is None:
                continue
            address = RedisAddress(reply[0], reply[1], self._password, self._db)
            if address != self.address or self._pool is None:
                old = self._pool
                self.address = address
                self._pool = _make_pool(address)
                if old is not None:
                    old.destroy()
                log.info("Redis master %s is %s:%d", self.master, address.host, address.port)
            self._stale = False
            return
        raise RedisUnavailable(f"no sentinel knows the master {self.master}")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.destroy()


def _parse_host_port(entry: str) -> tuple[str, int]:
    host, _, port = entry.strip().rpartition(":")
    return host or "127.0.0.1", int(port)


async def _ask_one_sentinel(host: str, port: int, master: str) -> tuple[str, int] | None:
    """The master's address as this sentinel sees it; None if it cannot say."""
    client = tornadis.Client(
        host=host, port=port, connect_timeout=CONNECT_TIMEOUT_SECONDS, autoconnect=False
    )
    try:
        if not await client.connect():
            return None
        reply = await asyncio.wait_for(
            client.call("SENTINEL", "get-master-addr-by-name", master), COMMAND_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return None
    finally:
        client.disconnect()
    if not isinstance(reply, list) or len(reply) != 2:
        return None
    return reply[0].decode(), int(reply[1])


def build_redis_clients(
    urls: Sequence[str], sentinels: Sequence[str], masters: Sequence[str], password: str = ""
) -> list[RedisClient]:
    """One client per Redis node: a Sentinel-managed master per name when sentinels are
    configured (several names sit on the session hash ring), else one per URL."""
    if sentinels:
        return [SentinelRedisClient(sentinels, master, password or None) for master in masters]
    return [RedisClient(url) for url in urls]
