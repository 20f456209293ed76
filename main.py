"""Inkwell's entry point and the one place that assembles the application.

Read top to bottom: the route table (every URL, in the order Tornado tries them), the
schedule of periodic jobs, the Application that creates every part of a running
instance, then the command line (`serve` by default; the other commands are in
`commands.py`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import tornado.httpserver
import tornado.httputil
import tornado.web
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

import commands
import jobs
from config import ROOT, Settings, build_parser, settings_from_args
from controller import (
    appearance,
    article,
    auth,
    live,
    notifications,
    ops,
    pages,
    password_reset,
    qr,
    reader,
    reader_modules,
    twofactor,
)
from controller.admin import (
    account,
    articles,
    audit,
    comments,
    dashboard,
    mail,
    media,
    menus,
    settings,
    taxonomy,
    transfer,
    widgets,
)
from controller.admin import pages as admin_pages
from controller.admin import redirects as admin_redirects
from controller.admin import twofactor as admin_twofactor
from controller.admin import users as admin_users
from controller.article import CommentGuard, CommentWriter
from controller.base import Route
from controller.origin import AllowedHosts, BadHostHandler, TrustedProxies, resolve_client
from controller.redirects import OldUrlHandler
from controller.static import StaticFiles
from extends.cache import (
    DATA,
    FRAGMENTS,
    MEBIBYTE,
    PAGES,
    USERS,
    InvalidationBus,
    LocalBus,
    RedisBus,
    SiteCache,
)
from extends.clock import SYSTEM_CLOCK, Clock
from extends.counters import Counters, MemoryCounters
from extends.counters_redis import RedisCounters
from extends.database import make_engine, make_sessionmaker
from extends.errors import DatabaseUnavailable
from extends.gc_tuning import YoungCollections, tune_garbage_collector
from extends.health import HealthMonitor
from extends.i18n import load_translations
from extends.jobs import Job, Lease, LocalLease, PeriodicJobs
from extends.lease import RedisLease
from extends.live import LiveHub, build_live_bus
from extends.mailer import MailDelivery, Mailer, build_transport, sender_address
from extends.mailqueue import RetryPolicy, build_mail_queue
from extends.qr import build_qr_tickets
from extends.ratelimit import build_rate_limit
from extends.redis import build_redis_clients
from extends.replicas import ReplicaSet
from extends.session import build_session_manager
from extends.storage import MediaStore, build_media_store
from extends.throttle import build_throttle
from log_config import setup_logging
from model.site import SiteSetting
from service import site as site_service

log = logging.getLogger("blog")
access_log = logging.getLogger("blog.access")

T = TypeVar("T")
P = ParamSpec("P")


def route_table() -> list[Route]:
    """Every URL, first match wins. /static/, /favicon.ico and /robots.txt come before
    these (Tornado puts its static rules first; `controller.static` serves robots.txt)."""
    return [
        # The reader: lists, one article and its comments, search, feeds.
        *appearance.routes,
        *reader.routes,
        *article.routes,
        *live.routes,
        # Signing in: a password, or a QR code confirmed by a signed-in phone.
        *auth.routes,
        *twofactor.routes,
        *qr.routes,
        *password_reset.routes,
        *notifications.routes,
        # The author's side.
        *dashboard.routes,
        *articles.routes,
        *comments.routes,
        *taxonomy.routes,
        *menus.routes,
        *admin_pages.routes,
        *widgets.routes,
        *media.routes,
        *settings.routes,
        *account.routes,
        *admin_twofactor.routes,
        *transfer.routes,
        *admin_redirects.routes,
        *audit.routes,
        *mail.routes,
        *admin_users.routes,
        # Operations.
        *ops.routes,
        # Pages at /<slug> (/about): last, so every route above wins over a page's slug.
        *pages.routes,
    ]


def schedule(app: Application) -> list[Job]:
    """The periodic jobs, run by the leader only: what, how often (seconds)."""
    return [
        Job("publish-scheduled", 15, lambda: jobs.publish_scheduled_articles(app)),
        Job("flush-counters", 60, lambda: jobs.flush_counters(app)),
        Job("search-index", 60, lambda: jobs.refresh_search_index(app)),
        Job("purge-expired", 300, lambda: jobs.purge_expired(app)),
        Job("media-variants", 300, lambda: jobs.measure_old_media(app)),
        Job("mail-digests", 60, lambda: jobs.send_mail_digests(app)),
    ]


class Application(tornado.web.Application):
    """One per process: every part of a running instance, created here and nowhere else."""

    def __init__(self, config: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.config = config
        self.clock = clock
        # The database: services run in this executor, each call with a fresh Session.
        self.executor = ThreadPoolExecutor(
            max_workers=config.executor_workers, thread_name_prefix="blog-db"
        )
        self.engine = make_engine(config.database_url, pool_size=config.executor_workers)
        self.db = make_sessionmaker(self.engine)
        # Redis: sessions spread over every node; the cluster-wide parts live on the first.
        # Without Redis, in-process stand-ins serve a single instance.
        self.redis_clients = build_redis_clients(
            config.redis_urls, config.redis_sentinels, config.redis_master, config.redis_password
        )
        coordinator = self.redis_clients[0] if self.redis_clients else None
        self.sessions = build_session_manager(
            self.redis_clients, config.session_ttl_seconds, config.secure_cookies, clock=clock
        )
        self.cache = SiteCache(
            {
                PAGES: config.page_cache_mb * MEBIBYTE,
                DATA: config.data_cache_mb * MEBIBYTE,
                USERS: config.user_cache_mb * MEBIBYTE,
                FRAGMENTS: config.fragment_cache_mb * MEBIBYTE,
            },
            clock=clock,
        )
        # Read replicas for stale-tolerant reads, fenced by the cache's invalidations.
        self.replicas = ReplicaSet(
            config.database_replica_urls,
            self.engine,
            lambda: self.cache.generation,
            pool_size=config.executor_workers,
        )
        self.bus: InvalidationBus = (
            RedisBus(coordinator, self.cache, config.instance_id)
            if coordinator
            else LocalBus(self.cache)
        )
        self.counters: Counters = RedisCounters(coordinator) if coordinator else MemoryCounters()
        self.lease: Lease = (
            RedisLease(coordinator, config.instance_id, config.lease_ttl_ms)
            if coordinator
            else LocalLease()
        )
        # Guards: sign-in attempts, comment spam, QR sign-in tickets (all shared over Redis).
        self.throttle = build_throttle(self.redis_clients, clock=clock)
        self.comment_guard = CommentGuard.build(
            self.redis_clients,
            clock,
            attempts_per_minute=config.comment_attempts_per_minute,
            min_seconds=config.comment_min_seconds,
        )
        # Comments to one article written several per transaction (see CommentWriter).
        self.comment_writer = CommentWriter(self)
        self.qr_limit = build_rate_limit(
            self.redis_clients, config.qr_tickets_per_minute, 60, "ratelimit:qr:", clock
        )
        # Live pages (WebSocket): this process's open connections, and the bus between instances.
        self.live = LiveHub()
        self.live_bus = build_live_bus(coordinator, self.live)
        live.register_topics(self)
        # Password reset links asked for, per address and per client (controller/password_reset).
        self.reset_limit = build_rate_limit(self.redis_clients, 3, 3600, "ratelimit:reset:", clock)
        # Notices about comments, per recipient (controller/notifications).
        self.notify_limit = build_rate_limit(
            self.redis_clients, 5, 3600, "ratelimit:notify:", clock
        )
        # Searches the results cache cannot answer, per client address (controller/reader).
        self.search_limit = build_rate_limit(
            self.redis_clients, config.search_limit_per_minute, 60, "ratelimit:search:", clock
        )
        # The editor's autosave: a debounced save every few seconds; 30 a minute per author.
        self.autosave_limit = build_rate_limit(
            self.redis_clients, 30, 60, "ratelimit:autosave:", clock
        )
        self.qr = build_qr_tickets(self.redis_clients, config.qr_ticket_seconds, clock=clock)
        # Outgoing mail: a durable queue (Redis, else the database) any instance delivers.
        mail_queue = build_mail_queue(coordinator, self.run_service, mail_policy(config), clock)
        self.mailer = Mailer(
            mail_queue,
            MailDelivery(
                mail_queue,
                build_transport(config.smtp_url, config.smtp_ca_file),
                clock,
                config.mail_poll_seconds,
            ),
            sender_address(config.mail_from, config.base_url),
        )
        # Periodic jobs, run while this instance holds the leader lease.
        self.jobs = PeriodicJobs(self.lease)
        for job in schedule(self):
            self.jobs.add(job.name, job.interval, job.run)
        # Uploaded media: the local directory, or an S3-compatible bucket shared by all hosts.
        self.media: MediaStore = build_media_store(
            config.media_storage, config.media_dir, config.s3_access_key, config.s3_secret_key
        )
        self.languages = load_translations(ROOT / "locale")
        # /healthz reads the last report of checks made every health_interval_seconds.
        self.health = HealthMonitor(
            self.database_reachable, self.redis_clients, config.health_interval_seconds, clock
        )
        # Who the client is and which Host it may name: decided in find_handler, once.
        self.trusted_proxies = TrustedProxies(config.trusted_proxies)
        self.allowed_hosts = AllowedHosts(config.allowed_hosts, config.base_url)
        self.shutting_down = False
        self.in_flight = 0
        self.started_at = time.time()
        self._background: set[asyncio.Future[Any]] = set()
        super().__init__(
            route_table(),
            template_path=str(ROOT / "template"),
            static_path=str(ROOT / "static"),
            static_handler_class=StaticFiles,
            cookie_secret=config.cookie_secret,
            xsrf_cookies=True,
            xsrf_cookie_kwargs={
                "httponly": True,
                "samesite": "Lax",
                "secure": config.secure_cookies,
            },
            login_url="/auth/login",
            debug=config.debug,
            autoreload=False,
            compress_response=True,
            default_handler_class=OldUrlHandler,
            ui_modules=reader_modules.ui_modules,
            log_function=self.log_request,
            websocket_max_message_size=live.MAX_CLIENT_MESSAGE,
            websocket_ping_interval=30,
        )

    def find_handler(
        self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any
    ) -> tornado.web._HandlerDelegate:
        """Before routing: the client's address and scheme, then the Host check (400)."""
        resolve_client(request, self.trusted_proxies)
        if not self.allowed_hosts.allows(request.host):
            return self.get_handler_delegate(request, BadHostHandler)
        return super().find_handler(request, **kwargs)

    # --- work off the IOLoop ----------------------------------------------------------

    async def run_service(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call ``fn(session, *args)`` in the executor on the primary; the session is closed."""
        return await self._run_in(self.db, fn, *args, **kwargs)

    async def run_stale_read(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like ``run_service`` for a read that may be slightly stale: on a replica in use.

        Without one, or when the replica fails under this read, the primary answers (and
        the replica stays out until its checker sees it healthy again).
        """
        replica = self.replicas.choose()
        if replica is not None:
            try:
                return await self._run_in(replica.sessions, fn, *args, **kwargs)
            except DatabaseUnavailable as exc:
                replica.take_out(str(exc))
                log.warning("replica %s failed a read; reading the primary", replica.name)
        return await self._run_in(self.db, fn, *args, **kwargs)

    async def _run_in(
        self,
        sessions: sessionmaker[Session],
        fn: Callable[Concatenate[Session, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        def call() -> T:
            with sessions() as session:
                return fn(session, *args, **kwargs)

        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, call)
        except (OperationalError, InterfaceError) as exc:
            # Lost or refused connection, server gone away, or a connection the driver has
            # already closed (pymysql's InterfaceError): a 503 nginx may retry elsewhere.
            raise DatabaseUnavailable(str(exc.orig)) from exc
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # Any other driver error SQLAlchemy recognised as a disconnect.
            raise DatabaseUnavailable(str(exc.orig)) from exc

    def database_reachable(self) -> bool:
        """One ``SELECT 1`` on the primary (the health monitor calls it from its thread)."""
        with self.db() as session:
            return ops.database_reachable(session)

    async def site_settings(self) -> SiteSetting:
        return await self.cache.get_or_load(
            "settings", lambda: self.run_service(site_service.get_settings), scopes=["settings"]
        )

    async def invalidate(self, *scopes: str) -> None:
        await self.bus.publish(scopes)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_task_failure)

    # --- lifecycle --------------------------------------------------------------------

    def start_background(self) -> None:
        """Start what runs beside the requests: the cache bus, the lease, periodic jobs."""
        self.health.start()
        self.bus.start()
        self.replicas.start()
        self.qr.start()
        self.lease.start()
        self.jobs.start()
        self.mailer.delivery.start()
        self.live_bus.start()

    async def shutdown(self, server: tornado.httpserver.HTTPServer | None) -> None:
        """Stop accepting, report unhealthy, let in-flight requests finish, close pools.

        nginx sees the closed port as a connection error and sends new requests to another
        instance; requests already here finish within ``shutdown_grace_seconds``.
        """
        if self.shutting_down:
            return
        self.shutting_down = True
        if server is not None:
            server.stop()
        # Open WebSockets close with "going away"; their pages reconnect to another instance.
        self.live.close_all()
        # Long polls must not hold a stopping instance for their ~55 s: release them now.
        await self.qr.stop()
        await self.jobs.stop()
        await self.mailer.delivery.stop()
        # Handing the lease back lets another instance lead now rather than after its TTL.
        await self.lease.stop()
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        while self.in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.in_flight:
            log.warning("shutting down with %d request(s) still running", self.in_flight)
        if self._background:
            await asyncio.wait(list(self._background), timeout=2)
        if server is not None:
            # Idle keep-alive connections would otherwise hold the process open.
            try:
                await asyncio.wait_for(server.close_all_connections(), timeout=2)
            except TimeoutError:
                log.warning("some connections did not close in time")
        self.close()

    def close(self) -> None:
        self.health.close()
        self.bus.stop()
        self.replicas.stop()
        self.live_bus.stop()
        for client in self.redis_clients:
            client.close()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        status = handler.get_status()
        level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
        request = handler.request
        access_log.log(
            level,
            "%s %s %s %d %.1fms ip=%s rid=%s",
            request.method,
            request.uri,
            request.version,
            status,
            1000.0 * request.request_time(),
            request.remote_ip,
            request.headers.get("X-Request-ID", "-"),
        )


def mail_policy(config: Settings) -> RetryPolicy:
    """How the mail queue retries, from the settings."""
    return RetryPolicy(
        max_attempts=config.mail_max_attempts,
        first_delay=config.mail_retry_seconds,
        visibility_timeout=config.mail_visibility_seconds,
    )


def _log_task_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())


# --- the command line -----------------------------------------------------------------


def serve(config: Settings) -> int:
    log_file = setup_logging(config.port, config.log_dir, config.log_level)

    async def run() -> None:
        app = Application(config)
        server = tornado.httpserver.HTTPServer(
            # No xheaders: Application.find_handler believes forwarded headers only from
            # trusted_proxies.
            app,
            xheaders=False,
            max_body_size=config.upload_max_bytes + 1024 * 1024,
        )
        server.listen(config.port, config.host)
        log.info(
            "Inkwell %s listening on http://%s:%d (log %s)",
            config.instance_id,
            config.host,
            config.port,
            log_file,
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        app.start_background()
        tune_garbage_collector()
        young_collections = YoungCollections()
        young_collections.start()
        await stopping.wait()
        young_collections.stop()
        log.info("signal received: shutting down (in flight: %d)", app.in_flight)
        await app.shutdown(server)

    asyncio.run(run())
    log.info("stopped")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    config = settings_from_args(args)
    command = args.command or "serve"
    if command == "serve":
        return serve(config)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if command == "upgradedb":
        return commands.upgradedb(config)
    if command == "createadmin":
        return commands.createadmin(config, args)
    if command == "demo":
        return commands.demo(config)
    if command == "import":
        return commands.import_file(config, args)
    if command == "export":
        return commands.export_file(config, args)
    if command == "users":
        return commands.users_command(config, args)
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    Path(ROOT / "var").mkdir(exist_ok=True)
    sys.exit(main())
