"""One typed Settings object: defaults < config file < BLOG_* environment < command line.

Nothing outside this module reads ``os.environ``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1")


@dataclass
class Settings:
    """Everything an instance needs to know about its deployment."""

    port: int = 8888
    host: str = "127.0.0.1"
    database_url: str = ""
    # Read replicas of database_url (BLOG_DATABASE_REPLICA_URLS, comma-separated): anonymous
    # reader pages, feeds, search and the sitemap may read from them (extends/replicas.py).
    database_replica_urls: list[str] = field(default_factory=list)
    redis_urls: list[str] = field(default_factory=list)
    # Redis Sentinel (host:port each): when set, the Redis nodes are the masters named in
    # redis_master (BLOG_REDIS_MASTER, comma-separated: several groups share the session
    # ring) as the sentinels report them, followed through failovers; redis_urls is unused.
    redis_sentinels: list[str] = field(default_factory=list)
    redis_master: list[str] = field(default_factory=lambda: ["inkwell"])
    redis_password: str = ""
    cookie_secret: str = ""
    log_dir: str = str(ROOT / "logs")
    data_dir: str = str(ROOT / "var")
    media_dir: str = ""
    # Where media live (extends/storage.py): empty for media_dir on this host, or
    # s3://bucket/prefix?endpoint=http://host:port&region=... with the keys below.
    media_storage: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    debug: bool = False
    secure_cookies: bool = False
    # Deprecated and ignored: client address and scheme headers are read only from
    # ``trusted_proxies`` (see controller/origin.py).
    xheaders: bool = True
    # The public address of the site ("https://blog.example.org"): every absolute URL
    # (feeds, sitemap, robots.txt, canonical and Open Graph links, the QR code) uses it.
    base_url: str = ""
    # Host headers answered; anything else is a 400. An entry without a port matches any
    # port, ".example.org" also matches its subdomains, "*" matches everything. The base
    # URL's host is always allowed.
    allowed_hosts: list[str] = field(default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS))
    # Peers (addresses or CIDRs) whose X-Forwarded-For / X-Real-IP / X-Forwarded-Proto
    # are believed; anyone else's are ignored.
    trusted_proxies: list[str] = field(default_factory=lambda: list(DEFAULT_TRUSTED_PROXIES))
    executor_workers: int = 8
    upload_max_bytes: int = 5 * 1024 * 1024
    session_ttl_seconds: int = 7 * 24 * 3600
    lease_ttl_ms: int = 10_000
    instance_id: str = ""
    shutdown_grace_seconds: float = 10.0
    # Searches the results cache cannot answer, per client address and minute (all instances).
    search_limit_per_minute: int = 30
    qr_ticket_seconds: int = 120
    qr_wait_seconds: float = 55.0
    # Anonymous endpoints one client could flood (per address, shared by every instance):
    # QR sign-in codes created, and comment posts tried (accepted or not) a minute.
    qr_tickets_per_minute: int = 20
    comment_attempts_per_minute: int = 30
    # A comment posted sooner than this after its form was shown looks automated.
    comment_min_seconds: float = 3.0
    log_level: str = "INFO"
    # Outgoing mail (README, "Email"): smtp://user:pass@host:587 (STARTTLS), smtps://… (TLS),
    # smtp://host:25 (a local relay); empty: messages go to the log. Never shown in a repr.
    smtp_url: str = field(default="", repr=False)
    # A CA bundle (PEM) that signs the SMTP server's certificate, when the system's trust
    # store does not (a private CA); the certificate is verified either way.
    smtp_ca_file: str = ""
    mail_from: str = ""
    mail_max_attempts: int = 6
    mail_retry_seconds: float = 30.0
    mail_visibility_seconds: float = 120.0
    mail_poll_seconds: float = 2.0
    # The in-process cache's byte budgets (LRU per region; /healthz shows their use): anonymous
    # pages, the data pages are built from, signed-in users' state, drawn fragments of
    # signed-in pages (an article's body and comment list, per language).
    page_cache_mb: int = 64
    data_cache_mb: int = 32
    user_cache_mb: int = 1
    fragment_cache_mb: int = 32
    # How often each instance checks its database, Redis and replicas for /healthz.
    health_interval_seconds: float = 1.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.strip().rstrip("/")


# BLOG_* variable -> field name (the public interface names a few; the rest follow the pattern)
_ENV_FIELDS = {f.name: "BLOG_" + f.name.upper() for f in dataclasses.fields(Settings)}
_ENV_FIELDS["redis_urls"] = "BLOG_REDIS_URL"


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "list[str]":
        if isinstance(raw, list):
            return [str(item) for item in raw]
        return [part.strip() for part in str(raw).split(",") if part.strip()]
    return str(raw)


def _read_config_file(path: str) -> dict[str, Any]:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(data) - known
    if unknown:
        raise SystemExit(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    return data


def _ensure_cookie_secret(data_dir: str) -> str:
    """Generate a secret once into ``var/`` so a bare checkout never ships one."""
    path = Path(data_dir) / "cookie_secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def load_settings(
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build the Settings: defaults < config file < BLOG_* environment < overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = config_file or env.get("BLOG_CONFIG")
    if config_file:
        values.update(_read_config_file(config_file))
    for name, var in _ENV_FIELDS.items():
        if var in env and env[var] != "":
            values[name] = env[var]
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    settings = Settings(**{name: _coerce(name, value) for name, value in values.items()})
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    if not settings.database_url:
        settings.database_url = f"sqlite:///{Path(settings.data_dir) / 'blog.sqlite3'}"
    if not settings.media_dir:
        settings.media_dir = str(Path(settings.data_dir) / "media")
    if not settings.cookie_secret:
        settings.cookie_secret = _ensure_cookie_secret(settings.data_dir)
    if settings.base_url and not re.match(r"^https?://[^/?#\s]+$", settings.base_url):
        raise SystemExit(
            f"base_url must be a scheme and a host, such as https://blog.example.org "
            f"(got {settings.base_url!r})"
        )
    if not settings.instance_id:
        settings.instance_id = f"{os.uname().nodename}:{settings.port}"
    return settings


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``main.py``: options may stand before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="TOML settings file")
    common.add_argument("--port", type=int, default=argparse.SUPPRESS)
    common.add_argument("--host", default=argparse.SUPPRESS)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(prog="main.py", description="Inkwell blog", parents=[common])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve HTTP (default)", parents=[common])
    sub.add_parser("upgradedb", help="apply database migrations", parents=[common])
    admin = sub.add_parser(
        "createadmin", help="create or reset the administrator", parents=[common]
    )
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", help="read from stdin or prompted when omitted")
    admin.add_argument("--display-name")
    admin.add_argument("--email")
    sub.add_parser("demo", help="migrate and load the sample site", parents=[common])
    importer = sub.add_parser(
        "import", help="import an Inkwell zip, a WordPress WXR or a Ghost JSON", parents=[common]
    )
    importer.add_argument("path")
    importer.add_argument("--dry-run", action="store_true")
    importer.add_argument("--uploads", help="a copy of wp-content/uploads or content/images")
    importer.add_argument("--author", help="make this user the author of every post")
    exporter = sub.add_parser(
        "export", help="write the blog as a WordPress WXR file", parents=[common]
    )
    exporter.add_argument("--format", choices=["wxr"], default="wxr")
    exporter.add_argument("path")
    people = sub.add_parser("users", help="list users, change a role, disable", parents=[common])
    people_sub = people.add_subparsers(dest="users_command", required=True)
    people_sub.add_parser("list", help="every user with role and state", parents=[common])
    role = people_sub.add_parser("role", help="give a user a role", parents=[common])
    role.add_argument("username")
    role.add_argument("role", choices=("administrator", "editor", "author", "contributor"))
    disable = people_sub.add_parser(
        "disable", help="disable a user (signed out everywhere)", parents=[common]
    )
    disable.add_argument("username")
    disable.add_argument("--enable", action="store_true", help="enable the user again")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings for a parsed command line."""
    return load_settings(
        config_file=getattr(args, "config", None),
        overrides={name: getattr(args, name, None) for name in ("port", "host", "debug")},
    )


