"""HA mode of the launcher (``make cluster N=3 HA=1``): every shared service replicated.

Under the state dir it starts a MariaDB primary and one replica (GTID replication), a
Redis master, one replica and three sentinels, and SeaweedFS with its S3 gateway and a
bucket; each on free loopback ports, recorded in ``state.json`` with its role. The
instances then get the environment a multi-host deployment gives them
(``BLOG_DATABASE_REPLICA_URLS``, ``BLOG_REDIS_SENTINELS``, ``BLOG_MEDIA_STORAGE``, ...),
and each one its own loopback address, var/ and log dir (``deploy/instances.py``).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import ClusterError
from deploy.processes import free_port, process_alive, stop_process
from deploy.servers import (
    LOCAL_DATABASE,
    SeaweedPorts,
    connect_mysql,
    ensure_mysql_database,
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
from deploy.state import ClusterState, Service

REDIS_MASTER_NAME = "inkwell"
MEDIA_BUCKET = "inkwell-media"
SENTINELS = 3
# Instance i listens on 127.0.0.(FIRST_HOST + i): as if each ran on its own host.
FIRST_HOST = 2


def instance_hosts(count: int) -> list[str]:
    """The loopback addresses of ``count`` instances (127.0.0.2, 127.0.0.3, ...)."""
    if count > 250:
        raise ClusterError("HA mode gives each instance a 127.0.0.x address: at most 250")
    return [f"127.0.0.{FIRST_HOST + index}" for index in range(count)]


def start_ha_servers(
    state_dir: Path, log: Callable[[str], None]
) -> tuple[dict[str, Service], dict[str, str]]:
    """Start every replicated server; their services by name and the instances' environment."""
    services: dict[str, Service] = {}
    try:
        database_env = _start_mariadb_pair(state_dir / "mariadb", services, log)
        redis_env = _start_redis_group(state_dir / "redis", services, log)
        media_env = _start_seaweedfs(state_dir / "seaweedfs", services, log)
    except BaseException:
        stop_ha_servers(services)
        raise
    return services, {**database_env, **redis_env, **media_env}


def stop_ha_servers(services: dict[str, Service], log: Callable[[str], None] = print) -> None:
    """Stop the servers HA mode started (sentinels first, so no failover starts)."""
    for name in sorted(services, key=lambda item: (not item.startswith("sentinel"), item)):
        service = services[name]
        if stop_process(service.pid, service.marker):
            log(f"stopped {name}")


def _start_mariadb_pair(
    directory: Path, services: dict[str, Service], log: Callable[[str], None]
) -> dict[str, str]:
    primary, replica = free_port(), free_port()
    log(f"starting MariaDB primary on 127.0.0.1:{primary} and replica on 127.0.0.1:{replica}")
    process = start_mariadb(
        directory / "primary",
        primary,
        extra=("--log-bin=mariadb-bin", "--server-id=1", "--binlog-format=ROW"),
    )
    services["mariadb-primary"] = Service(
        process.pid, primary, mariadb_marker(primary), role="primary"
    )
    process = start_mariadb(
        directory / "replica",
        replica,
        extra=(
            "--server-id=2",
            "--read-only=1",
            "--relay-log=relay-bin",
            "--relay-log-recovery=1",
        ),
    )
    services["mariadb-replica"] = Service(
        process.pid, replica, mariadb_marker(replica), role="replica"
    )
    password = secrets.token_urlsafe(16)
    connection = connect_mysql("127.0.0.1", primary, "root", "")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY %s", (password,)
            )
            cursor.execute("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'")
        connection.commit()
    finally:
        connection.close()
    connection = connect_mysql("127.0.0.1", replica, "root", "")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='repl', "
                "MASTER_PASSWORD=%s, MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos",
                (primary, password),
            )
            cursor.execute("START SLAVE")
    finally:
        connection.close()
    url = f"mysql+pymysql://root@127.0.0.1:{primary}/{LOCAL_DATABASE}?charset=utf8mb4"
    ensure_mysql_database(url, as_root_on_local_server=True)
    replica_url = url.replace(f":{primary}/", f":{replica}/")
    return {"BLOG_DATABASE_URL": url, "BLOG_DATABASE_REPLICA_URLS": replica_url}


def _start_redis_group(
    directory: Path, services: dict[str, Service], log: Callable[[str], None]
) -> dict[str, str]:
    master, replica = free_port(), free_port()
    log(f"starting Redis master on 127.0.0.1:{master}, a replica and {SENTINELS} sentinels")
    process = start_redis(directory / "master", master, snapshot=True)
    services["redis-a"] = Service(process.pid, master, redis_marker(master), role="redis")
    process = start_redis_replica(directory / "replica", replica, master, snapshot=True)
    services["redis-b"] = Service(process.pid, replica, redis_marker(replica), role="redis")
    addresses = []
    for number in range(1, SENTINELS + 1):
        port = free_port()
        process = start_sentinel(directory / f"sentinel{number}", port, REDIS_MASTER_NAME, master)
        services[f"sentinel-{number}"] = Service(
            process.pid, port, sentinel_marker(port), role="sentinel"
        )
        addresses.append(f"127.0.0.1:{port}")
    return {"BLOG_REDIS_SENTINELS": ",".join(addresses), "BLOG_REDIS_MASTER": REDIS_MASTER_NAME}


