"""The cluster's Tornado instances: their environment, starting one, waiting until it is healthy.

Each instance is ``python main.py --port=PORT`` and reads its settings through
``config.py`` like any other; the launcher only hands it the cluster's database,
Redis, cookie secret and instance id in its environment.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from config import DEFAULT_ALLOWED_HOSTS, ROOT, Settings, child_environment, load_settings
from deploy.errors import ClusterError
from deploy.processes import health, port_open, process_alive, spawn
from deploy.state import ClusterState, InstanceStatus, Service, StateStore

HEALTH_TIMEOUT_SECONDS = 60.0


class Instances:
    """Start, check and run commands as the instances of the cluster kept in ``store``."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def marker(self, port: int) -> str:
        return f"--port={port}"

    def console_log(self, port: int) -> Path:
        """Where an instance's stdout and stderr go (its own log is under BLOG_LOG_DIR)."""
        return self.store.state_dir / "console" / f"blog@{port}.out"

    def environment(self, state: ClusterState, port: int) -> dict[str, str]:
        """The launcher's environment, the cluster's instance_env, then the cluster's servers."""
        env = child_environment()
        env.update(state.instance_env)
        env.update(
            BLOG_DATABASE_URL=state.database_url,
            BLOG_REDIS_URL=state.redis_url,
            BLOG_COOKIE_SECRET=self.store.cookie_secret(),
            BLOG_INSTANCE_ID=f"{socket.gethostname()}:{port}",
        )
        env.setdefault("BLOG_LOG_DIR", Settings().log_dir)
        env.pop("BLOG_PORT", None)  # each instance gets its own on the command line
        if state.ha:
            # As if on its own host: its own address, var/ and log dir; the replicated
            # servers and the media bucket are all it shares with the others.
            env.update(state.ha_env)
            host = state.host(port)
            own = self.store.state_dir / "hosts" / host
            env.update(
                BLOG_HOST=host,
                BLOG_DATA_DIR=str(own / "var"),
                BLOG_LOG_DIR=str(own / "logs"),
                BLOG_INSTANCE_ID=f"{host}:{port}",
            )
            # Its own address is a Host it answers (the health checks ask it directly).
            allowed = env.get("BLOG_ALLOWED_HOSTS") or ",".join(DEFAULT_ALLOWED_HOSTS)
            env["BLOG_ALLOWED_HOSTS"] = f"{allowed},{host}"
        return env

    def settings(self, state: ClusterState) -> Settings:
        """The Settings an instance of ``state`` runs with (apart from its port)."""
        return load_settings(environ=self.environment(state, 0))

    def start(self, state: ClusterState, port: int) -> Service:
        """Start the instance for ``port`` and record it in the state file."""
        host = state.host(port)
        if port_open(port, host):
            raise ClusterError(f"port {host}:{port} is taken by another program")
        command = [sys.executable, str(ROOT / "main.py"), self.marker(port)]
        process = spawn(command, self.console_log(port), self.environment(state, port))
        service = Service(process.pid, port, self.marker(port), host=host, role="instance")
        state.instances[str(port)] = service
        self.store.save(state)
        return service

    def wait_healthy(self, service: Service, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not process_alive(service.pid):
                raise ClusterError(
                    f"instance on port {service.port} exited; see {self.console_log(service.port)}"
                )
            answer = health(service.port, host=service.host)
            if answer and answer.get("status") == "ok":
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"instance on port {service.port} is not healthy: {answer}")
            time.sleep(0.1)

    def status(self, state: ClusterState) -> list[InstanceStatus]:
        result = []
        for port in state.ports:
            service = state.instances.get(str(port))
            alive = bool(service and process_alive(service.pid, service.marker))
            result.append(
                InstanceStatus(
                    port,
                    service.pid if service else None,
                    alive,
                    health(port, host=state.host(port)) if alive else None,
                )
            )
        return result

    def run_command(self, state: ClusterState, *args: str, stdin: str | None = None) -> str:
        """Run ``python main.py <args>`` with the cluster's settings (upgradedb, createadmin)."""
        result = subprocess.run(  # noqa: S603 (our own main.py, no shell)
            [sys.executable, str(ROOT / "main.py"), *args],
            cwd=ROOT,
            env=self.environment(state, 0),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"main.py {' '.join(args[:1])} failed:\n{result.stderr}")
        return result.stdout
