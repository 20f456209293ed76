"""Real redis-server, MariaDB and nginx processes on free loopback ports in temporary dirs.

A missing binary is an error, never a skip: the run must fail loudly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pymysql

from deploy.servers import mariadb_command, mariadb_install_command, redis_command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binary(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(
        f"{name} is not installed: run `make test` as root, or "
        "`sudo apt-get install -y redis-server mariadb-server nginx chromium`"
    )


def wait_for_port(
    port: int, timeout: float = 20.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class RedisServer:
    """A redis-server that can be stopped and started again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.binary = require_binary("redis-server")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            redis_command(self.binary, self.port, self.directory, snapshot=False),
            stdout=open(self.directory / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def flushall(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
            sock.recv(64)


class MariaDBServer:
    """mariadbd over a datadir made by mariadb-install-db, root without password on TCP."""

    def __init__(self, directory: Path) -> None:
        self.install = require_binary("mariadb-install-db")
        self.binary = require_binary("mariadbd")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._databases = 0

    def start(self) -> None:
        data = self.directory / "data"
        log = open(self.directory / "mariadb.log", "ab")
        subprocess.run(
            mariadb_install_command(self.install, data),
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.process = subprocess.Popen(
            mariadb_command(
                self.binary,
                data,
                self.port,
                self.directory,
                extra=("--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0"),
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=60, process=self.process)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.execute("SELECT 1")
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def execute(self, sql: str) -> None:
        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="")
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
            connection.commit()
        finally:
            connection.close()

    def new_database_url(self) -> str:
        """A fresh, empty utf8mb4 database."""
        self._databases += 1
        name = f"inkwell_{os.getpid()}_{self._databases}"
        self.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{name}?charset=utf8mb4"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.process = None
