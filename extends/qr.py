"""QR sign-in tickets (contract 6): ``qr:<token>`` with a status and a 120 s TTL.

pending → scanned → confirmed → (claimed by the desktop, then gone); or cancelled / expired.
The desktop long-polls its own ticket: the poll is a future in this process, by token;
whoever changes a ticket publishes its token, and every instance wakes its local waiters.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import secrets
from typing import Any, Protocol

import tornado.ioloop

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.redis import RedisArg, RedisClient, RedisUnavailable, as_bytes, as_int

log = logging.getLogger("blog.qr")

KEY_PREFIX = "qr:"
CHANNEL = "inkwell:qr"
# The ticket's deadline, in seconds since the epoch on the stores' clock.
EXPIRES_FIELD = "expires_at"

# KEYS[1] the ticket, ARGV[1] now. Take the ticket only when it is confirmed and not
# expired, and only once: the desktop signs in with it.
_CLAIM_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then return nil end
local ticket = cjson.decode(value)
if ticket['expires_at'] and tonumber(ticket['expires_at']) <= tonumber(ARGV[1]) then
  return nil
end
if ticket['status'] == 'confirmed' then
  redis.call('DEL', KEYS[1])
  return value
end
return nil
"""

# KEYS[1] the ticket, ARGV[1] its new JSON, ARGV[2] now. Never resurrect an expired ticket;
# KEEPTTL: a scan does not extend its life. Returns 1 when written.
_UPDATE_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local deadline = cjson.decode(value)['expires_at']
if deadline and tonumber(deadline) <= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return 1
"""


class TicketStoreUnavailable(Unavailable):
    """The ticket store (Redis) cannot be reached."""

    user_message = "Signing in is unavailable for a moment. Please retry soon."


class TicketStore(Protocol):
    """Where tickets live for ``ttl`` seconds; each carries its deadline as ``expires_at``."""

    async def create(self, token: str, ticket: dict[str, Any], ttl: int) -> None:
        """Keep a new ticket for ``ttl`` seconds from now."""
        ...

    async def get(self, token: str) -> dict[str, Any] | None:
        """The ticket, or None when unknown or expired."""
        ...

    async def update(self, token: str, ticket: dict[str, Any]) -> bool:
        """Replace a live ticket (one read with ``get``), keeping its deadline; False if gone."""
        ...

    async def claim(self, token: str) -> dict[str, Any] | None:
        """Take a confirmed ticket away, once; None when it is not (or no longer) confirmed."""
        ...

    def purge_expired(self) -> int:
        """Drop expired tickets now; how many were dropped (a store that expires by itself: 0)."""
        ...


def _expired(ticket: dict[str, Any], now: float) -> bool:
    deadline = ticket.get(EXPIRES_FIELD)
    return isinstance(deadline, int | float) and deadline <= now


class MemoryTicketStore:
    """Tickets in this process (a single instance)."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._tickets: dict[str, dict[str, Any]] = {}

    async def create(self, token: str, ticket: dict[str, Any], ttl: int) -> None:
        self._tickets[token] = {**ticket, EXPIRES_FIELD: self.clock.time() + ttl}

    def purge_expired(self) -> int:
        """Forget expired tickets (Redis does this by itself); returns how many went."""
        now = self.clock.time()
        stale = [token for token, ticket in self._tickets.items() if _expired(ticket, now)]
        for token in stale:
            del self._tickets[token]
        return len(stale)

    def __len__(self) -> int:
        """How many tickets are held, expired ones included until they are purged."""
        return len(self._tickets)

    async def get(self, token: str) -> dict[str, Any] | None:
        ticket = self._tickets.get(token)
        if ticket is None or _expired(ticket, self.clock.time()):
            self._tickets.pop(token, None)
            return None
        return dict(ticket)

    async def update(self, token: str, ticket: dict[str, Any]) -> bool:
        stored = await self.get(token)
        if stored is None:
            return False
        self._tickets[token] = {**ticket, EXPIRES_FIELD: stored[EXPIRES_FIELD]}
        return True

    async def claim(self, token: str) -> dict[str, Any] | None:
        ticket = await self.get(token)
        if ticket is None or ticket["status"] != "confirmed":
            return None
        del self._tickets[token]
        return ticket


class RedisTicketStore:
    """Tickets in Redis, so the phone and the desktop may reach different instances.

    The key's TTL only collects garbage: a ticket past its ``expires_at`` on the injected
    clock is expired even while Redis still holds it.
    """

    def __init__(self, client: RedisClient, clock: Clock = SYSTEM_CLOCK) -> None:
        self.client = client
        self.clock = clock

    def purge_expired(self) -> int:
        # Every key carries a TTL: Redis drops expired tickets by itself.
        return 0

    async def _eval(self, script: str, token: str, *args: RedisArg) -> bytes | int | None:
        try:
            reply = await self.client.eval(script, [KEY_PREFIX + token], args)
        except RedisUnavailable as exc:
            raise TicketStoreUnavailable(str(exc)) from exc
        return reply if isinstance(reply, bytes | int) else None

    async def create(self, token: str, ticket: dict[str, Any], ttl: int) -> None:
        value = json.dumps({**ticket, EXPIRES_FIELD: self.clock.time() + ttl})
        try:
            await self.client.call("SET", KEY_PREFIX + token, value, "EX", ttl)
        except RedisUnavailable as exc:
            raise TicketStoreUnavailable(str(exc)) from exc

    async def get(self, token: str) -> dict[str, Any] | None:
        try:
            value = as_bytes(await self.client.call("GET", KEY_PREFIX + token))
        except RedisUnavailable as exc:
            raise TicketStoreUnavailable(str(exc)) from exc
        return self._live(value)

    async def update(self, token: str, ticket: dict[str, Any]) -> bool:
        now = f"{self.clock.time():.6f}"
        reply = await self._eval(_UPDATE_SCRIPT, token, json.dumps(ticket), now)
        return as_int(reply) == 1

    async def claim(self, token: str) -> dict[str, Any] | None:
        reply = await self._eval(_CLAIM_SCRIPT, token, f"{self.clock.time():.6f}")
        return self._live(reply if isinstance(reply, bytes) else None)

    def _live(self, value: bytes | None) -> dict[str, Any] | None:
        if value is None:
            return None
        ticket = json.loads(value)
        if not isinstance(ticket, dict) or _expired(ticket, self.clock.time()):
            return None
        return ticket


