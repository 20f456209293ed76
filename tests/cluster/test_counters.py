"""Page views counted by every instance add up exactly in the database after a flush."""

import asyncio
import re

from sqlalchemy import func, select

from extends.counters_redis import RedisCounters
from extends.database import make_engine, make_sessionmaker
from extends.redis import RedisClient
from model import Article, DailyStat
from service import stats
from tests.cluster.conftest import sign_in

VISITORS = 3
HOME_VIEWS_EACH = 7
ARTICLE_VIEWS_EACH = 4


def flush_like_the_leader(redis_url, database_url):
    """One flush as the leader does it: drain, write, commit."""

    def write(pending):
        engine = make_engine(database_url, pool_size=1)
        try:
            with make_sessionmaker(engine)() as session:
                stats.flush_counters(session, pending)
        finally:
            engine.dispose()

    async def flush():
        client = RedisClient(redis_url)
        try:
            counters = RedisCounters(client)
            for _ in range(10):  # batch by batch, until nothing waits
                pending = await counters.drain()
                if pending.is_empty():
                    break
                await asyncio.to_thread(write, pending)
                await counters.commit(pending)
        finally:
            client.close()

    asyncio.run(flush())


def totals(database_url, article_id):
    engine = make_engine(database_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as session:
            views, visitors = session.execute(
                select(func.coalesce(func.sum(DailyStat.pv), 0), func.max(DailyStat.uv))
            ).one()
            article_views = session.get(Article, article_id).view_count
            return int(views), int(visitors or 0), article_views
    finally:
        engine.dispose()


def test_views_on_every_instance_add_up_after_a_flush(cluster):
    editor = cluster.client()
    sign_in(editor)
    response = editor.post_form(
        "/admin/articles/new",
        {"title": "Counted", "content": "Read me.", "tags": "", "status": "published"},
    )
    article_id = int(re.search(r"/admin/articles/(\d+)/edit", response.headers["Location"])[1])
    database_url = cluster.state.database_url
    before = totals(database_url, article_id)

    # Each visitor (own browser) reads through nginx and directly from every instance.
    for visitor_number in range(VISITORS):
        visitor = cluster.client()
        visitor.headers["User-Agent"] = f"Mozilla/5.0 (X11; Linux x86_64) Visitor/{visitor_number}"
        for number in range(HOME_VIEWS_EACH):
            base = cluster.url if number % 2 else cluster.instance_url(cluster.ports[number % 3])
            assert visitor.get(base + "/").status_code == 200
        for number in range(ARTICLE_VIEWS_EACH):
            base = cluster.instance_url(cluster.ports[number % 3])
            assert (
                visitor.get(f"{base}/article/{article_id}", allow_redirects=True).status_code == 200
            )

    flush_like_the_leader(cluster.redis.url, database_url)
    views, visitors, article_views = totals(database_url, article_id)
    assert views - before[0] == VISITORS * (HOME_VIEWS_EACH + ARTICLE_VIEWS_EACH)
    assert article_views - before[2] == VISITORS * ARTICLE_VIEWS_EACH
    assert visitors == VISITORS
