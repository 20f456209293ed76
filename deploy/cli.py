"""Run N Inkwell instances behind nginx on this host: ``python -m deploy.cluster up N``.

Commands: ``up N`` (start, or complete, the cluster), ``status``, ``reload`` (rolling
restart, one instance at a time, zero failed requests through nginx), ``down`` (stop
everything this launcher started and nothing else), ``site`` (print the nginx site file
for a real host).

Redis and MariaDB: with ``BLOG_REDIS_URL`` / ``BLOG_DATABASE_URL`` unset, or pointing at
a server on this host that is not running, the launcher starts its own under the state
directory (``var/cluster/``). Everything it started is written to ``state.json`` there
(pids, ports), and only those processes are ever signalled.

The launcher's own knobs come from the environment (see ``LauncherSettings`` in
config.py); the instances read theirs through ``config.py`` as always.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from config import Settings, load_launcher_settings
from deploy.cluster import Cluster
from deploy.errors import ClusterError
from deploy.ha import ha_status
from deploy.nginx_config import render_site
from deploy.processes import process_alive


def print_status(cluster: Cluster) -> int:
    """Print nginx, the servers and every instance; 0 when all of them are up and healthy."""
    state = cluster.load()
    if state is None:
        print("no cluster is running")
        return 1
    nginx_alive = bool(state.nginx and process_alive(state.nginx.pid, state.nginx.marker))
    print(
        f"nginx  http://127.0.0.1:{state.http_port}/  "
        f"pid {state.nginx.pid if state.nginx else '-'}  {'up' if nginx_alive else 'DOWN'}"
    )
    for name, service in (("redis", state.redis), ("mariadb", state.mariadb)):
        if service:
            alive = process_alive(service.pid, service.marker)
            print(f"{name:<8}port {service.port}  pid {service.pid}  {'up' if alive else 'DOWN'}")
    servers = ha_status(state) if state.ha else []
    if servers:
        print(f"{'server':<16} {'role':<9} {'port':<6} {'pid':<8} {'lag':<5} health")
        for server in servers:
            print(
                f"{server.name:<16} {server.role:<9} {server.port:<6} {server.pid:<8} "
                f"{server.lag:<5} {server.health}"
            )
    print(f"{'address':<16} {'pid':<8} {'health':<9} {'leader':<7} {'replicas':<12} instance")
    statuses = cluster.status()
    for item in statuses:
        shown = "down" if not item.alive else (item.health or {}).get("status", "no answer")
        instance = (item.health or {}).get("instance", "-")
        leader = "yes" if item.leader else "-"
        replicas = ",".join(
            f"{'in' if replica['in_use'] else 'OUT'}:{replica['lag_seconds']}"
            for replica in (item.health or {}).get("replicas", [])
        )
        address = f"{state.host(item.port)}:{item.port}"
        print(
            f"{address:<16} {item.pid or '-':<8} {shown:<9} {leader:<7} "
            f"{replicas or '-':<12} {instance}"
        )
    servers_ok = all(server.alive for server in servers)
    return 0 if nginx_alive and servers_ok and all(item.healthy for item in statuses) else 1


@contextlib.contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn a ClusterError into its message on stderr and exit status 1."""
    try:
        yield
    except ClusterError as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def parse_ports(text: str) -> list[int]:
    """``8001-8004`` or ``8001,8002`` as a list of ports."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",") if part.strip()]


def build_parser(default_state_dir: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__)
    parser.add_argument(
        "--state-dir", type=Path, default=default_state_dir, help="default var/cluster"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start N instances behind nginx")
    up.add_argument("count", type=int, nargs="?", default=3)
    up.add_argument(
        "--ha",
        action="store_true",
        help="replicated MariaDB, Redis with Sentinel, SeaweedFS; instances on 127.0.0.2, ...",
    )
    sub.add_parser("status", help="instances, ports, pids, leader, health")
    sub.add_parser("reload", help="rolling restart, one instance at a time")
    sub.add_parser("down", help="stop everything this launcher started")
    site = sub.add_parser("site", help="print the nginx site file for a real host")
    site.add_argument("--ports", default="8001-8004", help="e.g. 8001-8004 or 8001,8002")
    site.add_argument("--upstream-host", default="127.0.0.1")
    site.add_argument("--listen", default="80")
    site.add_argument("--server-name", default="_")
    site.add_argument("--static-dir", type=Path, default=Path("/srv/inkwell/app/static"))
    site.add_argument("--media-dir", type=Path, default=Path("/srv/inkwell/media"))
    site.add_argument("--cache-dir", type=Path, default=Path("/var/cache/nginx/inkwell"))
    site.add_argument("--microcache", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    launcher = load_launcher_settings()
    args = build_parser(launcher.state_dir).parse_args(argv)
    cluster = Cluster(args.state_dir)

    with reporting_errors():
        if args.command == "up":
            if not 1 <= args.count <= 64:
                raise ClusterError("N must be between 1 and 64")
            ports = [launcher.base_port + offset for offset in range(args.count)]
            state = cluster.up(
                ports,
                launcher.http_port,
                launcher.redis_url,
                launcher.database_url,
                launcher.microcache,
                ha=args.ha,
            )
            print_status(cluster)
            print(f"\nInkwell is up: http://127.0.0.1:{state.http_port}/")
            if state.ha:
                log_dir = str(args.state_dir / "hosts" / "ADDRESS" / "logs")
            else:
                log_dir = cluster.instances.environment(state, 0)["BLOG_LOG_DIR"]
            print(f"Logs: {log_dir}/blog@PORT.log (one file per instance)")
            return 0
        if args.command == "status":
            return print_status(cluster)
        if args.command == "reload":
            cluster.reload()
            return print_status(cluster)
        if args.command == "down":
            cluster.down()
            return 0
        if args.command == "site":
            print(
                render_site(
                    parse_ports(args.ports),
                    listen=args.listen,
                    server_name=args.server_name,
                    static_dir=args.static_dir,
                    media_dir=args.media_dir,
                    cache_dir=args.cache_dir,
                    upload_max_bytes=Settings().upload_max_bytes,
                    microcache=args.microcache,
                    upstream_host=args.upstream_host,
                ),
                end="",
            )
            return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
