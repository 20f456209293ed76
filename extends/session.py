"""Server-side sessions: a signed cookie carries an id, a store keeps the JSON.

Two stores share one interface: Redis (a consistent hash ring picks the node
per session id, so any instance serves any request) and an in-process dict
(a single instance only).
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any, Protocol, TypedDict

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.hashring import HashRing
from extends.redis import RedisClient, RedisUnavailable, as_bytes

log = logging.getLogger("blog.session")

COOKIE_NAME = "sid"
KEY_PREFIX = "session:"
# A sliding TTL is refreshed at most this often, so a quiet session costs no write.
REFRESH_AFTER_SECONDS = 3600
# The deadline a Redis session carries in its JSON (the key's TTL only collects garbage).
EXPIRES_FIELD = "_expires_at"


class CookieOptions(TypedDict):
    """Keyword arguments of ``RequestHandler.set_signed_cookie`` for the session id."""

    httponly: bool
    samesite: str
    secure: bool
    expires_days: float


class SessionStoreUnavailable(Unavailable):
    """The store cannot be reached; pages that need a session answer 503."""

    user_message = "Signing in is unavailable for a moment. Please retry soon."


class SessionStore(Protocol):
    """Where session data lives between requests, each entry for ``ttl`` seconds."""

    async def load(self, sid: str) -> dict[str, Any] | None:
        """The data saved under ``sid``, or None when unknown or expired."""
        ...

    async def save(self, sid: str, data: dict[str, Any], ttl: int) -> None:
        """Keep ``data`` under ``sid`` for ``ttl`` seconds from now."""
        ...

    async def delete(self, sid: str) -> None:
        """Forget ``sid`` (a retired id)."""
        ...

    def purge_expired(self) -> int:
        """Drop expired entries now; how many were dropped (a store that expires by itself: 0)."""
        ...


class MemorySessionStore:
    """Sessions in this process's memory: lost on restart, invisible to other instances."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._items: dict[str, tuple[float, str]] = {}

    async def load(self, sid: str) -> dict[str, Any] | None:
        item = self._items.get(sid)
        if item is None:
            return None
        expires_at, payload = item
        if expires_at <= self.clock.monotonic():
            del self._items[sid]
            return None
        data: dict[str, Any] = json.loads(payload)
        return data

    async def save(self, sid: str, data: dict[str, Any], ttl: int) -> None:
        self._items[sid] = (self.clock.monotonic() + ttl, json.dumps(data))
        if len(self._items) % 1000 == 0:
            self.purge_expired()

    async def delete(self, sid: str) -> None:
        self._items.pop(sid, None)

    def purge_expired(self) -> int:
        """Forget expired sessions (Redis does this by itself); returns how many went."""
        now = self.clock.monotonic()
        expired = [sid for sid, (expires_at, _) in self._items.items() if expires_at <= now]
        for sid in expired:
            del self._items[sid]
        return len(expired)

    def __len__(self) -> int:
        """How many sessions are held, expired ones included until they are purged."""
        return len(self._items)


