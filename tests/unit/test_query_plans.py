"""The reader's list, archive, tag and search queries use indexes on MariaDB, never a full
table scan: each service runs over a site big enough for the optimizer to care, the SQL it
sends is captured, and MariaDB's EXPLAIN of every statement is checked."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from commands import upgrade_database
from extends.database import make_engine, make_sessionmaker
from model import Article, Category, Comment, Tag, User, article_tags
from model.base import utcnow
from service import articles, search, widgets
from service.rendering import RENDERER_VERSION, render_markdown
from service.site import ensure_settings
from tests.support.live import make_settings
from tests.support.servers import MariaDBServer

ARTICLES = 600
CATEGORIES = 30
TAGS = 200
COMMENTS = 3000
PER_PAGE = 10
NOW = utcnow().replace(microsecond=0)

# Full scans that are fine, and why: each of these tables holds a handful of rows on any
# site (one settings row; a few dozen categories, a few sources, a few authors), so reading
# all of it is one page. A derived table is the already-filtered, indexed result of a
# subquery (a search word's matches), not a stored table.
SMALL_TABLES = {"site_settings", "categories", "sources", "users", "media"}

WORDS = [
    "server",
    "nginx",
    "tornado",
    "redis",
    "cache",
    "page",
    "article",
    "python",
    "request",
    "response",
    "thread",
    "pool",
    "database",
    "index",
    "query",
    "session",
    "cookie",
    "template",
    "render",
    "markdown",
    "lease",
    "leader",
    "worker",
    "process",
    "socket",
    "timeout",
    "latency",
    "memory",
    "reload",
    "deploy",
    "instance",
    "cluster",
    "replica",
]


def zipf_text(rng: random.Random, words: int) -> str:
    """Words drawn with falling frequency: "server" in nearly every article, the tail rare."""
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    return " ".join(rng.choices(WORDS, weights, k=words))


def load_site(session: Session) -> None:
    rng = random.Random(9)
    ensure_settings(session)
    session.execute(
        insert(User),
        [
            {"username": f"author{n}", "display_name": f"Author {n}", "password_hash": "x"}
            for n in range(3)
        ],
    )
    session.execute(
        insert(Category),
        [
            {"name": f"Category {n}", "slug": f"category-{n}", "hidden": n == 0, "sort_order": n}
            for n in range(CATEGORIES)
        ],
    )
    session.execute(insert(Tag), [{"name": f"tag-{n}"} for n in range(TAGS)])
    rows = []
    for n in range(ARTICLES):
        status = "draft" if n % 20 == 0 else "scheduled" if n % 20 == 1 else "published"
        published = NOW - dt.timedelta(hours=29 * (ARTICLES - n))
        if status == "scheduled":
            published = NOW + dt.timedelta(days=n)
        content = f"## Part {n}\n\n{zipf_text(rng, 120)}\n\nserver {'zeppelin' if n == 77 else ''}"
        rows.append(
            {
                "title": f"Article {n} {zipf_text(rng, 4)}",
                "slug": f"article-{n}",
                "content": content,
                "content_html": render_markdown(content).html,
                "renderer_version": RENDERER_VERSION,
                "summary": "",
                "status": status,
                "kind": "page" if n % 100 == 50 else "article",
                "publish_at": None if status == "draft" else published,
                "created_at": published,
                "updated_at": published,
                "category_id": 1 + n % CATEGORIES,
                "author_id": 1 + n % 3,
            }
        )
    session.execute(insert(Article), rows)
    session.execute(
        insert(article_tags),
        [
            {"article_id": article, "tag_id": 1 + (article * 7 + k * 13) % TAGS}
            for article in range(1, ARTICLES + 1)
            for k in range(3)
        ],
    )
    session.execute(
        insert(Comment),
        [
            {
                "article_id": 1 + n % ARTICLES,
                "floor": 1 + n // ARTICLES,
                "author_name": "Reader",
                "content": "Thanks!",
                "status": "visible",
                "created_at": NOW - dt.timedelta(minutes=n),
            }
            for n in range(COMMENTS)
        ],
    )
    session.commit()
    search.refresh_index(session)


@pytest.fixture(scope="module")
def engine(
    mariadb_server: MariaDBServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = mariadb_server.new_database_url()
    upgrade_database(make_settings(tmp_path_factory.mktemp("plans"), url))
    engine = make_engine(url, pool_size=2)
    with make_sessionmaker(engine)() as session:
        load_site(session)
    with engine.connect() as connection:
        # Fresh statistics, as a site that has been running has them.
        for table in ("articles", "article_tags", "tags", "comments", "search_terms", "categories"):
            connection.execute(text(f"ANALYZE TABLE {table}")).all()
    yield engine
    engine.dispose()


def captured_selects(engine: Engine, call: Callable[[Session], Any]) -> list[tuple[str, Any]]:
    """The SELECT statements (with their parameters) a service call sends."""
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with make_sessionmaker(engine)() as session:
            call(session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert statements, "the service sent no query"
    return statements


def full_scans(engine: Engine, statement: str, parameters: Any) -> list[dict[str, Any]]:
    """EXPLAIN's rows that read a whole stored table other than the small ones."""
    with engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).mappings().all()
    return [
        dict(row)
        for row in plan
        if row["type"] == "ALL"
        and row["table"] not in SMALL_TABLES
        and not str(row["table"]).startswith("<derived")
    ]


