"""Live updates to open pages: who listens to what in this process, and the bus between instances.

A page opens a WebSocket and *subscribes* to a topic (``article:42``, ``admin``). Whichever
instance sees the change (a comment posted, approved) publishes ``(topic, data)``; the bus
carries it to every instance — Redis pub/sub on the channel ``inkwell:live``, or straight to
this process without Redis — and each instance hands it to the handler registered for the
topic's kind, with the local subscribers of that topic (so one database load and one
rendering per instance and language serve every open page).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from extends.redis import RedisClient, RedisUnavailable

log = logging.getLogger("blog.live")

LIVE_CHANNEL = "inkwell:live"
RESUBSCRIBE_MIN_SECONDS = 0.1
RESUBSCRIBE_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class Encoded:
    """A text message encoded once for thousands of connections: its UTF-8 text and the
    uncompressed, unmasked WebSocket frame (RFC 6455 §5.2) a server sends it in."""

    payload: bytes
    frame: bytes

    @classmethod
    def text(cls, message: str) -> Encoded:
        payload = message.encode()
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x81, size)  # FIN, opcode 1 (text); the length
        elif size <= 0xFFFF:
            head = struct.pack("!BBH", 0x81, 126, size)
        else:
            head = struct.pack("!BBQ", 0x81, 127, size)
        return cls(payload, head + payload)


class Subscriber(Protocol):
    """One open connection (a WebSocket handler)."""

    def send(self, message: dict[str, Any] | str | Encoded) -> None:
        """Send a message (a dict, the JSON text of one, or one encoded once for many
        connections); a closed connection ignores it."""
        ...

    def close_for_shutdown(self) -> None:
        """Close cleanly: the instance is stopping, the client reconnects elsewhere."""
        ...


# What an instance does with an event: (topic, data, this process's subscribers of it).
TopicHandler = Callable[[str, dict[str, Any], list[Subscriber]], Awaitable[None]]


class LiveHub:
    """This process's subscribers by topic, and the handler for each kind of topic."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscriber]] = {}
        self._handlers: dict[str, TopicHandler] = {}

    def on(self, kind: str, handler: TopicHandler) -> None:
        """Handle events of topics ``<kind>`` and ``<kind>:…`` with ``handler``."""
        self._handlers[kind] = handler

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._topics.setdefault(topic, set()).add(subscriber)

    def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        subscribers = self._topics.get(topic)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._topics[topic]

    def subscribers(self, topic: str) -> list[Subscriber]:
        return list(self._topics.get(topic, ()))

    def __len__(self) -> int:
        """How many subscriptions are open."""
        return sum(len(subscribers) for subscribers in self._topics.values())

    async def dispatch(self, topic: str, data: dict[str, Any]) -> None:
        """Run the topic's handler for its local subscribers (nothing when there are none)."""
        subscribers = self.subscribers(topic)
        handler = self._handlers.get(topic.split(":", 1)[0])
        if not subscribers or handler is None:
            return
        try:
            await handler(topic, data, subscribers)
        except Exception:
            log.exception("live event %s could not be delivered", topic)

    def close_all(self) -> int:
        """Close every connection (shutdown); how many were open."""
        everyone = {subscriber for group in self._topics.values() for subscriber in group}
        for subscriber in everyone:
            subscriber.close_for_shutdown()
        self._topics.clear()
        return len(everyone)


class LiveBus(Protocol):
    """Carries (topic, data) to every instance's hub."""

    async def publish(self, topic: str, data: dict[str, Any]) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class LocalLiveBus:
    """A single instance: events go straight to this process's hub."""

    def __init__(self, hub: LiveHub) -> None:
        self.hub = hub
        self._deliveries: set[asyncio.Future[None]] = set()

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        # After the request that published, as with Redis: never on its path.
        delivery = asyncio.ensure_future(self.hub.dispatch(topic, data))
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)

    def start(self) -> None:
        """Nothing to listen to."""

    def stop(self) -> None:
        """Nothing to stop."""


class RedisLiveBus:
    """Events over Redis pub/sub: every instance (this one too) receives what any publishes.

    Live updates are a convenience on top of the page: an event published while Redis is
    down reaches this instance's own pages only, and the others show it on the next load.
    """

    def __init__(self, client: RedisClient, hub: LiveHub, channel: str = LIVE_CHANNEL) -> None:
        self.client = client
        self.hub = hub
        self.channel = channel
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Future[None]] = set()

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        message = json.dumps({"topic": topic, "data": data})
        try:
            await self.client.call("PUBLISH", self.channel, message)
        except RedisUnavailable:
            log.warning("live event %s not shared: Redis unavailable", topic)
            await self.hub.dispatch(topic, data)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._listen())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.subscribed.clear()

    async def _listen(self) -> None:
        delay = RESUBSCRIBE_MIN_SECONDS
        while True:
            try:
                async for _channel, payload in self.client.subscribe(
                    self.channel, on_subscribed=self.subscribed.set
                ):
                    delay = RESUBSCRIBE_MIN_SECONDS
                    await self._apply(payload)
            except RedisUnavailable as exc:
                if self.subscribed.is_set():
                    log.warning("live bus: %s; retrying", exc)
            self.subscribed.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESUBSCRIBE_MAX_SECONDS)

    async def _apply(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            topic, data = str(message["topic"]), message["data"]
        except (ValueError, KeyError, TypeError):
            log.warning("live bus: ignoring malformed message %r", payload[:200])
            return
        if isinstance(data, dict):
            # Not awaited inline: a slow delivery must not hold up the subscription.
            delivery = asyncio.ensure_future(self.hub.dispatch(topic, data))
            self._deliveries.add(delivery)
            delivery.add_done_callback(self._deliveries.discard)


def build_live_bus(redis_client: RedisClient | None, hub: LiveHub) -> LiveBus:
    """Redis pub/sub when configured, else this process only."""
    return RedisLiveBus(redis_client, hub) if redis_client is not None else LocalLiveBus(hub)