class RedisSessionStore:
    """Sessions as ``session:<id>`` JSON strings with a TTL, spread over a hash ring of nodes.

    The JSON carries its deadline on the injected clock (``_expires_at``): a session past it
    is expired even while Redis still holds the key. A session saved without one (by an
    older release) lives as long as its key.
    """

    def __init__(self, clients: list[RedisClient], clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._by_url = {client.url: client for client in clients}
        self._ring: HashRing[str] = HashRing(list(self._by_url))

    def _client(self, sid: str) -> RedisClient:
        return self._by_url[self._ring.node_for(sid)]

    def purge_expired(self) -> int:
        # Every key carries a TTL: Redis drops expired sessions by itself.
        return 0

    async def load(self, sid: str) -> dict[str, Any] | None:
        try:
            payload = as_bytes(await self._client(sid).call("GET", KEY_PREFIX + sid))
        except RedisUnavailable as exc:
            raise SessionStoreUnavailable(str(exc)) from exc
        if payload is None:
            return None
        try:
            data = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        expires_at = data.pop(EXPIRES_FIELD, None)
        if isinstance(expires_at, int | float) and expires_at <= self.clock.time():
            return None
        return data

    async def save(self, sid: str, data: dict[str, Any], ttl: int) -> None:
        payload = json.dumps({**data, EXPIRES_FIELD: self.clock.time() + ttl})
        try:
            await self._client(sid).call("SET", KEY_PREFIX + sid, payload, "EX", ttl)
        except RedisUnavailable as exc:
            raise SessionStoreUnavailable(str(exc)) from exc

    async def delete(self, sid: str) -> None:
        try:
            await self._client(sid).call("DEL", KEY_PREFIX + sid)
        except RedisUnavailable as exc:
            raise SessionStoreUnavailable(str(exc)) from exc


class Session:
    """One visitor's session data; tracks whether it needs writing back."""

    def __init__(self, sid: str | None, data: dict[str, Any] | None = None) -> None:
        self.sid = sid
        self.data: dict[str, Any] = data or {}
        self.modified = False
        self.new_id = False
        self.retired_sid: str | None = None
        # True once the id exists in the store: only then must a rotation delete it.
        self.persisted = sid is not None

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default``."""
        return self.data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        """Set a value; the session will be saved (and get an id if it has none)."""
        self.data[key] = value
        self._touch()

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def pop(self, key: str, default: Any = None) -> Any:
        """Remove and return the value under ``key`` (a change only when it was there)."""
        if key in self.data:
            self._touch()
            return self.data.pop(key)
        return default

    def rotate(self) -> None:
        """Give the session a new id (at sign-in and sign-out) so a planted id is useless."""
        if self.sid and self.persisted:
            self.retired_sid = self.sid
            self.persisted = False
        self.sid = None
        self._touch()

    def clear(self) -> None:
        """Forget everything and take a new id (signing out)."""
        self.data = {}
        self.rotate()

    def _touch(self) -> None:
        self.modified = True
        if self.sid is None:
            self.sid = secrets.token_urlsafe(32)
            self.new_id = True


class SessionManager:
    """Loads and saves sessions for handlers; the only place that knows the cookie."""

    def __init__(
        self, store: SessionStore, ttl: int, secure: bool = False, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.secure = secure
        self.clock = clock

    async def load(self, sid: str | None) -> Session:
        """The session for a (verified) cookie id; a fresh anonymous one when unknown."""
        if not sid:
            return Session(None)
        data = await self.store.load(sid)
        if data is None:
            return Session(None)
        session = Session(sid, data)
        now = self.clock.time()
        if now - float(data.get("_refreshed", 0)) > REFRESH_AFTER_SECONDS:
            session["_refreshed"] = now
        return session

    async def save(self, session: Session) -> None:
        """Write a changed session (one SET with TTL) and retire a replaced id."""
        if session.retired_sid:
            await self.store.delete(session.retired_sid)
            session.retired_sid = None
        if session.modified and session.sid:
            session.data["_refreshed"] = self.clock.time()
            await self.store.save(session.sid, session.data, self.ttl)
            session.persisted = True
        session.modified = False

    def cookie_options(self) -> CookieOptions:
        """Keyword arguments for ``set_signed_cookie`` of the session id."""
        return {
            "httponly": True,
            "samesite": "Lax",
            "secure": self.secure,
            "expires_days": self.ttl / 86400,
        }


def build_session_manager(
    redis_clients: list[RedisClient], ttl: int, secure: bool, clock: Clock = SYSTEM_CLOCK
) -> SessionManager:
    """Redis when configured, else the in-process store (and say so at start)."""
    if redis_clients:
        return SessionManager(RedisSessionStore(redis_clients, clock), ttl, secure, clock)
    log.warning(
        "No Redis configured: sessions are kept in this process only; run a single instance."
    )
    return SessionManager(MemorySessionStore(clock), ttl, secure, clock)
