"""Every reader page through HTTP, on SQLite and MariaDB."""

import datetime as dt

import pytest
from sqlalchemy import update

from model import Article, Category
from model.base import utcnow
from tests.support.live import page_text
from tests.web.reader.conftest import (
    article_by_slug,
    article_url,
    category_by_name,
    invalidate,
    main_text,
    set_site,
)


def test_home_lists_published_articles_with_what_a_reader_expects(site, client):
    response = client.get("/")
    assert response.status_code == 200
    text = page_text(response.text)
    assert "Welcome to Inkwell" in text
    assert "Passwords with argon2id" not in text  # a draft
    # Date, category, source, tags, summary, comment and view counts.
    assert "Getting Started" in text and "Original" in text
    assert "#tornado" in text
    assert "explains what it is made of" in text
    assert "2 comments" in text and "0 views" in text


@pytest.mark.parametrize(
    "path",
    ["/", "/archive", "/tag/redis", "/source/original", "/search?q=redis", "/robots.txt"],
)
def test_reader_routes_answer(site, client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "Traceback" not in response.text


def test_category_tag_source_and_month_listings(site, client):
    category = category_by_name(site, "Architecture")
    text = main_text(client.get(f"/category/{category.slug}").text)
    assert "Architecture" in text and "How sessions survive behind nginx" in text
    assert "Welcome to Inkwell" not in text
    chinese_tag = client.get("/tag/%E4%B8%AD%E6%96%87")
    assert "用 Tornado 写博客" in chinese_tag.text
    reprints = main_text(client.get("/source/reprint").text)
    assert "Keeping the IOLoop free" in reprints and "Welcome to Inkwell" not in reprints
    when = article_by_slug(site, "welcome-to-inkwell").publish_at
    month = client.get(f"/archive/{when.year:04d}/{when.month:02d}")
    assert month.status_code == 200 and "Welcome to Inkwell" in month.text
    archive = page_text(client.get("/archive").text)
    assert f"{when.year:04d}-{when.month:02d}" in archive


@pytest.mark.parametrize(
    "path",
    [
        "/category/99999",
        "/tag/no-such-tag",
        "/source/nothing",
        "/archive/1999/01",
        "/archive/2024/13",
        "/article/99999",
    ],
)
def test_missing_things_are_404_pages(site, client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "<html" in response.text and "Traceback" not in response.text


@pytest.mark.parametrize("page", ["0", "-1", "99999", "abc", "1.5"])
def test_pagination_edges_are_404_pages(site, client, page):
    set_site(site, posts_per_page=3)
    for path in ("/", "/tag/redis", "/search?q=redis&"):
        response = client.get(f"{path}{'&' if '?' in path else '?'}page={page}")
        assert response.status_code == 404, path
        assert "Traceback" not in response.text


def test_page_size_comes_from_the_settings_not_the_query(site, client):
    set_site(site, posts_per_page=3)
    first = client.get("/?per_page=100&page_size=100")
    assert first.text.count('class="card"') == 3
    assert 'rel="next" href="/?page=2"' in first.text
    last = client.get("/?page=4")  # 11 published articles, 3 per page
    assert last.status_code == 200 and last.text.count('class="card"') == 2
    assert 'rel="prev" href="/?page=3"' in last.text


def test_article_page_shows_everything_around_the_text(site, client):
    article = article_by_slug(site, "writing-in-markdown")
    response = client.get(article_url(article))
    assert response.status_code == 200
    html = response.text
    assert "<title>Writing in Markdown · Inkwell</title>" in html
    assert f'<link rel="canonical" href="{client.base_url}{article_url(article)}">' in html
    assert '<meta property="og:title" content="Writing in Markdown">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert 'name="description" content="Everything the Inkwell editor understands' in html
    assert 'type="application/atom+xml"' in html and 'type="application/rss+xml"' in html
    assert 'class="toc"' in html and 'href="#the-basics"' in html  # contents and anchors
    assert '<h2 id="the-basics"' in html
    assert 'class="highlight"' in html  # Pygments
    text = page_text(html)
    assert "Getting Started" in text and "#python" in text and "Original" in text
    assert "Previous article" in text and "Next article" in text
    assert "Jonas Weber" in text  # its comment


def test_article_urls_are_canonicalised(site, client):
    article = article_by_slug(site, "welcome-to-inkwell")
    for wrong in (f"/article/{article.id}", f"/article/{article.id}/old-title"):
        response = client.get(wrong + "?reply_to=1", allow_redirects=False)
        assert response.status_code == 301
        assert response.headers["Location"] == article_url(article) + "?reply_to=1"
    assert client.get(article_url(article), allow_redirects=False).status_code == 200


def test_drafts_and_future_articles_are_404_for_readers(site, client):
    draft = article_by_slug(site, "passwords-with-argon2id")
    assert client.get(article_url(draft)).status_code == 404
    scheduled = article_by_slug(site, "keeping-the-ioloop-free")

    def schedule(session):
        session.execute(
            update(Article)
            .where(Article.id == scheduled.id)
            .values(status="scheduled", publish_at=utcnow() + dt.timedelta(days=2))
        )
        session.commit()

    site.service(schedule)
    invalidate(site, "all")
    assert client.get(article_url(scheduled)).status_code == 404
    assert "Keeping the IOLoop free" not in client.get("/").text  # nor in the sidebar


def test_hidden_categories_leave_lists_but_keep_their_urls(site, client):
    notes = category_by_name(site, "Notes")
    site.service(
        lambda s: (
            s.execute(update(Category).where(Category.id == notes.id).values(hidden=True)),
            s.commit(),
        )
    )
    invalidate(site, "nav", "articles", "pages")
    home = client.get("/").text
    assert f'href="/category/{notes.slug}"' not in home  # not in nav or sidebar
    assert "用 Tornado 写博客" not in home
    assert "用 Tornado 写博客" in client.get(f"/category/{notes.slug}").text
    chinese = article_by_slug(site, "tornado-blog-zh")
    assert client.get(article_url(chinese)).status_code == 200


def test_navigation_shows_menus_and_loose_categories(site, client):
    html = client.get("/").text
    assert "<summary>Guides</summary>" in html and "<summary>Engineering</summary>" in html
    notes = category_by_name(site, "Notes")
    assert f'<a href="/category/{notes.slug}">Notes</a>' in html


def test_sidebar_widgets_in_order(site, client):
    html = client.get("/").text
    text = page_text(html[html.index("<aside") : html.index("</aside>")])
    order = ["About", "Categories", "Tags", "Recent articles", "Recent comments", "Archives"]
    positions = [text.index(f" {title} ") for title in order]
    assert positions == sorted(positions)
    assert "Views today" in text and "Articles published" in text


def test_signed_in_author_sees_dashboard_link_and_name(site, client, auth):
    auth.login()
    html = client.get("/").text
    assert 'href="/admin"' in html and "Ada Admin" in html
