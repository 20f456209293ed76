"""The bench's comment POST is a comment the site accepts, and the bench removes what it
posted: ``make bench`` reads the comment form as a browser does (bench/comment_form.py),
so a change to how the form gets its token shows here, not as a silent row of 403s."""

from __future__ import annotations

import requests
from sqlalchemy import func, select

from bench.comment_form import comment_form
from bench.site_data import BENCH_COMMENT_AUTHOR, remove_bench_writes
from extends.ratelimit import MemoryRateLimit
from model import Article, Comment
from service.demo import load_demo_site

SLUG = "writing-in-markdown"


def bench_comments(live):
    return live.service(
        lambda session: session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.author_name == BENCH_COMMENT_AUTHOR)
        )
    )


def test_the_bench_comment_post_is_accepted_and_cleaned_up(start_app, sqlite_url):
    live = start_app(sqlite_url)
    live.service(load_demo_site)
    live.app.comment_guard.min_seconds = 0
    live.app.comment_guard.limiter = MemoryRateLimit(limit=1000, window=60)
    article_id = live.service(
        lambda session: session.scalar(select(Article.id).where(Article.slug == SLUG))
    )

    post = comment_form(live.url, f"/article/{article_id}")
    assert post.path == f"/article/{article_id}/comment"
    for _ in range(2):  # the same body again: as wrk sends it, request after request
        answer = requests.post(
            live.url + post.path,
            data=post.body,
            headers={
                "Cookie": post.cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 303, answer.text[:500]
    assert bench_comments(live) == 2

    assert live.service(remove_bench_writes) == (2, 0)
    assert bench_comments(live) == 0
