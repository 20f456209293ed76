"""What ``make bench`` runs: Inkwell's cluster over the bench site, and the reference points.

``BenchCluster``: a MariaDB and a Redis under ``var/bench/`` (the MariaDB data dir is kept,
so the bench site is loaded once), N instances and nginx started by the launcher in its
own state dir, so a developer's ``make cluster`` is left alone.

``ReferenceSite``: N bare Tornado processes (``bench.reference``) answering every request
with one page's bytes, behind an nginx rendered from Inkwell's own site template (the same
proxy settings), which also serves those bytes as a static file.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bench.site_data import BenchPaths, bench_paths, load_bench_site, remove_bench_writes
from config import ROOT, Settings
from deploy.cluster import Cluster
from deploy.nginx_config import NGINX_TEMPLATE, Nginx, mime_types_path, render, render_site
from deploy.processes import free_port, process_alive, spawn, stop_process, wait_for_port
from deploy.servers import (
    ensure_mysql_database,
    mariadb_marker,
    redis_marker,
    start_mariadb,
    start_redis,
)
from deploy.state import ClusterState

BENCH_DIR = ROOT / "var" / "bench"
BENCH_USER = "bench"


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


class BenchCluster:
    """Inkwell as ``make cluster`` runs it, over the bench site, in ``var/bench/``."""

    def __init__(self, count: int, log=print, instance_env: dict[str, str] | None = None) -> None:
        self.count = count
        self.log = log
        self.instance_env = dict(instance_env or {})
        self.dir = BENCH_DIR
        self.cluster = Cluster(self.dir / "cluster", log=lambda line: None)
        self.redis: subprocess.Popen[bytes] | None = None
        self.mariadb: subprocess.Popen[bytes] | None = None
        self.state: ClusterState | None = None
        self.password = ""

    def start(self) -> ClusterState:
        self.stop_leftovers()
        redis_port, mariadb_port = free_port(), free_port()
        self.log(f"bench: starting Redis :{redis_port} and MariaDB :{mariadb_port}")
        self.redis = start_redis(self.dir / "redis", redis_port, snapshot=False)
        self.mariadb = start_mariadb(self.dir / "mariadb", mariadb_port)
        self.servers_file.write_text(
            json.dumps(
                [
                    [self.redis.pid, redis_marker(redis_port)],
                    [self.mariadb.pid, mariadb_marker(mariadb_port)],
                ]
            )
        )
        database_url = (
            f"mysql+pymysql://root@127.0.0.1:{mariadb_port}/inkwell_bench?charset=utf8mb4"
        )
        ensure_mysql_database(database_url, as_root_on_local_server=True)
        ports: list[int] = []
        while len(ports) < self.count:
            port = free_port()
            if port not in ports:
                ports.append(port)
        self.log(f"bench: starting {self.count} instances and nginx")
        self.state = self.cluster.up(
            ports,
            free_port(),
            f"redis://127.0.0.1:{redis_port}/0",
            database_url,
            instance_env=self.instance_env,
        )
        return self.state

    @property
    def servers_file(self) -> Path:
        return self.dir / "servers.json"

    def stop_leftovers(self) -> None:
        """What a run that was interrupted (or ``--keep``) left behind: only what it recorded."""
        self.cluster.down()
        if self.servers_file.exists():
            for pid, marker in json.loads(self.servers_file.read_text()):
                stop_process(pid, marker)
            self.servers_file.unlink()

    def load_site(self) -> BenchPaths:
        """The bench site (once: the data dir is kept) and a bench author to sign in as;
        the URLs to load."""
        from service.site import ensure_settings
        from service.users import create_admin

        assert self.state is not None
        engine = create_engine(self.state.database_url)
        try:
            with Session(engine) as session:
                created = load_bench_site(session, progress=self.log)
                if created:
                    self.log(f"bench: created {created} items")
                self._report_removed(remove_bench_writes(session))
                self.password = secrets.token_urlsafe(24)
                create_admin(session, BENCH_USER, self.password)
                paths = bench_paths(session, ensure_settings(session).posts_per_page)
                session.commit()
        finally:
            engine.dispose()
        # The instances cached what they served while the site was loading.
        self.restart_instances()
        return paths

    def remove_bench_writes(self, restart: bool = True) -> None:
        """Delete what the run posted (comments, published articles); ``restart``: then
        restart the instances, so that none serves a page that still shows it."""
        assert self.state is not None
        engine = create_engine(self.state.database_url)
        try:
            with Session(engine) as session:
                removed = remove_bench_writes(session)
        finally:
            engine.dispose()
        self._report_removed(removed)
        if restart and any(removed):
            self.restart_instances()

    def _report_removed(self, removed: tuple[int, int]) -> None:
        comments, articles = removed
        if comments or articles:
            self.log(f"bench: removed {comments} bench comments and {articles} bench articles")

    def restart_instances(self) -> None:
        assert self.state is not None
        for service in self.state.instances.values():
            stop_process(service.pid, service.marker)
        self.state = self.cluster.heal(self.cluster.load())

    def set_microcache(self, on: bool) -> None:
        """Restart nginx with the micro-cache on or off."""
        state = self.cluster.load()
        assert state is not None
        state.microcache = on
        if state.nginx is not None:
            stop_process(state.nginx.pid, state.nginx.marker, signal.SIGQUIT)
            state.nginx = None
        self.cluster.store.save(state)
        self.state = self.cluster.heal(state)

    @property
    def base(self) -> str:
        assert self.state is not None
        return f"http://127.0.0.1:{self.state.http_port}"

    def instance_bases(self) -> list[str]:
        """Each instance's own address (not through nginx)."""
        assert self.state is not None
        return [f"http://127.0.0.1:{service.port}" for service in self.state.instances.values()]

    def instance_pids(self) -> list[int]:
        assert self.state is not None
        return [service.pid for service in self.state.instances.values()]

    def startup_seconds(self) -> float:
        """How long a new instance of this cluster takes to answer /healthz with 200."""
        import urllib.request

        assert self.state is not None
        port = free_port()
        env = self.cluster.instances.environment(self.state, port)
        started = time.perf_counter()
        process = spawn(
            [sys.executable, str(ROOT / "main.py"), f"--port={port}"],
            self.dir / "startup.log",
            env,
        )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                        if r.status == 200:
                            return time.perf_counter() - started
                except OSError:
                    pass
                if process.poll() is not None or time.perf_counter() - started > 60:
                    return float("nan")
                time.sleep(0.01)
        finally:
            _stop(process)

    def stop(self) -> None:
        self.cluster.down()
        _stop(self.redis)
        _stop(self.mariadb)
        self.servers_file.unlink(missing_ok=True)


