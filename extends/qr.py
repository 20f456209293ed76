"""QR sign-in tickets (contract 6): ``qr:<token>`` with a status and a 120 s TTL.

pending → scanned → confirmed → (claimed by the desktop, then gone); or cancelled / expired.
The desktop long-polls its own ticket and waits on a per-token ``tornado.locks.Event``;
whoever changes a ticket publishes its token, and every instance wakes its local waiters.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import secrets
import time
from typing import Any, Protocol

import tornado.locks
import tornado.util

from extends.redis import RedisClient, RedisUnavailable

log = logging.getLogger("blog.qr")

KEY_PREFIX = "qr:"
CHANNEL = "inkwell:qr"
STATUSES = ("pending", "scanned", "confirmed", "cancelled")

# Take the ticket only when it is confirmed, and only once: the desktop signs in with it.
_CLAIM_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then return nil end
if cjson.decode(value)['status'] == 'confirmed' then
  redis.call('DEL', KEYS[1])
  return value
end
return nil
"""


class TicketStoreUnavailable(Exception):
    """The ticket store (Redis) cannot be reached."""


class TicketStore(Protocol):
    async def create(self, token: str, ticket: dict[str, Any], ttl: int) -> None: ...

    async def get(self, token: str) -> dict[str, Any] | None: ...

    async def update(self, token: str, ticket: dict[str, Any]) -> bool: ...

    async def claim(self, token: str) -> dict[str, Any] | None: ...


class MemoryTicketStore:
    """Tickets in this process (a single instance)."""

    def __init__(self) -> None:
        self._tickets: dict[str, tuple[float, dict[str, Any]]] = {}

    async def create(self, token: str, ticket: dict[str, Any], ttl: int) -> None:
        self._tickets[token] = (time.monotonic() + ttl, dict(ticket))

    def purge_expired(self) -> int:
        """Forget expired tickets (Redis does this by itself with the key's TTL)."""
        now = time.monotonic()
        stale = [key for key, (expires, _) in self._tickets.items() if expires <= now]
        for key in stale:
            del self._tickets[key]
        return len(stale)

    async def get(self, token: str) -> dict[str, Any] | None:
        item = self._tickets.get(token)
        if item is None or item[0] <= time.monotonic():
            self._tickets.pop(token, None)
            return None
        return dict(item[1])

    async def update(self, token: str, ticket: dict[str, Any]) -> bool:
        item = self._tickets.get(token)
        if item is None or item[0] <= time.monotonic():
            return False
        self._tickets[token] = (item[0], dict(ticket))
        return True

    async def claim(self, token: str) -> dict[str, Any] | None:
        ticket = await self.get(token)
        if ticket is None or ticket["status"] != "confirmed":
            return None
        del self._tickets[token]
        return ticket


class RedisTicketStore:
    """Tickets in Redis, so the phone and the desktop may reach different instances."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client

    async def _call(self, *args: Any) -> Any:
        try:
            return await self.client.call(*args)
        except RedisUnavailable as exc:
            raise TicketStoreUnavailable(str(exc)) from exc

    async def create(self, token: str, ticket: dict[str, Any], ttl: int) -> None:
        await self._call("SET", KEY_PREFIX + token, json.dumps(ticket), "EX", ttl)

    async def get(self, token: str) -> dict[str, Any] | None:
        value = await self._call("GET", KEY_PREFIX + token)
        return json.loads(value) if value else None

    async def update(self, token: str, ticket: dict[str, Any]) -> bool:
        # XX: never resurrect an expired ticket; KEEPTTL: a scan does not extend its life.
        reply = await self._call("SET", KEY_PREFIX + token, json.dumps(ticket), "XX", "KEEPTTL")
        return reply == b"OK"

    async def claim(self, token: str) -> dict[str, Any] | None:
        value = await self._call("EVAL", _CLAIM_SCRIPT, 1, KEY_PREFIX + token)
        return json.loads(value) if value else None


class QrTickets:
    """Creates, changes and waits on tickets; wakes waiters on every instance."""

    def __init__(self, store: TicketStore, ttl: int, publisher: RedisClient | None = None) -> None:
        self.store = store
        self.ttl = ttl
        self.publisher = publisher
        self._events: dict[str, tornado.locks.Event] = {}
        self._listener: asyncio.Task[None] | None = None
        self._stopping = False

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(24)

    async def create(self, desktop: dict[str, Any]) -> str:
        """A new pending ticket for a desktop browser; returns its token."""
        token = self.new_token()
        ticket = {"status": "pending", "desktop": desktop, "created": time.time()}
        await self.store.create(token, ticket, self.ttl)
        return token

    async def get(self, token: str) -> dict[str, Any] | None:
        return await self.store.get(token)

    async def set_status(self, token: str, status: str, **extra: Any) -> dict[str, Any] | None:
        """Move a ticket on and wake everyone waiting on it; None when it has expired."""
        ticket = await self.store.get(token)
        if ticket is None:
            return None
        ticket.update(status=status, **extra)
        if not await self.store.update(token, ticket):
            return None
        await self.notify(token)
        return ticket

    async def claim(self, token: str) -> dict[str, Any] | None:
        return await self.store.claim(token)

    async def notify(self, token: str) -> None:
        self._wake(token)
        if self.publisher is not None:
            try:
                await self.publisher.call("PUBLISH", CHANNEL, token)
            except RedisUnavailable:
                log.warning("could not publish a QR ticket change")

    async def wait(self, token: str, timeout: float) -> None:
        """Return when the ticket changes (here or on another instance) or after ``timeout``."""
        if self._stopping:
            return
        self._ensure_listener()
        event = self._events.get(token)
        if event is None:
            event = self._events[token] = tornado.locks.Event()
        try:
            await event.wait(timeout=datetime.timedelta(seconds=timeout))
        except tornado.util.TimeoutError:
            pass
        finally:
            # The first waiter to return forgets the event; a later poll makes a new one.
            if self._events.get(token) is event and event.is_set():
                del self._events[token]

    def _wake(self, token: str) -> None:
        event = self._events.pop(token, None)
        if event is not None:
            event.set()

    def _wake_all(self) -> None:
        for token in list(self._events):
            self._wake(token)

    def _ensure_listener(self) -> None:
        if self.publisher is None or self._stopping:
            return
        if self._listener is None or self._listener.done():
            self._listener = asyncio.ensure_future(self._listen())

    async def _listen(self) -> None:
        assert self.publisher is not None
        delay = 0.2
        while not self._stopping:
            try:
                async for _channel, message in self.publisher.subscribe(CHANNEL):
                    delay = 0.2
                    self._wake(message.decode())
            except RedisUnavailable:
                # Changes may have been missed: let every waiter look again.
                self._wake_all()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        """Release every waiter (their pages poll again, maybe on another instance)."""
        self._stopping = True
        self._wake_all()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)


def build_qr_tickets(redis_clients: list[RedisClient], ttl: int) -> QrTickets:
    if redis_clients:
        return QrTickets(RedisTicketStore(redis_clients[0]), ttl, publisher=redis_clients[0])
    return QrTickets(MemoryTicketStore(), ttl)
