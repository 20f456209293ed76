"""The commands beside `serve`: upgradedb, createadmin, demo (see `python main.py --help`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from config import ROOT, Settings
from extends.cache import announce_invalidation
from extends.database import make_engine, make_sessionmaker
from extends.redis import RedisUnavailable, build_redis_clients
from extends.storage import build_media_store
from service import users
from service.errors import Invalid, ServiceError

T = TypeVar("T")
P = ParamSpec("P")


def upgrade_database(config: Settings) -> None:
    """Apply every alembic migration to the configured database."""
    from alembic import command
    from alembic.config import Config

    alembic_config = Config(str(ROOT / "alembic.ini"))
    alembic_config.set_main_option("script_location", str(ROOT / "migrations"))
    alembic_config.attributes["database_url"] = config.database_url
    command.upgrade(alembic_config, "head")


def _run_with_session(
    config: Settings, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    engine = make_engine(config.database_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as session:
            return fn(session, *args, **kwargs)
    finally:
        engine.dispose()


def _read_new_password(given: str | None) -> str:
    if given:
        return given
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise SystemExit("The two passwords differ.")
    return first


def upgradedb(config: Settings) -> int:
    upgrade_database(config)
    print("Database is up to date.")
    return 0


def createadmin(config: Settings, args: argparse.Namespace) -> int:
    """Create the administrator, or reset its password (read from stdin when not given)."""

    password = _read_new_password(args.password)
    try:
        user = _run_with_session(
            config, users.create_admin, args.username, password, args.display_name, args.email
        )
    except Invalid as exc:
        print(f"createadmin: {exc}", file=sys.stderr)
        return 2
    announce_user_change(config, user.id)  # a reset password signs the old sessions out
    print(f"Administrator {user.username!r} is ready; sign in at /auth/login.")
    return 0


def _users_list(session: Session) -> list[tuple[str, str, str, bool, str]]:
    return [
        (user.username, user.role, user.email, user.disabled, user.display_name)
        for user in users.list_users(session)
    ]


def _users_role(session: Session, username: str, role: str) -> tuple[int, str]:
    user = users.find_user(session, username)
    return user.id, users.change_role(session, user.id, role).role


def _users_disable(session: Session, username: str, disabled: bool) -> int:
    user = users.find_user(session, username)
    return users.set_disabled(session, user.id, disabled).id


def announce_user_change(config: Settings, user_id: int) -> None:
    """Running instances keep each user's role and password fingerprint in memory: tell
    them (over Redis, when configured) to drop this user's, so the change counts at once.
    Without Redis a single instance notices within a minute (controller.base)."""
    if not (config.redis_urls or config.redis_sentinels):
        return

    async def publish() -> None:
        clients = build_redis_clients(
            config.redis_urls, config.redis_sentinels, config.redis_master, config.redis_password
        )
        try:
            await announce_invalidation(clients[0], [f"user:{user_id}"], "command")
        except RedisUnavailable as exc:
            print(f"warning: running instances were not told ({exc})", file=sys.stderr)
        finally:
            for client in clients:
                client.close()

    asyncio.run(publish())


def users_command(config: Settings, args: argparse.Namespace) -> int:
    """``users list|role|disable``: the /admin/users page's work from the shell."""
    try:
        if args.users_command == "list":
            rows = _run_with_session(config, _users_list)
            print(f"{'USER':<24} {'ROLE':<14} {'STATE':<9} EMAIL")
            for username, role, email, disabled, _name in rows:
                state = "disabled" if disabled else "active"
                print(f"{username:<24} {role:<14} {state:<9} {email}")
        elif args.users_command == "role":
            user_id, role = _run_with_session(config, _users_role, args.username, args.role)
            announce_user_change(config, user_id)
            print(f"{args.username!r} is now {role}.")
        else:
            user_id = _run_with_session(config, _users_disable, args.username, not args.enable)
            announce_user_change(config, user_id)
            done = "enabled" if args.enable else "disabled (signed out everywhere)"
            print(f"{args.username!r} is {done}.")
    except ServiceError as exc:
        print(f"users {args.users_command}: {exc}", file=sys.stderr)
        return 2
    return 0


def demo(config: Settings) -> int:
    """Migrate, then load the sample site (idempotent)."""
    # Imported here: the sample texts and Pillow are not needed to serve (a faster start).
    from service import demo as demo_site
    from service import demo_images

    upgrade_database(config)
    created = _run_with_session(config, demo_site.load_demo_site)
    store = build_media_store(
        config.media_storage, config.media_dir, config.s3_access_key, config.s3_secret_key
    )
    created += _run_with_session(config, demo_images.load_demo_images, store)
    print(f"Demo site ready ({created} new item(s)).")
    return 0


def import_file(config: Settings, args: argparse.Namespace) -> int:
    """Import an Inkwell zip or a WordPress WXR file, with a progress bar and a summary."""
    from pathlib import Path

    from tqdm import tqdm  # type: ignore[import-untyped]

    from service.importers.run import import_file as run_import

    path = Path(args.path)
    if not path.is_file():
        print(f"import: no such file: {path}", file=sys.stderr)
        return 2
    store = build_media_store(
        config.media_storage, config.media_dir, config.s3_access_key, config.s3_secret_key
    )
    bar = tqdm(unit="post", disable=not sys.stderr.isatty())

    def progress(done: int, total: int, _between: bool) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        summary = _run_with_session(
            config,
            run_import,
            store,
            path,
            dry_run=args.dry_run,
            uploads=Path(args.uploads) if args.uploads else None,
            author=args.author,
            max_media_bytes=config.upload_max_bytes,
            progress=progress,
        )
    except Invalid as exc:
        bar.close()
        print(f"import refused: {exc}", file=sys.stderr)
        print("Nothing was written: the blog is as it was.", file=sys.stderr)
        return 2
    bar.close()
    print("\n".join(summary.lines()))
    return 0


def export_file(config: Settings, args: argparse.Namespace) -> int:
    """Write the blog as a WordPress WXR file (``--format wxr``) that WordPress's importer reads."""
    from pathlib import Path

    from service import site
    from service.importers.wxr_export import export_wxr

    path = Path(args.path)

    def write(session: Session) -> int:
        title = site.get_settings(session).title
        with path.open("w", encoding="utf-8") as out:
            return export_wxr(session, out, config.base_url or "http://localhost", title)

    count = _run_with_session(config, write)
    print(f"Wrote {count} posts and pages to {path} (WordPress WXR 1.2).")
    return 0