def _start_seaweedfs(
    directory: Path, services: dict[str, Service], log: Callable[[str], None]
) -> dict[str, str]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    access_key, secret_key = secrets.token_hex(10), secrets.token_urlsafe(24)
    for attempt in range(3):
        ports = SeaweedPorts.free()
        log(f"starting SeaweedFS (S3 on 127.0.0.1:{ports.s3})")
        try:
            process = start_seaweedfs(directory, ports, access_key, secret_key)
            break
        except ClusterError:
            # A free port can be taken by someone else before weed binds it (it also binds
            # port + 10000 for gRPC): pick new ones.
            if attempt == 2:
                raise
    # What restart_stopped_servers needs to start it again exactly so.
    (directory / "ports.json").write_text(json.dumps(dataclasses.asdict(ports)))
    services["seaweedfs"] = Service(process.pid, ports.s3, seaweedfs_marker(ports.s3), role="s3")
    endpoint = f"http://127.0.0.1:{ports.s3}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    # The gateway listens before the filer behind it is ready.
    deadline = time.monotonic() + 60
    while True:
        try:
            client.create_bucket(Bucket=MEDIA_BUCKET)
            break
        except (BotoCoreError, ClientError) as exc:
            if time.monotonic() > deadline:
                raise ClusterError(f"SeaweedFS does not create the bucket: {exc}") from exc
            time.sleep(0.3)
    return {
        "BLOG_MEDIA_STORAGE": f"s3://{MEDIA_BUCKET}/media?endpoint={endpoint}&region=us-east-1",
        "BLOG_S3_ACCESS_KEY": access_key,
        "BLOG_S3_SECRET_KEY": secret_key,
    }


def restart_stopped_servers(
    state_dir: Path, state: ClusterState, log: Callable[[str], None]
) -> None:
    """Start SeaweedFS again (same ports, keys and data) when it stopped; the instances
    follow without a restart. (The database and Redis have replicas and Sentinel.)"""
    service = state.ha_services.get("seaweedfs")
    if service is None or process_alive(service.pid, service.marker):
        return
    directory = state_dir / "seaweedfs"
    ports = SeaweedPorts(**json.loads((directory / "ports.json").read_text()))
    log(f"starting SeaweedFS again (S3 on 127.0.0.1:{ports.s3})")
    process = start_seaweedfs(
        directory, ports, state.ha_env["BLOG_S3_ACCESS_KEY"], state.ha_env["BLOG_S3_SECRET_KEY"]
    )
    state.ha_services["seaweedfs"] = Service(
        process.pid, ports.s3, seaweedfs_marker(ports.s3), role="s3"
    )


# --- status ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerStatus:
    """One replicated server as ``status`` shows it."""

    name: str
    role: str
    port: int
    pid: int
    alive: bool
    health: str
    lag: str = "-"


def ha_status(state: ClusterState) -> list[ServerStatus]:
    """Every HA server with its current role, health and (replicas) lag."""
    master = _sentinel_master(state)
    result = []
    for name, service in sorted(state.ha_services.items()):
        alive = process_alive(service.pid, service.marker)
        role, health, lag = service.role, "up" if alive else "DOWN", "-"
        if alive and name.startswith("mariadb"):
            role, health, lag = _mariadb_role(service.port)
        elif alive and service.role == "redis":
            role = "master" if master == service.port else "replica"
            health = "ok" if _redis_ping(service.port) else "no answer"
        elif alive and service.role == "sentinel":
            health = f"master at :{master}" if master else "no master"
        result.append(ServerStatus(name, role, service.port, service.pid, alive, health, lag))
    return result


def _mariadb_role(port: int) -> tuple[str, str, str]:
    try:
        connection = connect_mysql("127.0.0.1", port, "root", "", timeout=2)
    except ClusterError:
        return "?", "no answer", "-"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            row = cursor.fetchone()
            if row is None:
                return "primary", "ok", "-"
            names = [column[0] for column in cursor.description or ()]
            status = dict(zip(names, row, strict=True))
    finally:
        connection.close()
    running = status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes"
    lag = status["Seconds_Behind_Master"]
    if not running:
        return "replica", "replication stopped", "-"
    return "replica", "ok", f"{lag}s" if lag is not None else "?"


def _redis_call(port: int, *args: str) -> bytes:
    message = f"*{len(args)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(arg.encode()), arg.encode()) for arg in args
    )
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(message)
        return sock.recv(4096)


def _redis_ping(port: int) -> bool:
    try:
        return _redis_call(port, "PING").startswith(b"+PONG")
    except OSError:
        return False


def _sentinel_master(state: ClusterState) -> int | None:
    for _name, service in sorted(state.ha_services.items()):
        if service.role != "sentinel":
            continue
        try:
            reply = _redis_call(
                service.port, "SENTINEL", "get-master-addr-by-name", REDIS_MASTER_NAME
            )
        except OSError:
            continue
        lines = reply.split(b"\r\n")
        if reply.startswith(b"*2") and len(lines) >= 5:
            return int(lines[4])
    return None
