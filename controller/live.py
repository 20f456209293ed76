"""Live pages over WebSocket: new comments on an open article, the moderation count in the admin.

``/live/article/<id>`` and ``/live/admin`` only ever *send*: what a client writes is ignored
(and ``websocket_max_message_size`` bounds it). The events travel between instances on the
live bus (extends/live.py); each instance renders a new comment once per language with the
page's own template (``modules/comment.html``) and sends the HTML fragment, escaped exactly as
on the page. Pages work without it: the script only adds what a reload would show.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import tornado.iostream
import tornado.locale
import tornado.web
import tornado.websocket

from controller.base import FINGERPRINT_KEY, LANGUAGE_COOKIE
from controller.origin import origin_allowed
from extends.live import Encoded, Subscriber
from extends.session import COOKIE_NAME
from service import account, roles, timezones
from service import live as live_service

if TYPE_CHECKING:
    from main import Application

log = logging.getLogger("blog.live")

ADMIN_TOPIC = "admin"
# A client has nothing to say; anything bigger than this closes its connection.
MAX_CLIENT_MESSAGE = 1024
# A fan-out to thousands of pages lets other requests run after every this many connections.
FANOUT_CHUNK = 500


class LiveSocket(tornado.websocket.WebSocketHandler):
    """One open page. Subclasses name the topic in ``prepare``."""

    application: Application
    topic = ""

    def check_origin(self, origin: str) -> bool:
        app = self.application
        return origin_allowed(origin, self.request.host, app.allowed_hosts, app.config.base_url)

    async def prepare(self) -> None:
        if self.application.shutting_down:
            raise tornado.web.HTTPError(503)
        self.site = await self.application.site_settings()

    def get_user_locale(self) -> tornado.locale.Locale | None:
        # As BaseHandler chooses it, so the fragment reads like the page around it.
        chosen = self.get_cookie(LANGUAGE_COOKIE)
        if chosen in self.application.languages:
            return tornado.locale.get(chosen)
        if self.site.language in self.application.languages:
            return tornado.locale.get(self.site.language)
        return None

    def open(self, *args: str) -> None:
        self.application.live.subscribe(self.topic, self)

    def on_message(self, message: str | bytes) -> None:
        """Ignored: the page only listens."""

    def on_close(self) -> None:
        self.application.live.unsubscribe(self.topic, self)

    def send(self, message: dict[str, Any] | str | Encoded) -> None:
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            return
        if isinstance(message, Encoded):
            stream = getattr(connection, "stream", None)
            # No compression on these sockets (get_compression_options is not overridden):
            # the frame built once is what write_message would build, so it goes to the
            # connection's stream as it is. Closing the stream fails (and marks as seen)
            # the writes still pending; nothing to do about them.
            if isinstance(stream, tornado.iostream.IOStream):
                with contextlib.suppress(tornado.iostream.StreamClosedError):
                    stream.write(message.frame)
                return
            text: str | bytes = message.payload
        else:
            text = message if isinstance(message, str) else json.dumps(message)
        try:
            sent = self.write_message(text)
        except tornado.websocket.WebSocketClosedError:
            return
        # A connection that closes while the message is on its way: nothing to do.
        sent.add_done_callback(lambda future: future.exception())

    def close_for_shutdown(self) -> None:
        # 1001 "going away": the script reconnects (to another instance, through nginx).
        self.close(1001, "server restarting")


class ArticleSocket(LiveSocket):
    """/live/article/<id>: newly visible comments of one article."""

    async def prepare(self) -> None:
        await super().prepare()
        self.topic = "article:" + str(int(self.path_args[0]))


class AdminSocket(LiveSocket):
    """/live/admin: the count of comments waiting for moderation, for signed-in authors."""

    async def prepare(self) -> None:
        await super().prepare()
        if not await self._signed_in():
            raise tornado.web.HTTPError(403)
        self.topic = ADMIN_TOPIC

    async def _signed_in(self) -> bool:
        app = self.application
        sid = self.get_signed_cookie(
            COOKIE_NAME, max_age_days=app.config.session_ttl_seconds / 86400
        )
        if not sid:
            return False
        session = await app.sessions.load(sid.decode())
        user = session.get("user")
        if not user:
            return False
        # A session opened before a password change is signed out, here as on every page.
        current = await app.run_service(account.session_fingerprint, int(user["id"]))
        if current is None or current != session.get(FINGERPRINT_KEY):
            return False
        # The count is for those who moderate (service.roles).
        acting = await app.run_service(roles.actor, int(user["id"]))
        return acting.can(roles.MODERATE_COMMENTS)

    def open(self, *args: str) -> None:
        super().open(*args)
        self.application.spawn(self._send_count())

    async def _send_count(self) -> None:
        count = await self.application.run_service(live_service.pending_comment_count)
        self.send({"type": "pending", "count": count})


# --- what each instance does with an event -------------------------------------------------


def local_time(value: datetime.datetime, precision: str = "minute", *, zone_name: str) -> str:
    return timezones.format_local(value, zone_name, precision)


async def deliver_comments(
    app: Application, topic: str, data: dict[str, Any], subscribers: list[Subscriber]
) -> None:
    """Render the newly visible comments once per language and send them to every page."""
    article_id = int(topic.split(":", 1)[1])
    comment_ids = [int(value) for value in data.get("comment_ids", [])]
    views = await app.run_service(
        live_service.live_comments, article_id, comment_ids, bool(data.get("newest"))
    )
    if not views:
        return
    site = await app.site_settings()
    by_language: dict[str, list[LiveSocket]] = defaultdict(list)
    for subscriber in subscribers:
        if isinstance(subscriber, LiveSocket):
            by_language[subscriber.locale.code].append(subscriber)
    started = time.perf_counter()
    for sockets in by_language.values():
        # Encoded once, as a WebSocket frame too, for every page in this language: thousands
        # of pages may be open.
        messages = [
            json.dumps(
                {
                    "type": "comment",
                    "id": view.id,
                    "floor": view.floor,
                    "html": sockets[0]
                    .render_string(
                        "modules/comment.html",
                        comment=view,
                        comments_open=site.comment_mode != "closed",
                        # As on the page: times in the site's zone (BaseHandler.local_time).
                        local_time=partial(local_time, zone_name=site.time_zone),
                        utc_iso=timezones.utc_iso,
                    )
                    .decode(),
                }
            )
            for view in views
        ]
        await fan_out(sockets, [Encoded.text(message) for message in messages])
    log.debug(
        "live: %d comment(s) sent to %d page(s) in %.0f ms",
        len(views),
        len(subscribers),
        (time.perf_counter() - started) * 1000,
    )


async def fan_out(subscribers: Sequence[Subscriber], messages: Sequence[Encoded]) -> None:
    """Send the same encoded messages to every subscriber, letting other requests run
    between chunks of ``FANOUT_CHUNK`` connections."""
    for index, subscriber in enumerate(subscribers, 1):
        for message in messages:
            subscriber.send(message)
        if index % FANOUT_CHUNK == 0:
            await asyncio.sleep(0)


async def deliver_pending_count(
    app: Application, topic: str, data: dict[str, Any], subscribers: list[Subscriber]
) -> None:
    count = await app.run_service(live_service.pending_comment_count)
    await fan_out(subscribers, [Encoded.text(json.dumps({"type": "pending", "count": count}))])


def register_topics(app: Application) -> None:
    """What this instance does with each kind of live event."""
    app.live.on("article", lambda topic, data, subs: deliver_comments(app, topic, data, subs))
    app.live.on(
        ADMIN_TOPIC, lambda topic, data, subs: deliver_pending_count(app, topic, data, subs)
    )


# --- telling every instance ----------------------------------------------------------------


async def comments_changed(
    app: Application, article_ids: list[int], comment_ids: list[int], newest: bool = False
) -> None:
    """Comments were posted, approved or answered: open pages show the visible ones, and
    the moderation count follows."""
    for article_id in article_ids:
        await app.live_bus.publish(
            f"article:{article_id}", {"comment_ids": comment_ids, "newest": newest}
        )
    await app.live_bus.publish(ADMIN_TOPIC, {})


routes = [
    (r"/live/article/([0-9]{1,18})", ArticleSocket),
    (r"/live/admin", AdminSocket),
]