def month_of(session: Session) -> articles.Listing:
    return articles.month_listing(session, 2025, 3, 1, PER_PAGE)


SERVICES: dict[str, Callable[[Session], Any]] = {
    "home, page 1": lambda s: articles.list_published(s, 1, PER_PAGE),
    "home, page 50": lambda s: articles.list_published(s, 50, PER_PAGE),
    "category": lambda s: articles.category_listing(s, "category-7", 1, PER_PAGE),
    "category, page 2": lambda s: articles.category_listing(s, "category-7", 2, PER_PAGE),
    "tag": lambda s: articles.tag_listing(s, "tag-42", 1, PER_PAGE),
    "archive month": month_of,
    "archive months (sidebar, /archive)": articles.archive_months,
    "search, a common word": lambda s: search.search_articles(s, "server", 1, PER_PAGE),
    "search, a common word, page 5": lambda s: search.search_articles(s, "server", 5, PER_PAGE),
    "search, a rare word": lambda s: search.search_articles(s, "zeppelin", 1, PER_PAGE),
    "search, two words": lambda s: search.search_articles(s, "server tornado", 1, PER_PAGE),
    "sidebar: categories": widgets.category_counts,
    "sidebar: tag cloud": widgets.tag_cloud,
}


@pytest.mark.parametrize("name", list(SERVICES))
def test_no_full_table_scan(engine: Engine, name: str) -> None:
    scans = {
        statement: scanned
        for statement, parameters in captured_selects(engine, SERVICES[name])
        if (scanned := full_scans(engine, statement, parameters))
    }
    assert scans == {}, name


def test_the_site_is_big_enough_to_matter(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session:
        home = articles.list_published(session, 50, PER_PAGE)
        assert home.items and home.pager.pages >= 50
        assert search.search_articles(session, "server", 1, PER_PAGE).pager.total > ARTICLES / 2
        assert search.search_articles(session, "zeppelin", 1, PER_PAGE).pager.total == 1
        assert month_of(session).pager.total > 10


def test_the_check_sees_a_full_scan(engine: Engine) -> None:
    # No index on a comment's text: the check must notice, or its silence means nothing.
    statement = "SELECT id FROM comments WHERE content = %(content)s"
    assert [row["table"] for row in full_scans(engine, statement, {"content": "Thanks!"})] == [
        "comments"
    ]
