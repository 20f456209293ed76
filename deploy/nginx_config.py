"""The nginx in front of the instances: its files rendered from ``deploy/nginx/``, and its process.

Templates use ``{{ name }}`` placeholders; nginx's own ``$variables`` pass through untouched.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from config import ROOT, Settings
from deploy.errors import ClusterError
from deploy.processes import find_binary, port_open, spawn, wait_for_port
from deploy.state import ClusterState, Service

DEPLOY_DIR = Path(__file__).resolve().parent
NGINX_TEMPLATE = DEPLOY_DIR / "nginx" / "nginx.conf.in"
SITE_TEMPLATE = DEPLOY_DIR / "nginx" / "site.conf.in"
SITE_EXAMPLE = DEPLOY_DIR / "nginx" / "inkwell.conf"

# nginx never takes an instance out of the pool (max_fails=0): every request is tried on the
# next instance after a refused connection or a 502/503, but a 503 that every instance gives
# (the database restarting) must not leave nginx with "no live upstreams" and 502s for pages
# the instances still serve from their caches. A refused connection on loopback costs nothing.
FAIL_TIMEOUT_SECONDS = 2
MAX_FAILS = 0
# Idle connections to the instances each nginx worker keeps for reuse (all instances together):
# enough for a busy page mix at 64 concurrent visitors, small next to Tornado's limits.
UPSTREAM_KEEPALIVE = 64

# With a server_name, a request naming any other Host is dropped without an answer.
DEFAULT_SERVER = """# Any Host not named below (scanners, DNS rebinding): closed without an answer.
server {{
    listen {listen} default_server;
    server_name _;
    return 444;
}}

"""

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render(template: Path, values: dict[str, Any]) -> str:
    """Fill ``{{ name }}`` placeholders (nginx's own ``$variables`` stay untouched)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ClusterError(f"{template.name}: no value for {{{{{name}}}}}")
        return str(values[name])

    return _PLACEHOLDER.sub(value, template.read_text())


# A stored name is random and never reused for other bytes: cached for a year.
MEDIA_FROM_DIRECTORY = """        alias {media_dir}/;
        add_header Cache-Control "public, max-age=31536000, immutable";"""
# Media in an S3 store: any instance streams it (Cache-Control: immutable); nginx keeps it.
MEDIA_FROM_INSTANCES = """        proxy_pass http://inkwell;
        proxy_next_upstream error timeout http_502;
        proxy_cache inkwell_media;
        proxy_cache_valid 200 1d;
        proxy_cache_lock on;
        proxy_cache_use_stale error timeout updating http_503;"""


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
    hosts: list[str] | None = None,
    media_from_instances: bool = False,
) -> str:
    """The site file: an upstream of ``ports``, static files and media served by nginx.

    ``hosts`` (one per port) puts each instance on its own address. With
    ``media_from_instances`` (media in an S3 store) ``/media/`` is proxied to the
    instances and kept in nginx's cache instead of read from ``media_dir``.
    """
    addresses = hosts or [upstream_host] * len(ports)
    servers = "\n".join(
        f"    server {host}:{port} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT_SECONDS}s;"
        for host, port in zip(addresses, ports, strict=True)
    )
    return render(
        SITE_TEMPLATE,
        {
            "instance_count": len(ports),
            "upstream_servers": servers,
            "upstream_keepalive": UPSTREAM_KEEPALIVE,
            "listen": listen,
            "server_name": server_name,
            "static_dir": static_dir,
            "media_cache_path": (
                f"proxy_cache_path {cache_dir}/media levels=1:2 keys_zone=inkwell_media:10m "
                "max_size=1g inactive=7d use_temp_path=off;\n"
            )
            if media_from_instances
            else "",
            "media_source": MEDIA_FROM_INSTANCES
            if media_from_instances
            else MEDIA_FROM_DIRECTORY.format(media_dir=media_dir),
            "cache_dir": cache_dir,
            "client_max_body_size": client_max_body_size(upload_max_bytes),
            "next_upstream_tries": len(ports),
            "microcache": "inkwell_micro" if microcache else "off",
            "default_server": default_server_block(listen, server_name),
        },
    )


def default_server_block(listen: str, server_name: str) -> str:
    """The catch-all server that refuses unknown hosts; none when any name is served."""
    names = server_name.split()
    if not names or "_" in names:
        return ""
    return DEFAULT_SERVER.format(listen=listen)


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


class Nginx:
    """The cluster's nginx: configuration, temp and cache dirs and logs under ``prefix``."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix

    def write_config(self, state: ClusterState, settings: Settings) -> Path:
        """Render nginx.conf and the site file for ``state``; the path of nginx.conf."""
        for sub in ("temp", "cache"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        media_dir = Path(settings.media_dir)
        media_dir.mkdir(parents=True, exist_ok=True)
        site = self.prefix / "inkwell.conf"
        site.write_text(
            render_site(
                state.ports,
                listen=f"127.0.0.1:{state.http_port}",
                # The names the instances allow by default; any other Host is refused.
                server_name="localhost 127.0.0.1",
                static_dir=ROOT / "static",
                media_dir=media_dir,
                cache_dir=self.prefix / "cache",
                upload_max_bytes=settings.upload_max_bytes,
                microcache=state.microcache,
                hosts=[state.host(port) for port in state.ports],
                media_from_instances=bool(settings.media_storage),
            )
        )
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            render(
                NGINX_TEMPLATE,
                {
                    "prefix": self.prefix,
                    "user_directive": "user root;\n" if os.geteuid() == 0 else "",
                    "mime_types": mime_types_path(),
                    "site_conf": site,
                },
            )
        )
        return conf

    def command(self, conf: Path, *extra: str) -> list[str]:
        """The nginx command line for ``conf`` (``-t -q`` as ``extra`` checks it)."""
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

    def start(self, state: ClusterState, settings: Settings) -> Service:
        """Write the configuration, have nginx check it, start nginx; once it listens."""
        conf = self.write_config(state, settings)
        check = subprocess.run(  # noqa: S603 (a fixed command, no shell)
            self.command(conf, "-t", "-q"), capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise ClusterError(f"nginx rejects {conf}:\n{check.stderr}")
        if port_open(state.http_port):
            raise ClusterError(f"port {state.http_port} is taken by another program")
        process = spawn(self.command(conf), self.prefix / "console.log")
        wait_for_port(state.http_port, process.pid)
        return Service(process.pid, state.http_port, str(conf))
