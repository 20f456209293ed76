"""The local Redis and MariaDB that the launcher and the test suite start, and their databases.

One place for the flags, so a server the tests run is configured like the one a
deployer gets from ``make cluster``. With ``BLOG_REDIS_URL`` / ``BLOG_DATABASE_URL``
unset, or naming a server on this host that is not running, the launcher starts its
own under its state dir (``BackingServices``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from deploy.errors import ClusterError
from deploy.processes import (
    find_binary,
    free_port,
    port_open,
    process_alive,
    spawn,
    wait_for_port,
)
from deploy.state import Service

if TYPE_CHECKING:
    from pymysql.connections import Connection

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
LOCAL_REDIS_PORT = 6391
LOCAL_MARIADB_PORT = 3391
LOCAL_DATABASE = "inkwell"


# --- command lines ------------------------------------------------------------------------


def _as_root() -> list[str]:
    # mariadbd refuses to run as root unless told to; as another user the flag must be absent.
    return ["--user=root"] if os.geteuid() == 0 else []


def redis_command(binary: str, port: int, directory: Path, snapshot: bool) -> list[str]:
    """redis-server on 127.0.0.1:port, its files in ``directory``.

    ``snapshot`` (the launcher's Redis): durable across a restart — an append-only file
    fsynced every second (sessions, counters not yet flushed, QR tickets survive a crash,
    losing at most about one second) plus a periodic snapshot. Without it (the test
    suite's throwaway servers): nothing is written to disk.
    """
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(directory),
        "--save", "300 1" if snapshot else "",
        "--appendonly", "yes" if snapshot else "no",
        "--appendfsync", "everysec",
    ]  # fmt: skip


def redis_marker(port: int) -> str:
    """What a running redis-server on ``port`` shows in its process title."""
    return f"redis-server 127.0.0.1:{port}"


def redis_replica_command(
    binary: str, port: int, directory: Path, master_port: int, snapshot: bool
) -> list[str]:
    """A redis-server replicating the one on 127.0.0.1:master_port."""
    return [
        *redis_command(binary, port, directory, snapshot),
        "--replicaof", "127.0.0.1", str(master_port),
    ]  # fmt: skip


def sentinel_config(port: int, master: str, master_port: int, quorum: int = 2) -> str:
    """A sentinel watching ``master`` on 127.0.0.1:master_port (it rewrites this file)."""
    return "\n".join(
        [
            f"port {port}",
            "bind 127.0.0.1",
            f"sentinel monitor {master} 127.0.0.1 {master_port} {quorum}",
            f"sentinel down-after-milliseconds {master} 1000",
            f"sentinel failover-timeout {master} 5000",
            f"sentinel parallel-syncs {master} 1",
            "",
        ]
    )


def sentinel_command(binary: str, config: Path, directory: Path) -> list[str]:
    """``redis-server CONFIG --sentinel`` (what Debian's redis-sentinel runs)."""
    return [binary, str(config), "--sentinel", "--dir", str(directory)]


def sentinel_marker(port: int) -> str:
    """What a running sentinel on ``port`` shows in its process title."""
    return f"127.0.0.1:{port} [sentinel]"


def seaweedfs_command(
    binary: str, directory: Path, ports: SeaweedPorts, s3_config: Path
) -> list[str]:
    """``weed server -s3``: master, volume, filer and the S3 gateway in one process, on
    127.0.0.1 only, every port (and gRPC port) chosen by the caller."""
    return [
        binary, "server",
        f"-dir={directory / 'data'}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports.master}", f"-master.port.grpc={ports.master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={ports.volume}", f"-volume.port.grpc={ports.volume_grpc}",
        "-volume.max=20",
        f"-filer.port={ports.filer}", f"-filer.port.grpc={ports.filer_grpc}",
        "-s3", f"-s3.port={ports.s3}", f"-s3.port.grpc={ports.s3_grpc}",
        f"-s3.config={s3_config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-metricsPort=0", "-volume.preStopSeconds=0",
    ]  # fmt: skip


@dataclass(frozen=True)
class SeaweedPorts:
    """The ports one ``weed server -s3`` listens on (S3 is the one clients use)."""

    s3: int
    s3_grpc: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int

    @classmethod
    def free(cls, s3: int | None = None) -> SeaweedPorts:
        first = s3 or free_port()
        return cls(first, *(free_port() for _ in range(7)))


def seaweedfs_marker(s3_port: int) -> str:
    """What a running ``weed server`` with its S3 gateway on ``s3_port`` has in its command."""
    return f"-s3.port={s3_port}"


def s3_identity_config(access_key: str, secret_key: str) -> str:
    """SeaweedFS's S3 identities: one account allowed everything."""
    return json.dumps(
        {
            "identities": [
                {
                    "name": "inkwell",
                    "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
    )


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
    """mariadbd on 127.0.0.1:port with utf8mb4 defaults, socket, pid file and temporary
    files (``directory/tmp``, see ``mariadb_tmpdir``) in ``directory``."""
    return [
        binary,
        "--no-defaults",
        f"--datadir={data}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={directory / 'mariadb.sock'}",
        f"--pid-file={directory / 'mariadb.pid'}",
        f"--tmpdir={mariadb_tmpdir(directory)}",
        *_as_root(),
        "--skip-log-bin",
        "--skip-name-resolve",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
        "--max-connections=500",
        *extra,
    ]


def mariadb_tmpdir(directory: Path) -> Path:
    """Where the server in ``directory`` keeps its temporary tables and sort files: its own,
    next to its data dir, never the system /tmp (a /tmp cleanup once removed them under a
    running server and /admin answered 500)."""
    return directory / "tmp"


def mariadb_marker(port: int) -> str:
    """What a running mariadbd on ``port`` has in its command line."""
    return f"--port={port}"


# --- starting them ------------------------------------------------------------------------


def start_redis(directory: Path, port: int, snapshot: bool) -> subprocess.Popen[bytes]:
    """redis-server with its files and ``redis.log`` in ``directory``, once it listens."""
    directory.mkdir(parents=True, exist_ok=True)
    command = redis_command(find_binary("redis-server"), port, directory, snapshot)
    process = spawn(command, directory / "redis.log")
    wait_for_port(port, process.pid)
    return process


def start_redis_replica(
    directory: Path, port: int, master_port: int, snapshot: bool
) -> subprocess.Popen[bytes]:
    """redis-server replicating 127.0.0.1:master_port, once it listens."""
    directory.mkdir(parents=True, exist_ok=True)
    command = redis_replica_command(
        find_binary("redis-server"), port, directory, master_port, snapshot
    )
    process = spawn(command, directory / "redis.log")
    wait_for_port(port, process.pid)
    return process


def start_sentinel(
    directory: Path, port: int, master: str, master_port: int
) -> subprocess.Popen[bytes]:
    """A Redis sentinel watching ``master``, its config and log in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "sentinel.conf"
    if not config.exists():
        config.write_text(sentinel_config(port, master, master_port))
    command = sentinel_command(find_binary("redis-server"), config, directory)
    process = spawn(command, directory / "sentinel.log")
    wait_for_port(port, process.pid)
    return process


def start_seaweedfs(
    directory: Path, ports: SeaweedPorts, access_key: str, secret_key: str
) -> subprocess.Popen[bytes]:
    """SeaweedFS with its S3 gateway on 127.0.0.1:ports.s3, once that answers."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    config = directory / "s3.json"
    config.write_text(s3_identity_config(access_key, secret_key))
    command = seaweedfs_command(find_binary("weed"), directory, ports, config)
    process = spawn(command, directory / "weed.log")
    wait_for_port(ports.s3, process.pid, timeout=60)
    return process


def start_mariadb(
    directory: Path, port: int, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """mariadbd over ``directory/data`` (installed on first use), once it listens."""
    data = directory / "data"
    if not (data / "mysql").exists():
        data.mkdir(parents=True, exist_ok=True)
        with open(directory / "mariadb.log", "ab") as log:
            subprocess.run(  # noqa: S603 (a fixed command, no shell)
                mariadb_install_command(find_binary("mariadb-install-db"), data),
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    mariadb_tmpdir(directory).mkdir(parents=True, exist_ok=True)
    command = mariadb_command(find_binary("mariadbd"), data, port, directory, extra)
    process = spawn(command, directory / "mariadb.log")
    wait_for_port(port, process.pid, timeout=120)
    return process


def connect_mysql(
    host: str, port: int, user: str, password: str, timeout: float = 60.0
) -> Connection:
    """A connection, retried while a server that just started is not ready yet."""
    import pymysql

    deadline = time.monotonic() + timeout
    while True:
        try:
            return pymysql.connect(host=host, port=port, user=user, password=password)
        except pymysql.err.OperationalError as exc:
            if time.monotonic() > deadline:
                raise ClusterError(f"cannot reach the database server: {exc}") from exc
            time.sleep(0.2)


def ensure_mysql_database(url: str, as_root_on_local_server: bool) -> None:
    """Create the database (and its user, on a server we run) when missing."""
    import pymysql

    parts = urlsplit(url)
    database = parts.path.lstrip("/") or LOCAL_DATABASE
    if not re.fullmatch(r"[A-Za-z0-9_]+", database):
        raise ClusterError(f"unexpected database name {database!r}")
    user = parts.username or "root"
    password = parts.password or ""
    login_user, login_password = ("root", "") if as_root_on_local_server else (user, password)
    connection = connect_mysql(
        parts.hostname or "127.0.0.1", parts.port or 3306, login_user, login_password
    )
    try:
        with connection.cursor() as cursor:
            try:
                cursor.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{database}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            except pymysql.err.MySQLError:
                if as_root_on_local_server:
                    raise
                # A managed server: the database exists and the user may not create one.
            if as_root_on_local_server and user != "root":
                for host in ("127.0.0.1", "localhost"):
                    cursor.execute(
                        "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password)
                    )
                    cursor.execute(f"GRANT ALL ON `{database}`.* TO %s@%s", (user, host))
        connection.commit()
    finally:
        connection.close()


# --- the cluster's servers ----------------------------------------------------------------


def _is_local(host: str | None) -> bool:
    return (host or "") in LOCAL_HOSTS


class BackingServices:
    """The Redis and database a cluster uses: the configured ones, or local ones started here."""

    def __init__(self, state_dir: Path, log: Callable[[str], None]) -> None:
        self.state_dir = state_dir
        self.log = log

    def redis(self, url: str, previous: Service | None) -> tuple[str, Service | None]:
        """The Redis URL to use, starting a local redis-server when needed."""
        if previous and process_alive(previous.pid, previous.marker):
            return url or f"redis://127.0.0.1:{previous.port}/0", previous
        url = url or f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0"
        first = urlsplit(url.split(",")[0].strip())
        port = first.port or 6379
        if port_open(port, first.hostname or "127.0.0.1"):
            return url, None
        if not _is_local(first.hostname) or "," in url:
            raise ClusterError(f"Redis at {url} does not answer")
        self.log(f"starting redis-server on 127.0.0.1:{port} (data in {self.state_dir}/redis)")
        process = start_redis(self.state_dir / "redis", port, snapshot=True)
        return url, Service(process.pid, port, redis_marker(port))

    def database(self, url: str, previous: Service | None) -> tuple[str, Service | None]:
        """The database URL to use, starting a local MariaDB when needed; creates the database."""
        default = f"mysql+pymysql://root@127.0.0.1:{LOCAL_MARIADB_PORT}/{LOCAL_DATABASE}"
        url = url or default + "?charset=utf8mb4"
        if not url.startswith("mysql"):
            return url, None
        parts = urlsplit(url)
        port = parts.port or 3306
        service = previous if previous and process_alive(previous.pid, previous.marker) else None
        if service is None and not port_open(port, parts.hostname or "127.0.0.1"):
            if not _is_local(parts.hostname):
                raise ClusterError(f"the database server at {parts.hostname}:{port} is down")
            self.log(f"starting mariadbd on 127.0.0.1:{port} (data in {self.state_dir}/mariadb)")
            process = start_mariadb(self.state_dir / "mariadb", port)
            service = Service(process.pid, port, mariadb_marker(port))
        ensure_mysql_database(url, as_root_on_local_server=service is not None)
        return url, service
