"""Server-side sessions: a signed cookie carries an id, a store keeps the JSON.

Two stores share one interface: Redis (a consistent hash ring picks the node
per session id, so any instance serves any request) and an in-process dict
(a single instance only).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any, Protocol

from extends.hashring import HashRing
from extends.redis import RedisClient, RedisUnavailable

log = logging.getLogger("blog.session")

COOKIE_NAME = "sid"
KEY_PREFIX = "session:"
# A sliding TTL is refreshed at most this often, so a quiet session costs no write.
REFRESH_AFTER_SECONDS = 3600


class SessionStoreUnavailable(Exception):
    """The store cannot be reached; pages that need a session answer 503."""


class SessionStore(Protocol):
    async def load(self, sid: str) -> dict[str, Any] | None: ...

    async def save(self, sid: str, data: dict[str, Any], ttl: int) -> None: ...

    async def delete(self, sid: str) -> None: ...

    async def ping(self) -> bool: ...


class MemorySessionStore:
    """Sessions in this process's memory: lost on restart, invisible to other instances."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, str]] = {}

    async def load(self, sid: str) -> dict[str, Any] | None:
        item = self._items.get(sid)
        if item is None:
            return None
        expires_at, payload = item
        if expires_at <= time.monotonic():
            del self._items[sid]
            return None
        return json.loads(payload)

    async def save(self, sid: str, data: dict[str, Any], ttl: int) -> None:
        self._items[sid] = (time.monotonic() + ttl, json.dumps(data))
        if len(self._items) % 1000 == 0:
            self.purge_expired()

    async def delete(self, sid: str) -> None:
        self._items.pop(sid, None)

    async def ping(self) -> bool:
        return True

    def purge_expired(self) -> int:
        now = time.monotonic()
        expired = [sid for sid, (expires_at, _) in self._items.items() if expires_at <= now]
        for sid in expired:
            del self._items[sid]
        return len(expired)


class RedisSessionStore:
    """Sessions as ``session:<id>`` JSON strings with a TTL, spread over a hash ring of nodes."""

    def __init__(self, clients: list[RedisClient]) -> None:
        self._by_url = {client.url: client for client in clients}
        self._ring: HashRing[str] = HashRing(list(self._by_url))

    def _client(self, sid: str) -> RedisClient:
        return self._by_url[self._ring.node_for(sid)]

    async def load(self, sid: str) -> dict[str, Any] | None:
        try:
            payload = await self._client(sid).call("GET", KEY_PREFIX + sid)
        except RedisUnavailable as exc:
            raise SessionStoreUnavailable(str(exc)) from exc
        if payload is None:
            return None
        try:
            data = json.loads(payload)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    async def save(self, sid: str, data: dict[str, Any], ttl: int) -> None:
        try:
            await self._client(sid).call("SET", KEY_PREFIX + sid, json.dumps(data), "EX", ttl)
        except RedisUnavailable as exc:
            raise SessionStoreUnavailable(str(exc)) from exc

    async def delete(self, sid: str) -> None:
        try:
            await self._client(sid).call("DEL", KEY_PREFIX + sid)
        except RedisUnavailable as exc:
            raise SessionStoreUnavailable(str(exc)) from exc

    async def ping(self) -> bool:
        for client in self._by_url.values():
            if not await client.ping():
                return False
        return True


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
        return self.data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self._touch()

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def pop(self, key: str, default: Any = None) -> Any:
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
        self.data = {}
        self.rotate()

    def _touch(self) -> None:
        self.modified = True
        if self.sid is None:
            self.sid = secrets.token_urlsafe(32)
            self.new_id = True


class SessionManager:
    """Loads and saves sessions for handlers; the only place that knows the cookie."""

    def __init__(self, store: SessionStore, ttl: int, secure: bool = False) -> None:
        self.store = store
        self.ttl = ttl
        self.secure = secure

    @property
    def shared(self) -> bool:
        return isinstance(self.store, RedisSessionStore)

    async def load(self, sid: str | None) -> Session:
        """The session for a (verified) cookie id; a fresh anonymous one when unknown."""
        if not sid:
            return Session(None)
        data = await self.store.load(sid)
        if data is None:
            return Session(None)
        session = Session(sid, data)
        if time.time() - float(data.get("_refreshed", 0)) > REFRESH_AFTER_SECONDS:
            session["_refreshed"] = time.time()
        return session

    async def save(self, session: Session) -> None:
        """Write a changed session (one SET with TTL) and retire a replaced id."""
        if session.retired_sid:
            await self.store.delete(session.retired_sid)
            session.retired_sid = None
        if session.modified and session.sid:
            session.data["_refreshed"] = time.time()
            await self.store.save(session.sid, session.data, self.ttl)
            session.persisted = True
        session.modified = False

    async def destroy(self, sid: str) -> None:
        await self.store.delete(sid)

    def cookie_options(self) -> dict[str, Any]:
        return {
            "httponly": True,
            "samesite": "Lax",
            "secure": self.secure,
            "expires_days": self.ttl / 86400,
        }


def build_session_manager(
    redis_clients: list[RedisClient], ttl: int, secure: bool
) -> SessionManager:
    """Redis when configured, else the in-process store (and say so at start)."""
    if redis_clients:
        return SessionManager(RedisSessionStore(redis_clients), ttl, secure)
    log.warning(
        "No Redis configured: sessions are kept in this process only; run a single instance."
    )
    return SessionManager(MemorySessionStore(), ttl, secure)
