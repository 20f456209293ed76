"""What the launcher started, kept in ``state.json`` under its state dir (pids, ports, URLs).

Only the processes recorded here are ever signalled.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Service:
    """A process the launcher started (Redis, MariaDB, nginx, an instance)."""

    pid: int
    port: int
    marker: str
    started_here: bool = True
    # The address it listens on (HA mode: each instance has its own loopback address).
    host: str = "127.0.0.1"
    # What it is in an HA cluster (mariadb-primary, redis-replica, sentinel, ...).
    role: str = ""


@dataclass
class ClusterState:
    """One cluster: its ports, the servers it uses, and the processes it runs."""

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
    # HA mode (deploy/ha.py): each instance on its own address with its own var/ and logs,
    # and the replicated servers it started, with the environment that points at them.
    ha: bool = False
    hosts: dict[str, str] = field(default_factory=dict)
    ha_services: dict[str, Service] = field(default_factory=dict)
    ha_env: dict[str, str] = field(default_factory=dict)

    def host(self, port: int) -> str:
        """The address the instance on ``port`` listens on."""
        return self.hosts.get(str(port), "127.0.0.1")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        data = json.loads(text)

        def service(value: dict[str, Any] | None) -> Service | None:
            return Service(**value) if value else None

        data["instances"] = {port: Service(**item) for port, item in data["instances"].items()}
        data["ha_services"] = {
            name: Service(**item) for name, item in data.get("ha_services", {}).items()
        }
        for name in ("nginx", "redis", "mariadb"):
            data[name] = service(data.get(name))
        return cls(**data)


@dataclass
class InstanceStatus:
    """One instance as ``status`` shows it: its process and its /healthz answer."""

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


class StateStore:
    """The launcher's state dir: ``state.json`` and the cookie secret every instance shares."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.state_file = state_dir / "state.json"

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

    def remove(self) -> None:
        self.state_file.unlink()

    def cookie_secret(self) -> str:
        """Generated once into the state dir, shared by every instance, never in the repo."""
        path = self.state_dir / "cookie_secret"
        if not path.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
