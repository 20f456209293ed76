"""Pages at /<slug>, the menu in the header, readable URLs and their 301s, per-listing feeds,
the sitemap and /favicon.ico, through HTTP, in English and Chinese."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import feedparser
import pytest
from sqlalchemy import select

from model import Article, Category
from service import editor, menus, taxonomy
from service.editor import ArticleForm
from tests.web.reader.conftest import article_by_slug, category_by_name, invalidate, main_text

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
LANGUAGES = [("en-US", "Home"), ("zh-CN,zh;q=0.9", "首页")]


def about_page(live) -> Article:
    return live.service(
        lambda s: s.scalar(select(Article).where(Article.kind == "page", Article.slug == "about"))
    )


@pytest.mark.parametrize(("language", "home_label"), LANGUAGES)
def test_a_page_is_served_at_its_slug_without_date_or_category(site, client, language, home_label):
    response = client.get("/about", headers={"Accept-Language": language})
    assert response.status_code == 200
    text = main_text(response.text)
    assert "About" in text and "Inkwell is a self-hosted blog" in text
    assert "<time" not in response.text.split("<main", 1)[1].split("</main>")[0]
    assert 'id="comment-form"' not in response.text  # pages take no comments by default
    assert f'<a href="/">{home_label}</a>' in response.text


@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
def test_an_unknown_slug_is_a_404(site, client, language):
    response = client.get("/no-such-page", headers={"Accept-Language": language})
    assert response.status_code == 404
    assert "Traceback" not in response.text


def test_a_page_stays_out_of_home_feeds_and_archive(site, client):
    assert "/about" not in main_text(client.get("/").text)
    for path in ("/feed.atom", "/feed.rss"):
        titles = [entry.title for entry in feedparser.parse(client.get(path).content).entries]
        assert "About" not in titles and titles
    page = about_page(site)
    month = client.get(page.publish_at.strftime("/archive/%Y/%m"))
    # The page's month lists only the articles of that month (or nothing: 404).
    assert month.status_code in (200, 404)
    assert 'href="/about"' not in month.text.split("<main", 1)[-1].split("</main>")[0]
    counts = re.findall(r"(\d+) articles?", main_text(client.get("/archive").text))
    assert sum(int(n) for n in counts) == 11  # the sample site's articles; the page not among them


def test_a_pages_old_urls_answer_301(site, client, signed_in_admin):
    page = about_page(site)
    for old in (f"/article/{page.id}", f"/article/{page.id}/about"):
        response = client.get(old, allow_redirects=False)
        assert response.status_code == 301, old
        assert response.headers["Location"] == "/about"
    form = site.service(lambda s: ArticleForm.from_article(editor.load_article(s, page.id)))
    form.slug = "who-we-are"
    changed = signed_in_admin.post_form(f"/admin/pages/{page.id}/edit", vars(form))
    assert changed.status_code == 302
    moved = client.get("/about?utm=x", allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == "/who-we-are?utm=x"
    assert client.get("/who-we-are").status_code == 200


def test_an_articles_old_urls_answer_301(site, client, signed_in_admin):
    article = article_by_slug(site, "writing-in-markdown")
    form = site.service(lambda s: ArticleForm.from_article(editor.load_article(s, article.id)))
    form.slug = "markdown"
    assert signed_in_admin.post_form(f"/admin/articles/{article.id}/edit", vars(form)).status_code
    current = f"/article/{article.id}/markdown"
    for old in (f"/article/{article.id}", f"/article/{article.id}/writing-in-markdown"):
        response = client.get(old, allow_redirects=False)
        assert response.status_code == 301 and response.headers["Location"] == current
    assert client.get(current).status_code == 200


def test_category_urls_by_slug_and_their_old_forms(site, client):
    category = category_by_name(site, "Architecture")
    assert category.slug == "architecture"
    assert "How sessions survive behind nginx" in main_text(
        client.get("/category/architecture").text
    )
    response = client.get(f"/category/{category.id}?page=1", allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"] == "/category/architecture?page=1"
    site.service(taxonomy.update_category, category.id, "Architecture", "", "design", False)
    invalidate(site, "nav", "articles", "pages")
    old = client.get("/category/architecture", allow_redirects=False)
    assert old.status_code == 301 and old.headers["Location"] == "/category/design"
    assert client.get("/category/never-was").status_code == 404


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_category_and_tag_feeds_are_announced_and_parse(site, client, kind):
    listing = client.get("/category/architecture").text
    assert f'rel="alternate" type="application/{kind}+xml"' in listing
    assert f'href="/category/architecture/feed.{kind}"' in listing
    feed = feedparser.parse(client.get(f"/category/architecture/feed.{kind}").content)
    assert not feed.bozo, feed.get("bozo_exception")
    titles = {entry.title for entry in feed.entries}
    assert "How sessions survive behind nginx" in titles and "Welcome to Inkwell" not in titles
    category = category_by_name(site, "Architecture")
    moved = client.get(f"/category/{category.id}/feed.{kind}", allow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"/category/architecture/feed.{kind}"

    tag_page = client.get("/tag/%E4%B8%AD%E6%96%87").text
    assert f'href="/tag/%E4%B8%AD%E6%96%87/feed.{kind}"' in tag_page
    tag_feed = feedparser.parse(client.get(f"/tag/%E4%B8%AD%E6%96%87/feed.{kind}").content)
    assert not tag_feed.bozo
    tagged = {entry.title for entry in tag_feed.entries}
    assert "用 Tornado 写博客" in tagged and "Welcome to Inkwell" not in tagged
    assert client.get(f"/tag/no-such-tag/feed.{kind}").status_code == 404


@pytest.mark.parametrize(("language", "home_label"), LANGUAGES)
def test_the_header_shows_categories_pages_and_links_nested(site, client, language, home_label):
    html = client.get("/archive", headers={"Accept-Language": language}).text
    nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
    assert "<summary>Guides</summary>" in nav  # a heading with its categories under it
    assert '<a href="/category/getting-started">Getting Started</a>' in nav
    assert '<a href="/about">About</a>' in nav
    assert '<a href="https://www.tornadoweb.org/" rel="noopener">Tornado</a>' in nav
    assert f'<a href="/">{home_label}</a>' in nav


def test_menu_changes_reach_the_header_at_once(site, client, signed_in_admin):
    assert "Contact us" not in client.get("/").text  # now cached
    about = about_page(site)
    heading = signed_in_admin.post_form(
        "/admin/menus", {"kind": "link", "label": "Contact us", "url": "/about"}
    )
    assert heading.status_code == 302
    parent = site.service(lambda s: menus.menu_page(s).rows[-1].item.id)
    signed_in_admin.post_form(
        "/admin/menus",
        {"kind": "page", "page_id": str(about.id), "label": "Who", "parent_id": str(parent)},
    )
    refused = signed_in_admin.post_form(
        "/admin/menus", {"kind": "link", "label": "Evil", "url": "javascript:alert(1)"}
    )
    assert refused.status_code == 400 and "must start with http://" in refused.text
    assert 'value="javascript:alert(1)"' in refused.text  # what was typed is kept
    nav = client.get("/").text
    assert "<summary>Contact us</summary>" in nav
    assert '<a href="/about">Contact us</a>' in nav and '<a href="/about">Who</a>' in nav
    assert "Evil" not in nav


def test_the_sitemap_lists_home_articles_pages_categories_and_tags(site, client):
    root = ET.fromstring(client.get("/sitemap.xml").content)
    entries = {
        node.findtext(f"{SITEMAP}loc"): node.findtext(f"{SITEMAP}lastmod")
        for node in root.findall(f"{SITEMAP}url")
    }
    base = client.base_url
    for path in ("/", "/about", "/category/architecture", "/tag/%E4%B8%AD%E6%96%87"):
        assert base + path in entries, path
    article = article_by_slug(site, "writing-in-markdown")
    assert f"{base}/article/{article.id}/writing-in-markdown" in entries
    assert all(entries.values())  # every entry has its lastmod


def test_favicon_is_the_site_icon_with_a_long_cache(site, client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age=" in response.headers["Cache-Control"]
    assert int(response.headers["Cache-Control"].split("max-age=")[1].split(",")[0]) >= 86400


def test_search_finds_published_pages(site, client):
    response = client.get("/search?q=self-hosted")
    assert response.status_code == 200
    assert 'href="/about"' in response.text


def test_a_page_that_takes_comments_shows_the_form_and_keeps_them(site, client):
    def open_comments(session):
        page = session.scalar(select(Article).where(Article.slug == "about"))
        page.comments_enabled = True
        session.commit()

    site.service(open_comments)
    invalidate(site, "pages", "articles")
    page = client.get("/about").text
    assert (
        'id="comment-form"' in page and f'action="/article/{about_page(site).id}/comment"' in page
    )


@pytest.fixture
def signed_in_admin(auth):
    assert auth.login().status_code == 302
    return auth.client


def test_new_categories_join_the_menu_when_asked(site, client, signed_in_admin):
    signed_in_admin.post_form("/admin/categories", {"name": "Boats", "in_menu": "1"})
    signed_in_admin.post_form("/admin/categories", {"name": "Cars"})
    nav = client.get("/").text
    assert '<a href="/category/boats">Boats</a>' in nav and "/category/cars" not in nav
    assert site.service(menus.menu_page).rows[-1].target_name == "Boats"
    cars = site.service(lambda s: s.scalar(select(Category.slug).where(Category.name == "Cars")))
    assert cars == "cars" and client.get("/category/cars").status_code == 200