class ReferenceSite:
    """N bare Tornado processes serving ``body`` behind an nginx rendered from our template."""

    def __init__(self, count: int, body: bytes) -> None:
        self.count = count
        self.dir = BENCH_DIR / "reference"
        self.static = self.dir / "static"
        self.static.mkdir(parents=True, exist_ok=True)
        (self.static / "page.html").write_bytes(body)
        self.page_file = self.dir / "page.html"
        self.page_file.write_bytes(body)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.nginx: subprocess.Popen[bytes] | None = None
        self.http_port = 0

    def add_static(self, name: str, body: bytes) -> str:
        """Serve ``body`` as a static file too; returns its path on the reference site."""
        (self.static / name).write_bytes(body)
        return f"/static/{name}"

    def start(self) -> None:
        ports = [free_port() for _ in range(self.count)]
        for port in ports:
            process = spawn(
                [sys.executable, "-m", "bench.reference", str(port), str(self.page_file)],
                self.dir / f"reference@{port}.log",
            )
            self.processes.append(process)
            wait_for_port(port, process.pid)
        self.http_port = free_port()
        for sub in ("temp", "cache", "media"):
            (self.dir / sub).mkdir(exist_ok=True)
        site = self.dir / "site.conf"
        site.write_text(
            render_site(
                ports,
                listen=f"127.0.0.1:{self.http_port}",
                server_name="localhost 127.0.0.1",
                static_dir=self.static,
                media_dir=self.dir / "media",
                cache_dir=self.dir / "cache",
                upload_max_bytes=Settings().upload_max_bytes,
                microcache=False,
            )
        )
        conf = self.dir / "nginx.conf"
        conf.write_text(
            render(
                NGINX_TEMPLATE,
                {
                    "prefix": self.dir,
                    "user_directive": "user root;\n" if os.geteuid() == 0 else "",
                    "mime_types": mime_types_path(),
                    "site_conf": site,
                },
            )
        )
        self.nginx = spawn(Nginx(self.dir).command(conf), self.dir / "console.log")
        wait_for_port(self.http_port, self.nginx.pid)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        if self.nginx is not None and process_alive(self.nginx.pid):
            self.nginx.send_signal(signal.SIGQUIT)
            self.nginx.wait(timeout=20)
        for process in self.processes:
            _stop(process)
