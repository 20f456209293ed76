"""The per-process site cache and the bus that tells every instance what to drop.

Entries are tagged with scopes (``settings``, ``article:42``, ``comments:42``,
``pages``...). A write publishes the scopes it changed; every instance drops
the entries tagged with any of them. ``all`` drops everything.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar, cast

from extends.clock import SYSTEM_CLOCK, Clock
from extends.redis import RedisClient, RedisUnavailable

log = logging.getLogger("blog.cache")

ALL = "all"

T = TypeVar("T")


class SiteCache:
    """Hot data in memory, each entry tagged with the scopes that invalidate it."""

    def __init__(self, max_entries: int = 5000, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._entries: dict[str, tuple[frozenset[str], float | None, Any]] = {}
        self._max_entries = max_entries
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self.generation = 0

    def get(self, key: str, default: Any = None) -> Any:
        """The cached value, or ``default`` when missing or past its TTL."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        _scopes, expires_at, value = entry
        if expires_at is not None and expires_at <= self.clock.monotonic():
            del self._entries[key]
            return default
        return value

    def set(
        self, key: str, value: Any, scopes: Iterable[str] = (), ttl: float | None = None
    ) -> None:
        """Keep ``value`` under ``key``, dropped with any of ``scopes`` or after ``ttl`` s."""
        if len(self._entries) >= self._max_entries:
            # Crude but bounded: forget the oldest half.
            for old in list(self._entries)[: self._max_entries // 2]:
                del self._entries[old]
        expires_at = self.clock.monotonic() + ttl if ttl else None
        self._entries[key] = (frozenset(scopes) | {key}, expires_at, value)

    async def get_or_load(
        self,
        key: str,
        loader: Callable[[], Awaitable[T]],
        scopes: Iterable[str] = (),
        ttl: float | None = None,
    ) -> T:
        """The cached value, or load it once even when many requests ask at the same time."""
        missing = object()
        cached = self.get(key, missing)
        if cached is not missing:
            # Whoever stored under ``key`` stored what this loader returns.
            return cast(T, cached)
        pending = self._loading.get(key)
        if pending is not None:
            return cast(T, await asyncio.shield(pending))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self.generation
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: the waiters get it, nobody else must
            raise
        finally:
            self._loading.pop(key, None)
        # An invalidation that arrived while loading makes this value stale: do not keep it.
        if generation == self.generation:
            self.set(key, value, scopes, ttl)
        future.set_result(value)
        return value

    def invalidate(self, scopes: Iterable[str]) -> int:
        """Drop every entry tagged with one of ``scopes``; returns how many went."""
        wanted = set(scopes)
        self.generation += 1
        if ALL in wanted:
            count = len(self._entries)
            self._entries.clear()
            return count
        doomed = [key for key, (tags, _, _) in self._entries.items() if tags & wanted]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._entries)


class InvalidationBus(Protocol):
    """Tells every instance (or just this one) which scopes a write changed."""

    async def publish(self, scopes: Iterable[str]) -> None:
        """Drop ``scopes`` here and on every other instance."""
        ...

    def start(self) -> None:
        """Begin listening for the other instances' invalidations."""
        ...

    def stop(self) -> None:
        """Stop listening."""
        ...


class LocalBus:
    """A single instance: invalidations stay in this process."""

    def __init__(self, cache: SiteCache) -> None:
        self.cache = cache

    async def publish(self, scopes: Iterable[str]) -> None:
        """Drop ``scopes`` from this process's cache."""
        self.cache.invalidate(scopes)

    def start(self) -> None:
        """Nothing to listen to."""

    def stop(self) -> None:
        """Nothing to stop."""


INVALIDATION_CHANNEL = "inkwell:invalidate"
RESUBSCRIBE_MIN_SECONDS = 0.1
RESUBSCRIBE_MAX_SECONDS = 5.0


class RedisBus:
    """Invalidations over Redis pub/sub, so every instance drops what a write changed.

    The publishing instance drops the scopes at once, then PUBLISHes them as JSON; a
    subscriber task on every instance drops what the others publish. Pub/sub delivers
    only to connected subscribers, so after the subscription is lost and comes back an
    instance drops everything: it may have missed messages in between.
    """

    def __init__(
        self,
        client: RedisClient,
        cache: SiteCache,
        instance_id: str,
        channel: str = INVALIDATION_CHANNEL,
    ) -> None:
        self.client = client
        self.cache = cache
        self.instance_id = instance_id
        self.channel = channel
        self.subscribed = asyncio.Event()
        self._ever_lost = False
        self._task: asyncio.Task[None] | None = None

    async def publish(self, scopes: Iterable[str]) -> None:
        """Drop ``scopes`` here at once, then tell the others (a warning if Redis is down)."""
        names = sorted(set(scopes))
        self.cache.invalidate(names)
        message = json.dumps({"from": self.instance_id, "scopes": names})
        try:
            await self.client.call("PUBLISH", self.channel, message)
        except RedisUnavailable:
            # The others lost their subscription too and drop everything when it returns.
            log.warning("could not publish invalidation %s: Redis unavailable", names)

    def start(self) -> None:
        """Subscribe in a background task that resubscribes after an outage."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._listen())

    def stop(self) -> None:
        """Cancel the subscriber task."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.subscribed.clear()

    async def _listen(self) -> None:
        delay = RESUBSCRIBE_MIN_SECONDS
        while True:
            try:
                async for _channel, payload in self.client.subscribe(
                    self.channel, on_subscribed=self._on_subscribed
                ):
                    self._apply(payload)
            except RedisUnavailable as exc:
                if self.subscribed.is_set() or not self._ever_lost:
                    log.warning("invalidation bus: %s; retrying", exc)
            if self.subscribed.is_set():
                delay = RESUBSCRIBE_MIN_SECONDS
            self.subscribed.clear()
            self._ever_lost = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESUBSCRIBE_MAX_SECONDS)

    def _on_subscribed(self) -> None:
        self.subscribed.set()
        # Whatever was published while nobody listened is unknown: forget it all.
        dropped = self.cache.invalidate([ALL])
        if self._ever_lost:
            log.info("invalidation bus: subscribed again; dropped %d cached entries", dropped)

    def _apply(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            scopes = [str(scope) for scope in message["scopes"]]
            sender = message.get("from")
        except (ValueError, KeyError, TypeError):
            log.warning("invalidation bus: ignoring malformed message %r", payload[:200])
            return
        if sender != self.instance_id:
            self.cache.invalidate(scopes)
