"""The SQLAlchemy engine and session factory, built once per process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

# MySQL closes idle connections after wait_timeout (8 h by default); recycle well before.
POOL_RECYCLE_SECONDS = 1800


def make_engine(
    database_url: str, pool_size: int = 8, connect_timeout: int | None = None
) -> Engine:
    """An engine whose pool matches the executor that uses it.

    ``connect_timeout`` (seconds, MySQL only): give up on an unreachable server that soon
    (the replicas use it, so a dead one is noticed quickly).
    """
    options: dict[str, Any] = {"pool_pre_ping": True, "future": True}
    if database_url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        options.update(pool_size=pool_size, max_overflow=2, pool_recycle=POOL_RECYCLE_SECONDS)
        if database_url.startswith("mysql"):
            options["connect_args"] = {"charset": "utf8mb4"}
            if connect_timeout is not None:
                options["connect_args"]["connect_timeout"] = connect_timeout
    engine = create_engine(database_url, **options)
    if database_url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit and close (templates read them)."""
    return sessionmaker(engine, expire_on_commit=False)
