"""A live app shared by a whole test module: migrated database, sample site, a signed-in admin.

Function-scoped ``start_app``/``live`` start one app per test; the fuzz and XSS modules drive
hundreds of requests against one app per database instead (module-scoped fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from commands import upgrade_database
from extends.ratelimit import MemoryRateLimit
from model import Article
from model.blog import Comment, article_tags
from service import users
from service.demo import load_demo_site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.live import BlogClient, LiveApp, make_settings
from tests.support.servers import MariaDBServer


def database_url_for(kind: str, directory: Path, mariadb: MariaDBServer | None) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'blog.sqlite3'}"
    assert mariadb is not None
    return mariadb.new_database_url()


@contextmanager
def module_site(
    directory: Path, database_url: str, demo: bool = True, **settings: Any
) -> Iterator[LiveApp]:
    """A migrated app with the sample site and the administrator; stopped afterwards.

    The comment guard is relaxed (no minimum delay, a generous rate limit) so a test's
    comments are posted rather than refused as too fast.
    """
    config = make_settings(directory, database_url, **settings)
    upgrade_database(config)
    live = LiveApp(config).start()
    try:
        if demo:
            live.service(load_demo_site)
        live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
        assert live.app is not None
        live.app.comment_guard.min_seconds = 0
        live.app.comment_guard.limiter = MemoryRateLimit(limit=100_000, window=60)
        live.app.comment_guard.attempts = MemoryRateLimit(limit=100_000, window=60)
        yield live
    finally:
        live.stop()


def signed_in_client(live: LiveApp) -> BlogClient:
    client = BlogClient(live.url)
    response = client.post_form(
        "/auth/login", {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": "/admin"}
    )
    assert response.status_code in (302, 303), (response.status_code, response.text[-500:])
    return client


def integrity_problems(live: LiveApp) -> list[str]:
    """Rows a half-finished write would leave behind; an empty list when the data is whole."""

    def check(session: Any) -> list[str]:
        problems: list[str] = []
        visible = (
            select(Comment.article_id, func.count().label("n"))
            .where(Comment.status == "visible")
            .group_by(Comment.article_id)
            .subquery()
        )
        rows = session.execute(
            select(Article.id, Article.comment_count, func.coalesce(visible.c.n, 0)).outerjoin(
                visible, visible.c.article_id == Article.id
            )
        )
        for article_id, cached, counted in rows:
            if cached != counted:
                problems.append(f"article {article_id}: comment_count {cached} != {counted}")
        orphans = session.scalars(
            select(Comment.id).where(~Comment.article_id.in_(select(Article.id)))
        ).all()
        if orphans:
            problems.append(f"comments without an article: {list(orphans)[:10]}")
        tagless = session.execute(
            select(func.count())
            .select_from(article_tags)
            .where(~article_tags.c.article_id.in_(select(Article.id)))
        ).scalar()
        if tagless:
            problems.append(f"{tagless} tag links without an article")
        replies = session.scalars(
            select(Comment.id).where(
                Comment.reply_to_id.is_not(None), ~Comment.reply_to_id.in_(select(Comment.id))
            )
        ).all()
        if replies:
            problems.append(f"replies to missing comments: {list(replies)[:10]}")
        return problems

    result: list[str] = live.service(check)
    return result
