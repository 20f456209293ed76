"""Run N Inkwell instances behind nginx on this host: ``python -m deploy.cluster up N``.

Commands: ``up N`` (start, or complete, the cluster), ``status``, ``reload`` (rolling
restart, one instance at a time, zero failed requests through nginx), ``down`` (stop
everything this launcher started and nothing else), ``site`` (print the nginx site file
for a real host).

Redis and MariaDB: with ``BLOG_REDIS_URL`` / ``BLOG_DATABASE_URL`` unset, or pointing at
a server on this host that is not running, the launcher starts its own under the state
directory (``var/cluster/``). Everything it started is written to ``state.json`` there
(pids, ports), and only those processes are ever signalled.

The launcher's own knobs come from the environment (see ``LauncherEnvironment``); the
instances read theirs through ``config.py`` as always.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config import ROOT, Settings, load_settings
from deploy.servers import mariadb_command, mariadb_install_command, redis_command

DEPLOY_DIR = Path(__file__).resolve().parent
NGINX_TEMPLATE = DEPLOY_DIR / "nginx" / "nginx.conf.in"
SITE_TEMPLATE = DEPLOY_DIR / "nginx" / "site.conf.in"
SITE_EXAMPLE = DEPLOY_DIR / "nginx" / "inkwell.conf"

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
LOCAL_REDIS_PORT = 6391
LOCAL_MARIADB_PORT = 3391
LOCAL_DATABASE = "inkwell"
HEALTH_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
# nginx rests a failed instance this long (fail_timeout); a rolling restart waits it out.
FAIL_TIMEOUT_SECONDS = 2
MAX_FAILS = 2


class ClusterError(Exception):
    """Something the operator must fix; the message says what."""


# --- the launcher's environment -------------------------------------------------------


@dataclass
class LauncherEnvironment:
    """The variables the launcher reads (the instances read theirs in config.py)."""

    redis_url: str = ""
    database_url: str = ""
    base_port: int = 8001
    http_port: int = 8080
    microcache: bool = False
    state_dir: Path = ROOT / "var" / "cluster"

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> LauncherEnvironment:
        env = dict(os.environ if environ is None else environ)
        return cls(
            redis_url=env.get("BLOG_REDIS_URL", ""),
            database_url=env.get("BLOG_DATABASE_URL", ""),
            base_port=int(env.get("BLOG_BASE_PORT") or 8001),
            http_port=int(env.get("BLOG_HTTP_PORT") or 8080),
            microcache=env.get("BLOG_NGINX_MICROCACHE", "").lower() in {"1", "true", "yes", "on"},
            state_dir=Path(env.get("BLOG_CLUSTER_DIR") or ROOT / "var" / "cluster"),
        )


# --- processes --------------------------------------------------------------------------


def find_binary(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ClusterError(
        f"{name} is not installed: `make cluster` installs it as root, or run "
        "`sudo apt-get install -y redis-server mariadb-server nginx`"
    )


def process_alive(pid: int | None, marker: str = "") -> bool:
    """True when ``pid`` runs (not a zombie) and its command line contains ``marker``."""
    if not pid:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own dead child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False
    return marker in cmdline


def stop_process(pid: int | None, marker: str, sig: int = signal.SIGTERM) -> bool:
    """Signal a process we started and wait for it to end; SIGKILL after the timeout."""
    if not process_alive(pid, marker):
        return False
    assert pid is not None
    os.kill(pid, sig)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while process_alive(pid, marker):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.05)
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, process_pid: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        # No marker here: a starting server may be rewriting its process title.
        if not process_alive(process_pid):
            raise ClusterError(f"the process for port {port} exited before listening")
        if time.monotonic() > deadline:
            raise ClusterError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")
        time.sleep(0.05)


def spawn(command: list[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start a detached process (its own session: it outlives the launcher)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 (commands built here, no shell)
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid


def health(port: int, timeout: float = 3.0) -> dict[str, Any] | None:
    """The instance's /healthz answer (200 or 503), or None when it does not answer."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/healthz", timeout=timeout
        ) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