class QrTickets:
    """Creates, changes and waits on tickets; wakes waiters on every instance.

    A pending long poll costs nothing while it waits: a future in ``_waiters`` (by token)
    and an entry in one deadline heap. One subscription to ``CHANNEL`` wakes the waiters of
    a changed token on this instance; one periodic sweep answers those whose time is up.
    """

    # How often the sweep looks for waits that are over (their answer is at most this late).
    SWEEP_SECONDS = 0.2
    # A wait lasts between this share of the asked time and all of it, at random: desktops
    # that opened their page together (or re-polled after a restart) spread their re-polls.
    SPREAD = 0.6

    def __init__(
        self,
        store: TicketStore,
        ttl: int,
        publisher: RedisClient | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.publisher = publisher
        self.clock = clock
        # token → futures of the polls waiting on it; True: look again, False: time is up.
        self._waiters: dict[str, set[asyncio.Future[bool]]] = {}
        # (deadline on the loop's clock, sequence, future), the soonest first.
        self._deadlines: list[tuple[float, int, asyncio.Future[bool]]] = []
        self._sequence = itertools.count()
        self._sweeper: tornado.ioloop.PeriodicCallback | None = None
        self._listener: asyncio.Task[None] | None = None
        self._stopping = False

    async def create(self, desktop: dict[str, Any]) -> str:
        """A new pending ticket for a desktop browser; returns its token."""
        token = secrets.token_urlsafe(24)
        ticket = {"status": "pending", "desktop": desktop, "created": self.clock.time()}
        await self.store.create(token, ticket, self.ttl)
        return token

    async def get(self, token: str) -> dict[str, Any] | None:
        """The ticket (``status``, ``desktop``...), or None when unknown or expired."""
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
        """Take a confirmed ticket, once (the desktop signs in with it); else None."""
        return await self.store.claim(token)

    async def notify(self, token: str) -> None:
        """Wake the waiters on ``token`` here and, through Redis, on every instance."""
        self._wake(token)
        if self.publisher is not None:
            try:
                await self.publisher.call("PUBLISH", CHANNEL, token)
            except RedisUnavailable:
                log.warning("could not publish a QR ticket change")

    def start(self) -> None:
        """Subscribe now, so a change published before the first long poll is not missed."""
        self._ensure_listener()
        self._ensure_sweeper()

    async def poll(self, token: str, since: str, timeout: float) -> dict[str, Any] | None:
        """The ticket once it has left status ``since`` (here or on another instance), or,
        after about ``timeout`` seconds, as it was (still ``since``); None when gone.

        One read of the store when nothing changes; a second one only after a change.
        """
        if self._stopping:
            return await self.store.get(token)
        self._ensure_listener()
        self._ensure_sweeper()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(token, set()).add(waiter)
        try:
            # Registered first, looked at second: a change in between is never missed.
            ticket = await self.store.get(token)
            if ticket is None or ticket.get("status") != since:
                return ticket
            deadline = asyncio.get_running_loop().time() + timeout * random.uniform(
                self.SPREAD, 1.0
            )
            heapq.heappush(self._deadlines, (deadline, next(self._sequence), waiter))
            if not await waiter:
                return ticket
            return await self.store.get(token)
        finally:
            waiters = self._waiters.get(token)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[token]
            if not waiter.done():
                waiter.cancel()

    def _wake(self, token: str, changed: bool = True) -> None:
        for waiter in self._waiters.get(token, ()):
            if not waiter.done():
                waiter.set_result(changed)

    def _wake_all(self, changed: bool = True) -> None:
        for token in list(self._waiters):
            self._wake(token, changed)

    def _sweep(self) -> None:
        """Answer the polls whose time is up (their page polls again)."""
        now = asyncio.get_running_loop().time()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            waiter = heapq.heappop(deadlines)[2]
            if not waiter.done():
                waiter.set_result(False)

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None and not self._stopping:
            self._sweeper = tornado.ioloop.PeriodicCallback(self._sweep, self.SWEEP_SECONDS * 1000)
            self._sweeper.start()

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
        self._wake_all(changed=False)
        self._deadlines.clear()
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)


def build_qr_tickets(
    redis_clients: list[RedisClient], ttl: int, clock: Clock = SYSTEM_CLOCK
) -> QrTickets:
    """Tickets in Redis, changes published there, when configured; else in this process."""
    if redis_clients:
        client = redis_clients[0]
        return QrTickets(RedisTicketStore(client, clock), ttl, publisher=client, clock=clock)
    return QrTickets(MemoryTicketStore(clock), ttl, clock=clock)
