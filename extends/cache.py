"""The per-process site cache and the bus that tells every instance what to drop.

Entries are tagged with scopes (``settings``, ``article:42``, ``comments:42``,
``pages``, ``user:7``...). A write publishes the scopes it changed; every instance drops
the entries tagged with any of them. ``all`` drops everything.

The cache is split into regions (full pages, data the pages are built from, the signed-in
users' state, drawn fragments of signed-in pages), each a least-recently-used map bounded in
bytes: a region over its budget forgets its least recently used entries. /healthz shows every
region's size.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sys
import types
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from extends.clock import SYSTEM_CLOCK, Clock
from extends.redis import RedisClient, RedisUnavailable

log = logging.getLogger("blog.cache")

ALL = "all"

# Regions: anonymous full pages; what pages are built from (settings, menus, sidebar,
# articles, comments, lists, redirects); signed-in users' state (role, password fingerprint);
# drawn pieces of pages every signed-in reader shares (an article's body, its comment list).
PAGES = "pages"
DATA = "data"
USERS = "users"
FRAGMENTS = "fragments"
MEBIBYTE = 1024 * 1024
DEFAULT_REGION_BYTES: Mapping[str, int] = {
    PAGES: 64 * MEBIBYTE,
    DATA: 32 * MEBIBYTE,
    USERS: MEBIBYTE,
    FRAGMENTS: 32 * MEBIBYTE,
}
# Measuring a value walks at most this many objects (a huge value is simply "big").
MAX_OBJECTS_MEASURED = 200_000

T = TypeVar("T")

_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None))
_SKIPPED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def approximate_size(value: Any) -> int:
    """Roughly how many bytes ``value`` holds: itself and everything it refers to.

    Walks containers, dataclasses and plain objects (a detached SQLAlchemy instance: its
    loaded attributes, not its ``_sa_`` bookkeeping), counting each object once.
    """
    seen: set[int] = set()
    stack = [value]
    total = 0
    while stack and len(seen) < MAX_OBJECTS_MEASURED:
        item = stack.pop()
        if id(item) in seen or isinstance(item, _SKIPPED):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, _ATOMS):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif dataclasses.is_dataclass(item):
            stack.extend(getattr(item, field.name) for field in dataclasses.fields(item))
        else:
            attributes = getattr(item, "__dict__", None)
            if isinstance(attributes, dict):
                stack.extend(
                    attribute
                    for name, attribute in attributes.items()
                    if not name.startswith("_sa_")
                )
    return total


class _Entry(NamedTuple):
    tags: frozenset[str]
    expires_at: float | None
    value: Any
    size: int


@dataclass(frozen=True)
class RegionStats:
    """What /healthz shows for one region."""

    entries: int
    bytes: int
    limit: int


class CacheRegion:
    """One least-recently-used map of the cache, bounded in bytes."""

    def __init__(self, name: str, max_bytes: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.clock = clock
        self.bytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, key: str, default: Any = None) -> Any:
        """The value (now the most recently used), or ``default`` when missing or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        if entry.expires_at is not None and entry.expires_at <= self.clock.monotonic():
            self._remove(key)
            return default
        self._entries.move_to_end(key)
        return entry.value

    def set(self, key: str, value: Any, tags: frozenset[str], ttl: float | None) -> bool:
        """Keep ``value``; the least recently used entries leave to stay within budget.

        A value larger than the whole budget is not kept (False).
        """
        size = approximate_size(value) + sys.getsizeof(key)
        if key in self._entries:
            self._remove(key)
        if size > self.max_bytes:
            log.info(
                "cache %s: not keeping %s (%d bytes > %d)", self.name, key, size, self.max_bytes
            )
            return False
        while self._entries and self.bytes + size > self.max_bytes:
            self._remove(next(iter(self._entries)))
        expires_at = self.clock.monotonic() + ttl if ttl else None
        self._entries[key] = _Entry(tags, expires_at, value, size)
        self.bytes += size
        return True

    def invalidate(self, wanted: AbstractSet[str]) -> int:
        """Drop every entry tagged with one of ``wanted`` (``all``: every entry)."""
        if ALL in wanted:
            count = len(self._entries)
            self._entries.clear()
            self.bytes = 0
            return count
        doomed = [key for key, entry in self._entries.items() if entry.tags & wanted]
        for key in doomed:
            self._remove(key)
        return len(doomed)

    def stats(self) -> RegionStats:
        return RegionStats(len(self._entries), self.bytes, self.max_bytes)

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size

    def __len__(self) -> int:
        return len(self._entries)


# How many scopes' invalidation times are remembered before the ones no load needs go.
_DROPPED_SCOPES_KEPT = 4096


