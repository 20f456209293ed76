"""Inkwell: entry point (`serve`, `upgradedb`, `createadmin`, `demo`) and the Application."""

from __future__ import annotations

import asyncio
import getpass
import importlib
import logging
import pkgutil
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import tornado.httpserver
import tornado.web

from config import ROOT, Settings, build_parser, settings_from_args
from controller.base import NotFoundHandler
from extends.cache import InvalidationBus, LocalBus, RedisBus, SiteCache
from extends.clock import SYSTEM_CLOCK, Clock
from extends.counters import Counters, MemoryCounters
from extends.counters_redis import RedisCounters
from extends.database import make_engine, make_sessionmaker
from extends.i18n import load_translations
from extends.jobs import Lease, LocalLease, PeriodicJobs
from extends.lease import RedisLease
from extends.redis import RedisClient
from extends.session import build_session_manager
from log_config import setup_logging
from service import site as site_service

log = logging.getLogger("blog")
access_log = logging.getLogger("blog.access")

T = TypeVar("T")


def _controller_modules() -> list[Any]:
    package = importlib.import_module("controller")
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(package.__path__, prefix="controller.")
        if not info.ispkg
    ]


def collect_routes() -> list[Any]:
    """Every controller module contributes its own ``routes`` (and ``ui_modules``)."""
    routes: list[Any] = []
    for module in _controller_modules():
        routes.extend(getattr(module, "routes", []))
    return routes


def collect_ui_modules() -> dict[str, Any]:
    modules: dict[str, Any] = {}
    for module in _controller_modules():
        modules.update(getattr(module, "ui_modules", {}))
    return modules


class Application(tornado.web.Application):
    """One per process: engine, executor, sessions, cache and settings live here."""

    def __init__(self, config: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.config = config
        self.clock = clock
        self.executor = ThreadPoolExecutor(
            max_workers=config.executor_workers, thread_name_prefix="blog-db"
        )
        self.engine = make_engine(config.database_url, pool_size=config.executor_workers)
        self.db = make_sessionmaker(self.engine)
        self.redis_clients = [RedisClient(url) for url in config.redis_urls]
        self.sessions = build_session_manager(
            self.redis_clients, config.session_ttl_seconds, config.secure_cookies
        )
        self.cache = SiteCache()
        self.bus: InvalidationBus
        self.counters: Counters
        self.lease: Lease
        if self.redis_clients:
            # Sessions spread over every node; the cluster-wide parts live on the first.
            coordinator = self.redis_clients[0]
            self.bus = RedisBus(coordinator, self.cache, config.instance_id)
            self.counters = RedisCounters(coordinator)
            self.lease = RedisLease(coordinator, config.instance_id, config.lease_ttl_ms)
        else:
            self.bus = LocalBus(self.cache)
            self.counters = MemoryCounters()
            self.lease = LocalLease()
        self.jobs = PeriodicJobs(self.lease)
        self.languages = load_translations(ROOT / "locale")
        self.shutting_down = False
        self.in_flight = 0
        self.started_at = time.time()
        self._background: set[asyncio.Future[Any]] = set()
        super().__init__(
            collect_routes(),
            template_path=str(ROOT / "template"),
            static_path=str(ROOT / "static"),
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
            default_handler_class=NotFoundHandler,
            ui_modules=collect_ui_modules(),
            log_function=self.log_request,
        )
        # Coroutines to run as shutdown begins (e.g. release long-polling waiters).
        self.shutdown_hooks: list[Callable[[], Coroutine[Any, Any, Any]]] = []
        # Each controller module may wire its own parts (jobs, throttles) with setup(app).
        for module in _controller_modules():
            setup = getattr(module, "setup", None)
            if setup is not None:
                setup(self)

    # --- work off the IOLoop ----------------------------------------------------------

    async def run_service(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn(session, *args)`` in the executor; the session is always closed."""

        def call() -> T:
            with self.db() as session:
                return fn(session, *args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def site_settings(self) -> Any:
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
        self.bus.start()
        self.lease.start()
        self.jobs.start()

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
        for hook in self.shutdown_hooks:
            await hook()
        await self.jobs.stop()
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
        self.bus.stop()
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


def _log_task_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())


# --- commands -------------------------------------------------------------------------


def upgrade_database(config: Settings) -> None:
    """Apply every alembic migration to the configured database."""
    from alembic import command
    from alembic.config import Config

    alembic_config = Config(str(ROOT / "alembic.ini"))
    alembic_config.set_main_option("script_location", str(ROOT / "migrations"))
    alembic_config.attributes["database_url"] = config.database_url
    command.upgrade(alembic_config, "head")


def _run_with_session(config: Settings, fn: Callable[..., T], *args: Any) -> T:
    engine = make_engine(config.database_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as session:
            return fn(session, *args)
    finally:
        engine.dispose()


def _read_new_password(given: str | None) -> str:
    if given:
        return given
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise SystemExit("The two passwords differ.")
    return first


def create_admin_command(config: Settings, args: Any) -> int:
    from service import users
    from service.errors import Invalid

    password = _read_new_password(args.password)
    try:
        user = _run_with_session(
            config, users.create_admin, args.username, password, args.display_name, args.email
        )
    except Invalid as exc:
        print(f"createadmin: {exc.message}", file=sys.stderr)
        return 2
    print(f"Administrator {user.username!r} is ready; sign in at /auth/login.")
    return 0


def demo_command(config: Settings) -> int:
    from service import demo

    upgrade_database(config)
    created = _run_with_session(config, demo.load_demo_site)
    print(f"Demo site ready ({created} new item(s)).")
    return 0


def serve(config: Settings) -> int:
    log_file = setup_logging(config.port, config.log_dir, config.log_level)

    async def run() -> None:
        app = Application(config)
        server = tornado.httpserver.HTTPServer(
            app, xheaders=config.xheaders, max_body_size=config.upload_max_bytes + 1024 * 1024
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
        await stopping.wait()
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
        upgrade_database(config)
        print("Database is up to date.")
        return 0
    if command == "createadmin":
        return create_admin_command(config, args)
    if command == "demo":
        return demo_command(config)
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    Path(ROOT / "var").mkdir(exist_ok=True)
    sys.exit(main())
