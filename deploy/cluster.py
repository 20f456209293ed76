"""One host's cluster: N instances behind nginx, with Redis and MariaDB (``up``/``down``/...).

``Cluster`` sequences the parts: ``BackingServices`` (Redis, MariaDB), ``Instances``
and ``Nginx``; ``StateStore`` records every process it started, and only those are
ever signalled. The command line (``python -m deploy.cluster up N``) is in ``deploy.cli``.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from deploy.errors import ClusterError
from deploy.ha import (
    instance_hosts,
    restart_stopped_servers,
    start_ha_servers,
    stop_ha_servers,
)
from deploy.instances import Instances
from deploy.nginx_config import FAIL_TIMEOUT_SECONDS, Nginx
from deploy.processes import process_alive, stop_process
from deploy.servers import BackingServices
from deploy.state import ClusterState, InstanceStatus, StateStore


class Cluster:
    """The instances, nginx and (when it started them) Redis and MariaDB of one state dir."""

    def __init__(self, state_dir: Path, log: Callable[[str], None] = print) -> None:
        self.state_dir = state_dir
        self.log = log
        self.store = StateStore(state_dir)
        self.servers = BackingServices(state_dir, log)
        self.instances = Instances(self.store)
        self.nginx = Nginx(state_dir / "nginx")

    def load(self) -> ClusterState | None:
        return self.store.load()

    def _require_state(self) -> ClusterState:
        state = self.load()
        if state is None:
            raise ClusterError("no cluster is running here")
        return state

    def run_command(self, state: ClusterState, *args: str, stdin: str | None = None) -> str:
        """Run ``python main.py <args>`` with the cluster's settings (upgradedb, createadmin)."""
        return self.instances.run_command(state, *args, stdin=stdin)

    def render_nginx(self, state: ClusterState) -> Path:
        """Write nginx's configuration for ``state``; the path of nginx.conf."""
        return self.nginx.write_config(state, self.instances.settings(state))

    # --- commands --------------------------------------------------------------------------

    def up(
        self,
        ports: list[int],
        http_port: int,
        redis_url: str = "",
        database_url: str = "",
        microcache: bool = False,
        instance_env: dict[str, str] | None = None,
        ha: bool = False,
    ) -> ClusterState:
        """Start what is missing: servers, migrations, instances, nginx; wait until healthy.

        ``ha``: replicated servers and instances on their own addresses (``deploy/ha.py``).
        """
        previous = self.load()
        if previous and previous.ports != ports and self._anything_alive(previous):
            raise ClusterError(
                f"a cluster on ports {previous.ports} is running; "
                "`python -m deploy.cluster down` first"
            )
        if previous and previous.ha != ha and self._anything_alive(previous):
            raise ClusterError("a cluster of the other mode is running; `down` first")
        if ha:
            state = self._ha_state(previous, ports, http_port, microcache, instance_env)
        else:
            redis_url, redis = self.servers.redis(redis_url, previous.redis if previous else None)
            database_url, mariadb = self.servers.database(
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
        self.store.save(state)
        self.log("applying database migrations")
        self.run_command(state, "upgradedb")
        self.heal(state)
        return state

    def _ha_state(
        self,
        previous: ClusterState | None,
        ports: list[int],
        http_port: int,
        microcache: bool,
        instance_env: dict[str, str] | None,
    ) -> ClusterState:
        running = (
            previous is not None
            and previous.ha_services
            and all(process_alive(s.pid, s.marker) for s in previous.ha_services.values())
        )
        if previous is not None and running:
            services, env = previous.ha_services, previous.ha_env
        else:
            if previous is not None:
                stop_ha_servers(previous.ha_services, self.log)
            services, env = start_ha_servers(self.state_dir, self.log)
        return ClusterState(
            ports=ports,
            http_port=http_port,
            redis_url="",
            database_url=env["BLOG_DATABASE_URL"],
            microcache=microcache,
            instance_env=dict(instance_env or {}),
            ha=True,
            hosts=dict(zip((str(port) for port in ports), instance_hosts(len(ports)), strict=True)),
            ha_services=services,
            ha_env=env,
        )

    def heal(self, state: ClusterState | None = None) -> ClusterState:
        """Start every instance (and nginx) that is not running; wait until all are healthy."""
        state = state or self._require_state()
        if state.ha:
            restart_stopped_servers(self.state_dir, state, self.log)
            self.store.save(state)
        started = []
        for port in state.ports:
            current = state.instances.get(str(port))
            if current and process_alive(current.pid, current.marker):
                continue
            self.log(f"starting instance on port {port}")
            started.append(self.instances.start(state, port))
        for service in started:
            self.instances.wait_healthy(service)
        if not (state.nginx and process_alive(state.nginx.pid, state.nginx.marker)):
            self.log(f"starting nginx on 127.0.0.1:{state.http_port}")
            state.nginx = self.nginx.start(state, self.instances.settings(state))
            self.store.save(state)
        return state

    def status(self) -> list[InstanceStatus]:
        state = self.load()
        return [] if state is None else self.instances.status(state)

    def reload(self) -> None:
        """Rolling restart: stop one instance, start it again, wait until healthy, then the next.

        nginx sends requests for a stopping instance to the others (its port is closed); the
        wait after each restart lets nginx's rest period for the instance run out, so two
        instances are never resting at once.
        """
        state = self._require_state()
        for index, port in enumerate(state.ports):
            service = state.instances.get(str(port))
            if service is not None:
                self.log(f"restarting instance on port {port}")
                stop_process(service.pid, service.marker)
            self.instances.wait_healthy(self.instances.start(state, port))
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
        for name, server in (("redis", state.redis), ("mariadb", state.mariadb)):
            if server and server.started_here and stop_process(server.pid, server.marker):
                self.log(f"stopped {name}")
        stop_ha_servers(state.ha_services, self.log)
        self.store.remove()

    def _anything_alive(self, state: ClusterState) -> bool:
        services = [*state.instances.values(), state.nginx]
        return any(s and process_alive(s.pid, s.marker) for s in services)


if __name__ == "__main__":
    # `python -m deploy.cluster` is the documented command (Makefile, README, tests).
    from deploy.cli import main

    sys.exit(main())