class SiteCache:
    """Hot data in memory, each entry tagged with the scopes that invalidate it.

    ``region`` picks the byte-bounded map an entry lives in (``data`` unless told).
    """

    def __init__(
        self, region_bytes: Mapping[str, int] | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.clock = clock
        self.regions = {
            name: CacheRegion(name, limit, clock)
            for name, limit in (region_bytes or DEFAULT_REGION_BYTES).items()
        }
        self._loading: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.generation = 0
        # The generation at which each scope was last invalidated: a load is stale only when
        # one of its own scopes (or everything) was dropped while it ran.
        self._dropped_at: dict[str, int] = {}
        self._loads_started: dict[int, int] = {}

    def get(self, key: str, default: Any = None, region: str = DATA) -> Any:
        """The cached value, or ``default`` when missing or past its TTL."""
        return self.regions[region].get(key, default)

    def set(
        self,
        key: str,
        value: Any,
        scopes: Iterable[str] = (),
        ttl: float | None = None,
        region: str = DATA,
    ) -> None:
        """Keep ``value`` under ``key``, dropped with any of ``scopes`` or after ``ttl`` s."""
        self.regions[region].set(key, value, frozenset(scopes) | {key}, ttl)

    def is_loading(self, key: str, region: str = DATA) -> bool:
        """Whether a ``get_or_load`` of ``key`` is under way (a caller would wait for it)."""
        return (region, key) in self._loading

    async def get_or_load(
        self,
        key: str,
        loader: Callable[[], Awaitable[T]],
        scopes: Iterable[str] = (),
        ttl: float | None = None,
        region: str = DATA,
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """The cached value, or load it once even when many requests ask at the same time.

        ``keep`` says whether a loaded value may be cached (None: always).
        """
        missing = object()
        cached = self.get(key, missing, region)
        if cached is not missing:
            # Whoever stored under ``key`` stored what this loader returns.
            return cast(T, cached)
        pending = self._loading.get((region, key))
        if pending is not None:
            return cast(T, await asyncio.shield(pending))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[(region, key)] = future
        generation = self.generation
        tags = frozenset(scopes) | {key}
        self._loads_started[generation] = self._loads_started.get(generation, 0) + 1
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: the waiters get it, nobody else must
            raise
        finally:
            self._loading.pop((region, key), None)
            self._load_done(generation)
        # An invalidation of one of its scopes while loading makes this value stale: do not
        # keep it. Other scopes' invalidations (a counter flush's "stats") do not matter.
        if not self.dropped_since(tags, generation) and (keep is None or keep(value)):
            self.set(key, value, scopes, ttl, region)
        future.set_result(value)
        return value

    def dropped_since(self, scopes: AbstractSet[str], generation: int) -> bool:
        """Whether one of ``scopes`` (or everything) was invalidated after ``generation``."""
        dropped_at = self._dropped_at
        if dropped_at.get(ALL, -1) >= generation:
            return True
        return any(dropped_at.get(scope, -1) >= generation for scope in scopes)

    def _load_done(self, generation: int) -> None:
        left = self._loads_started.get(generation, 1) - 1
        if left:
            self._loads_started[generation] = left
        else:
            self._loads_started.pop(generation, None)

    def invalidate(self, scopes: Iterable[str]) -> int:
        """Drop every entry tagged with one of ``scopes``; returns how many went."""
        wanted = set(scopes)
        for scope in wanted:
            self._dropped_at[scope] = self.generation
        self.generation += 1
        if len(self._dropped_at) > _DROPPED_SCOPES_KEPT:
            # Only loads still running compare against these: forget what is older than all.
            oldest = min(self._loads_started, default=self.generation)
            self._dropped_at = {scope: at for scope, at in self._dropped_at.items() if at >= oldest}
        return sum(region.invalidate(wanted) for region in self.regions.values())

    def stats(self) -> dict[str, RegionStats]:
        """Entries, bytes and byte limit of every region (for /healthz)."""
        return {name: region.stats() for name, region in self.regions.items()}

    def __len__(self) -> int:
        return sum(len(region) for region in self.regions.values())


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


async def announce_invalidation(
    client: RedisClient,
    scopes: Iterable[str],
    sender: str,
    channel: str = INVALIDATION_CHANNEL,
) -> None:
    """Tell every listening instance to drop ``scopes`` (the commands beside ``serve`` use
    it too: a role changed from the shell counts at once); raises RedisUnavailable."""
    message = json.dumps({"from": sender, "scopes": sorted(set(scopes))})
    await client.call("PUBLISH", channel, message)


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
        try:
            await announce_invalidation(self.client, names, self.instance_id, self.channel)
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