# --- local Redis and MariaDB ------------------------------------------------------------


def _is_local(host: str | None) -> bool:
    return (host or "") in LOCAL_HOSTS


def start_local_redis(state_dir: Path, port: int) -> int:
    directory = state_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    command = redis_command(find_binary("redis-server"), port, directory, snapshot=True)
    pid = spawn(command, directory / "redis.log")
    wait_for_port(port, pid)
    return pid


def start_local_mariadb(state_dir: Path, port: int) -> int:
    directory = state_dir / "mariadb"
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
    command = mariadb_command(find_binary("mariadbd"), data, port, directory)
    pid = spawn(command, directory / "mariadb.log")
    wait_for_port(port, pid, timeout=120)
    return pid


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
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = pymysql.connect(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 3306,
                user=login_user,
                password=login_password,
            )
            break
        except pymysql.err.OperationalError as exc:
            if time.monotonic() > deadline:
                raise ClusterError(f"cannot reach the database server: {exc}") from exc
            time.sleep(0.2)
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


# --- nginx --------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render(template: Path, values: dict[str, Any]) -> str:
    """Fill ``{{ name }}`` placeholders (nginx's own ``$variables`` stay untouched)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ClusterError(f"{template.name}: no value for {{{{{name}}}}}")
        return str(values[name])

    return _PLACEHOLDER.sub(value, template.read_text())


def client_max_body_size(upload_max_bytes: int) -> str:
    """The upload limit plus room for the rest of the form, as the instances accept it."""
    return f"{(upload_max_bytes + 1024 * 1024 + 1024 * 1024 - 1) // (1024 * 1024)}m"


def render_site(
    ports: list[int],
    *,
    listen: str,
    server_name: str,
    static_dir: Path,
    media_dir: Path,
    cache_dir: Path,
    upload_max_bytes: int,
    microcache: bool,
    upstream_host: str = "127.0.0.1",
) -> str:
    servers = "\n".join(
        f"    server {upstream_host}:{port} max_fails={MAX_FAILS} "
        f"fail_timeout={FAIL_TIMEOUT_SECONDS}s;"
        for port in ports
    )
    return render(
        SITE_TEMPLATE,
        {
            "instance_count": len(ports),
            "upstream_servers": servers,
            "listen": listen,
            "server_name": server_name,
            "static_dir": static_dir,
            "media_dir": media_dir,
            "cache_dir": cache_dir,
            "client_max_body_size": client_max_body_size(upload_max_bytes),
            "next_upstream_tries": len(ports),
            "microcache": "inkwell_micro" if microcache else "off",
        },
    )


def render_site_example() -> str:
    """The site file for a real host (deploy/nginx/inkwell.conf is this, committed)."""
    return render_site(
        [8001, 8002, 8003, 8004],
        listen="80",
        server_name="_",
        static_dir=Path("/srv/inkwell/app/static"),
        media_dir=Path("/srv/inkwell/media"),
        cache_dir=Path("/var/cache/nginx/inkwell"),
        upload_max_bytes=Settings().upload_max_bytes,
        microcache=False,
    )


def mime_types_path() -> str:
    for candidate in ("/etc/nginx/mime.types", "/usr/local/nginx/conf/mime.types"):
        if Path(candidate).exists():
            return candidate
    raise ClusterError("nginx's mime.types was not found (is nginx installed?)")


# --- the cluster ----------------------------------------------------------------------------


@dataclass
class Service:
    """A process the launcher started (Redis, MariaDB, nginx, an instance)."""

    pid: int
    port: int
    marker: str
    started_here: bool = True


@dataclass
class ClusterState:
    ports: list[int]
    http_port: int
    redis_url: str
    database_url: str
    microcache: bool = False
    instance_env: dict[str, str] = field(default_factory=dict)
    instances: dict[str, Service] = field(default_factory=dict)
    nginx: Service | None = None
    redis: Service | None = None
    mariadb: Service | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        data = json.loads(text)

        def service(value: dict[str, Any] | None) -> Service | None:
            return Service(**value) if value else None

        data["instances"] = {port: Service(**item) for port, item in data["instances"].items()}
        for name in ("nginx", "redis", "mariadb"):
            data[name] = service(data.get(name))
        return cls(**data)


@dataclass
class InstanceStatus:
    port: int
    pid: int | None
    alive: bool
    health: dict[str, Any] | None

    @property
    def healthy(self) -> bool:
        return bool(self.health and self.health.get("status") == "ok")

    @property
    def leader(self) -> bool:
        return bool(self.health and self.health.get("leader"))


class Cluster:
    """The instances, nginx and (when it started them) Redis and MariaDB of one state dir."""

    def __init__(self, state_dir: Path, log: Callable[[str], None] = print) -> None:
        self.state_dir = state_dir
        self.state_file = state_dir / "state.json"
        self.log = log

    # --- state -----------------------------------------------------------------------------

    def load(self) -> ClusterState | None:
        if not self.state_file.exists():
            return None
        return ClusterState.from_json(self.state_file.read_text())

    def save(self, state: ClusterState) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(state.to_json())
        temporary.replace(self.state_file)

    def cookie_secret(self) -> str:
        """Generated once into the state dir, shared by every instance, never in the repo."""
        path = self.state_dir / "cookie_secret"
        if not path.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    # --- servers ---------------------------------------------------------------------------

    def resolve_redis(self, url: str, previous: Service | None) -> tuple[str, Service | None]:
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
        return url, Service(
            start_local_redis(self.state_dir, port), port, f"redis-server 127.0.0.1:{port}"
        )

    def resolve_database(self, url: str, previous: Service | None) -> tuple[str, Service | None]:
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
            service = Service(start_local_mariadb(self.state_dir, port), port, f"--port={port}")
        ensure_mysql_database(url, as_root_on_local_server=service is not None)
        return url, service

    # --- instances -------------------------------------------------------------------------

    def instance_marker(self, port: int) -> str:
        return f"--port={port}"

    def instance_environment(self, state: ClusterState, port: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update(state.instance_env)
        env.update(
            BLOG_DATABASE_URL=state.database_url,
            BLOG_REDIS_URL=state.redis_url,
            BLOG_COOKIE_SECRET=self.cookie_secret(),
            BLOG_INSTANCE_ID=f"{socket.gethostname()}:{port}",
        )
        env.setdefault("BLOG_LOG_DIR", Settings().log_dir)
        env.pop("BLOG_PORT", None)
        return env

    def start_instance(self, state: ClusterState, port: int) -> Service:
        if port_open(port):
            raise ClusterError(f"port {port} is taken by another program")
        command = [sys.executable, str(ROOT / "main.py"), self.instance_marker(port)]
        pid = spawn(
            command,
            self.state_dir / "console" / f"blog@{port}.out",
            self.instance_environment(state, port),
        )
        service = Service(pid, port, self.instance_marker(port))
        state.instances[str(port)] = service
        self.save(state)
        return service

    def wait_healthy(self, service: Service, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not process_alive(service.pid):
                raise ClusterError(
                    f"instance on port {service.port} exited; see "
                    f"{self.state_dir / 'console' / f'blog@{service.port}.out'}"
                )
            answer = health(service.port)
            if answer and answer.get("status") == "ok":
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"instance on port {service.port} is not healthy: {answer}")
            time.sleep(0.1)

    def run_command(self, state: ClusterState, *args: str, stdin: str | None = None) -> str:
        """Run ``python main.py <args>`` with the cluster's settings (upgradedb, createadmin)."""
        env = self.instance_environment(state, 0)
        result = subprocess.run(  # noqa: S603 (our own main.py, no shell)
            [sys.executable, str(ROOT / "main.py"), *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"main.py {' '.join(args[:1])} failed:\n{result.stderr}")
        return result.stdout

    # --- nginx -----------------------------------------------------------------------------

    def render_nginx(self, state: ClusterState) -> Path:
        prefix = self.state_dir / "nginx"
        for sub in ("temp", "cache"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        settings = load_settings(environ=self.instance_environment(state, 0))
        media_dir = Path(settings.media_dir)
        media_dir.mkdir(parents=True, exist_ok=True)
        site = prefix / "inkwell.conf"
        site.write_text(
            render_site(
                state.ports,
                listen=f"127.0.0.1:{state.http_port}",
                server_name="localhost",
                static_dir=ROOT / "static",
                media_dir=media_dir,
                cache_dir=prefix / "cache",
                upload_max_bytes=settings.upload_max_bytes,
                microcache=state.microcache,
            )
        )
        conf = prefix / "nginx.conf"
        conf.write_text(
            render(
                NGINX_TEMPLATE,
                {
                    "prefix": prefix,
                    "user_directive": "user root;\n" if os.geteuid() == 0 else "",
                    "mime_types": mime_types_path(),
                    "site_conf": site,
                },
            )
        )
        return conf

    def nginx_command(self, conf: Path, *extra: str) -> list[str]:
        prefix = conf.parent
        return [
            find_binary("nginx"),
            "-p",
            f"{prefix}/",
            "-c",
            str(conf),
            "-e",
            str(prefix / "error.log"),
            *extra,
        ]

    def start_nginx(self, state: ClusterState) -> Service:
        conf = self.render_nginx(state)
        check = subprocess.run(  # noqa: S603 (a fixed command, no shell)
            self.nginx_command(conf, "-t", "-q"), capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise ClusterError(f"nginx rejects {conf}:\n{check.stderr}")
        if port_open(state.http_port):
            raise ClusterError(f"port {state.http_port} is taken by another program")
        marker = str(conf)
        pid = spawn(self.nginx_command(conf), self.state_dir / "nginx" / "console.log")
        wait_for_port(state.http_port, pid)
        return Service(pid, state.http_port, marker)

    # --- commands --------------------------------------------------------------------------

    def up(
        self,
        ports: list[int],
        http_port: int,
        redis_url: str = "",
        database_url: str = "",
        microcache: bool = False,
        instance_env: dict[str, str] | None = None,
    ) -> ClusterState:
        """Start what is missing: servers, migrations, instances, nginx; wait until healthy."""
        previous = self.load()
        if previous and previous.ports != ports and self._anything_alive(previous):
            raise ClusterError(
                f"a cluster on ports {previous.ports} is running; "
                "`python -m deploy.cluster down` first"
            )
        redis_url, redis = self.resolve_redis(redis_url, previous.redis if previous else None)
        database_url, mariadb = self.resolve_database(
            database_url, previous.mariadb if previous else None
        )
        state = ClusterState(
            ports=ports,
            http_port=http_port,
            redis_url=redis_url,
            database_url=database_url,
            microcache=microcache,
            instance_env=dict(instance_env or {}),
            redis=redis,
            mariadb=mariadb,
        )
        if previous:
            state.instances = previous.instances
            state.nginx = previous.nginx
        self.save(state)
        self.log("applying database migrations")
        self.run_command(state, "upgradedb")
        self.heal(state)
        return state

    def heal(self, state: ClusterState | None = None) -> ClusterState:
        """Start every instance (and nginx) that is not running; wait until all are healthy."""
        state = state or self.load()
        if state is None:
            raise ClusterError("no cluster is running here")
        started = []
        for port in state.ports:
            current = state.instances.get(str(port))
            if current and process_alive(current.pid, current.marker):
                continue
            self.log(f"starting instance on port {port}")
            started.append(self.start_instance(state, port))
        for service in started:
            self.wait_healthy(service)
        if not (state.nginx and process_alive(state.nginx.pid, state.nginx.marker)):
            self.log(f"starting nginx on 127.0.0.1:{state.http_port}")
            state.nginx = self.start_nginx(state)
            self.save(state)
        return state

    def status(self) -> list[InstanceStatus]:
        state = self.load()
        if state is None:
            return []
        result = []
        for port in state.ports:
            service = state.instances.get(str(port))
            alive = bool(service and process_alive(service.pid, service.marker))
            result.append(
                InstanceStatus(
                    port, service.pid if service else None, alive, health(port) if alive else None
                )
            )
        return result

    def reload(self) -> None:
        """Rolling restart: stop one instance, start it again, wait until healthy, then the next.

        nginx sends requests for a stopping instance to the others (its port is closed); the
        wait after each restart lets nginx's rest period for the instance run out, so two
        instances are never resting at once.
        """
        state = self.load()
        if state is None:
            raise ClusterError("no cluster is running here")
        for index, port in enumerate(state.ports):
            service = state.instances.get(str(port))
            if service is not None:
                self.log(f"restarting instance on port {port}")
                stop_process(service.pid, service.marker)
            self.wait_healthy(self.start_instance(state, port))
            if index < len(state.ports) - 1:
                time.sleep(FAIL_TIMEOUT_SECONDS + 0.5)

    def down(self) -> None:
        """Stop nginx, the instances, and the Redis/MariaDB this launcher started."""
        state = self.load()
        if state is None:
            self.log("nothing to stop")
            return
        if state.nginx and stop_process(state.nginx.pid, state.nginx.marker, signal.SIGQUIT):
            self.log("stopped nginx")
        for port, service in state.instances.items():
            if stop_process(service.pid, service.marker):
                self.log(f"stopped instance on port {port}")
        for name in ("redis", "mariadb"):
            service = getattr(state, name)
            if service and service.started_here and stop_process(service.pid, service.marker):
                self.log(f"stopped {name}")
        self.state_file.unlink()

    def _anything_alive(self, state: ClusterState) -> bool:
        services = [*state.instances.values(), state.nginx]
        return any(s and process_alive(s.pid, s.marker) for s in services)


# --- command line -------------------------------------------------------------------------


def print_status(cluster: Cluster) -> int:
    state = cluster.load()
    if state is None:
        print("no cluster is running")
        return 1
    nginx_alive = bool(state.nginx and process_alive(state.nginx.pid, state.nginx.marker))
    print(
        f"nginx  http://127.0.0.1:{state.http_port}/  "
        f"pid {state.nginx.pid if state.nginx else '-'}  {'up' if nginx_alive else 'DOWN'}"
    )
    for name in ("redis", "mariadb"):
        service = getattr(state, name)
        if service:
            alive = process_alive(service.pid, service.marker)
            print(f"{name:<8}port {service.port}  pid {service.pid}  {'up' if alive else 'DOWN'}")
    print(f"{'port':<6} {'pid':<8} {'health':<9} {'leader':<7} instance")
    statuses = cluster.status()
    for item in statuses:
        shown = "down" if not item.alive else (item.health or {}).get("status", "no answer")
        instance = (item.health or {}).get("instance", "-")
        leader = "yes" if item.leader else "-"
        print(f"{item.port:<6} {item.pid or '-':<8} {shown:<9} {leader:<7} {instance}")
    return 0 if nginx_alive and all(item.healthy for item in statuses) else 1


@contextlib.contextmanager
def reporting_errors() -> Iterator[None]:
    try:
        yield
    except ClusterError as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def main(argv: list[str] | None = None) -> int:
    env = LauncherEnvironment.from_environ()
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=env.state_dir, help="default var/cluster")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start N instances behind nginx")
    up.add_argument("count", type=int, nargs="?", default=3)
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
    args = parser.parse_args(argv)
    cluster = Cluster(args.state_dir)

    with reporting_errors():
        if args.command == "up":
            if not 1 <= args.count <= 64:
                raise ClusterError("N must be between 1 and 64")
            ports = [env.base_port + offset for offset in range(args.count)]
            state = cluster.up(
                ports, env.http_port, env.redis_url, env.database_url, env.microcache
            )
            print_status(cluster)
            print(f"\nInkwell is up: http://127.0.0.1:{state.http_port}/")
            log_dir = cluster.instance_environment(state, 0)["BLOG_LOG_DIR"]
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


def parse_ports(text: str) -> list[int]:
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",") if part.strip()]


if __name__ == "__main__":
    sys.exit(main())
