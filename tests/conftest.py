"""Fixtures: real servers (session scope), fresh databases, a live app, clients, auth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from commands import upgrade_database
from config import ROOT
from extends.clock import SYSTEM_CLOCK, Clock
from extends.database import make_engine, make_sessionmaker
from service import users
from tests.support.live import BlogClient, LiveApp, make_settings
from tests.support.servers import MariaDBServer, RedisServer
from tests.support.smtp_server import SmtpCertificates, SmtpServer, make_smtp_certificates

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.process is None:
        redis_server.start()  # a test that stopped it must not break the next one
    redis_server.flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def smtp_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path_factory.mktemp("smtp"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(smtp_process: SmtpServer) -> SmtpServer:
    """The real SMTP server (aiosmtpd, its own process), running and with no message yet."""
    if smtp_process.pid is None:
        smtp_process.start()  # a test that stopped it must not break the next one
    smtp_process.clear()
    return smtp_process


@pytest.fixture(scope="session")
def smtp_certificates(tmp_path_factory: pytest.TempPathFactory) -> SmtpCertificates:
    """A CA made for this run and the server certificate it signed (127.0.0.1)."""
    return make_smtp_certificates(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture(params=["starttls", "implicit"])
def smtp_tls_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_certificates: SmtpCertificates,
) -> Iterator[SmtpServer]:
    """The SMTP server with TLS: STARTTLS (``smtp://``) and implicit TLS (``smtps://``)."""
    server = SmtpServer(tmp_path_factory.mktemp("smtp-" + request.param), request.param,
                        smtp_certificates)  # fmt: skip
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    server = MariaDBServer(tmp_path_factory.mktemp("mariadb"))
    server.start()
    yield server
    server.stop()


def _fresh_database(kind: str, request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'blog.sqlite3'}"
    server: MariaDBServer = request.getfixturevalue("mariadb_server")
    return server.new_database_url()


@pytest.fixture(params=["sqlite", "mariadb"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh, empty database: SQLite and MariaDB in turn."""
    return _fresh_database(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh, migrated database: SQLite and MariaDB in turn."""
    url = _fresh_database(request.param, request, tmp_path)
    upgrade_database(make_settings(tmp_path, url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    """A fresh, migrated SQLite database (for tests whose subject is not the database)."""
    url = f"sqlite:///{tmp_path / 'blog.sqlite3'}"
    upgrade_database(make_settings(tmp_path, url))
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Any]:
    """A SQLAlchemy Session on the test database, as the services receive it."""
    engine = make_engine(database_url, pool_size=2)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def start_app(tmp_path: Any) -> Iterator[Callable[..., LiveApp]]:
    """Start live apps on demand: ``start_app(database_url, redis_urls=[...], **settings)``.

    ``clock=FakeClock()`` gives the app a clock the test moves (``clock.advance(s)``).
    """
    started: list[LiveApp] = []

    def start(
        database_url: str,
        redis_urls: list[str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        **extra: Any,
    ) -> LiveApp:
        settings = make_settings(tmp_path, database_url, redis_urls, **extra)
        live = LiveApp(settings, clock=clock).start()
        started.append(live)
        return live

    yield start
    for live in reversed(started):
        live.stop()


@pytest.fixture
def live(start_app: Callable[..., LiveApp], database_url: str) -> LiveApp:
    """The app on SQLite and on MariaDB in turn, with the in-process session store."""
    return start_app(database_url)


@pytest.fixture
def client(live: LiveApp) -> BlogClient:
    return BlogClient(live.url)


@pytest.fixture
def admin(live: LiveApp) -> Any:
    """The administrator account (created as `createadmin` would)."""
    return live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")


class AuthActions:
    """Sign-in as a test scenario says it: ``auth.login()``."""

    def __init__(self, client: BlogClient) -> None:
        self.client = client

    def login(
        self, username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD, next: str = "/admin"
    ) -> Any:
        return self.client.post_form(
            "/auth/login", {"username": username, "password": password, "next": next}
        )

    def logout(self) -> Any:
        return self.client.post_form("/auth/logout")


@pytest.fixture
def auth(client: BlogClient, admin: Any) -> AuthActions:
    return AuthActions(client)


@pytest.fixture(scope="session")
def project_root() -> Any:
    return ROOT
