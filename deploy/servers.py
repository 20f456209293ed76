"""Command lines for the local Redis and MariaDB that the launcher and the test suite start.

One place for the flags, so a server the tests run is configured like the one a
deployer gets from ``make cluster``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _as_root() -> list[str]:
    # mariadbd refuses to run as root unless told to; as another user the flag must be absent.
    return ["--user=root"] if os.geteuid() == 0 else []


def redis_command(binary: str, port: int, directory: Path, snapshot: bool) -> list[str]:
    """redis-server on 127.0.0.1:port, its files in ``directory``; no snapshots for tests."""
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(directory),
        "--save", "300 1" if snapshot else "",
        "--appendonly", "no",
    ]  # fmt: skip


def mariadb_install_command(binary: str, data: Path) -> list[str]:
    """mariadb-install-db into ``data``, root without a password (loopback only)."""
    return [
        binary,
        "--no-defaults",
        f"--datadir={data}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        *_as_root(),
    ]


def mariadb_command(
    binary: str, data: Path, port: int, directory: Path, extra: tuple[str, ...] = ()
) -> list[str]:
    """mariadbd on 127.0.0.1:port with utf8mb4 defaults, socket and pid file in ``directory``."""
    return [
        binary,
        "--no-defaults",
        f"--datadir={data}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={directory / 'mariadb.sock'}",
        f"--pid-file={directory / 'mariadb.pid'}",
        *_as_root(),
        "--skip-log-bin",
        "--skip-name-resolve",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
        "--max-connections=500",
        *extra,
    ]