# --- the cluster launcher (python -m deploy.cluster) -------------------------------------
# The launcher has its own few knobs; the instances it starts read theirs through Settings.

_TRUE_WORDS = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class LauncherSettings:
    """What ``python -m deploy.cluster`` reads: its ports, its state dir, the servers to use."""

    redis_url: str = ""  # BLOG_REDIS_URL; empty: the launcher starts a local redis-server
    database_url: str = ""  # BLOG_DATABASE_URL; empty: the launcher starts a local MariaDB
    base_port: int = 8001  # BLOG_BASE_PORT: the first instance's port, the others follow
    http_port: int = 8080  # BLOG_HTTP_PORT: where nginx listens
    microcache: bool = False  # BLOG_NGINX_MICROCACHE: nginx caches anonymous pages briefly
    state_dir: Path = ROOT / "var" / "cluster"  # BLOG_CLUSTER_DIR


def load_launcher_settings(environ: Mapping[str, str] | None = None) -> LauncherSettings:
    """The launcher's settings from the BLOG_* environment (an unset or empty one: default)."""
    env = os.environ if environ is None else environ
    defaults = LauncherSettings()
    return LauncherSettings(
        redis_url=env.get("BLOG_REDIS_URL", ""),
        database_url=env.get("BLOG_DATABASE_URL", ""),
        base_port=int(env.get("BLOG_BASE_PORT") or defaults.base_port),
        http_port=int(env.get("BLOG_HTTP_PORT") or defaults.http_port),
        microcache=env.get("BLOG_NGINX_MICROCACHE", "").lower() in _TRUE_WORDS,
        state_dir=Path(env.get("BLOG_CLUSTER_DIR") or defaults.state_dir),
    )


def child_environment() -> dict[str, str]:
    """A copy of this process's environment, for a child process to start from."""
    return dict(os.environ)
