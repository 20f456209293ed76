"""Reader fixtures: the sample site, site settings, the comment form as a browser fills it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from extends.ratelimit import MemoryRateLimit
from model import Article, Category
from service.demo import load_demo_site
from service.site import ensure_settings

_FORM_ACTION = re.compile(r'id="comment-form" action="([^"]+)"')


@pytest.fixture
def site(live: Any) -> Any:
    """The sample site loaded; comment checks relaxed so tests need not wait (see guard)."""
    live.service(load_demo_site)
    live.app.comment_guard.min_seconds = 0
    live.app.comment_guard.limiter = MemoryRateLimit(limit=1000, window=60)
    live.app.comment_guard.attempts = MemoryRateLimit(limit=1000, window=60)
    return live


def set_site(live: Any, **values: Any) -> None:
    """Change site settings as the admin would, then tell the app (invalidation)."""

    def update(session):
        settings = ensure_settings(session)
        for name, value in values.items():
            setattr(settings, name, value)
        session.commit()

    live.service(update)
    invalidate(live, "settings", "pages")


def invalidate(live: Any, *scopes: str) -> None:
    live.call(lambda: live.app.invalidate(*scopes))


def article_by_slug(live: Any, slug: str) -> Article:
    return live.service(lambda s: s.scalar(select(Article).where(Article.slug == slug)))


def category_by_name(live: Any, name: str) -> Category:
    return live.service(lambda s: s.scalar(select(Category).where(Category.name == name)))


def article_url(article: Article) -> str:
    return f"/article/{article.id}/{article.slug}"


def form_time(client: Any, path: str) -> str:
    """Open the page, then do what its comment-form script does: fetch this visitor's token
    and signed form time (the _xsrf cookie lands in the client's jar); the form's time."""
    response = client.get(path)
    match = _FORM_ACTION.search(response.text)
    assert match, "the article page has a comment form"
    tokens = client.get(match.group(1))
    assert tokens.status_code == 200 and tokens.headers["Cache-Control"] == "no-store"
    return tokens.json()["form_time"]


def post_comment(client: Any, article: Article, content: str, **fields: Any) -> Any:
    """Open the article, fill the form and post it, as a reader does."""
    data = {
        "author_name": "Reader",
        "author_email": "reader@example.com",
        "content": content,
        "form_time": form_time(client, article_url(article)),
    }
    data.update(fields)
    return client.post_form(f"/article/{article.id}/comment", data)


def main_text(html: str) -> str:
    """Visible text of the page's <main> only (no navigation, no sidebar)."""
    from tests.support.live import page_text

    start = html.index("<main")
    return page_text(html[start : html.index("</main>", start)])
