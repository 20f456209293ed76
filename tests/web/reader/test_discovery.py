"""Feeds, the sitemap, robots.txt and search through HTTP."""

import xml.etree.ElementTree as ET

import feedparser
from sqlalchemy import select

from model import Article
from tests.support.live import page_text
from tests.web.reader.conftest import main_text

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def published(live):
    return live.service(
        lambda s: s.scalars(
            select(Article).where(Article.status == "published", Article.kind == "article")
        ).all()
    )


def test_atom_and_rss_parse_cleanly_with_full_content(site, client):
    for path, content_type in (("/feed.atom", "application/atom+xml"), ("/feed.rss", "rss")):
        response = client.get(path)
        assert response.status_code == 200
        assert content_type in response.headers["Content-Type"]
        feed = feedparser.parse(response.content)
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        titles = [entry.title for entry in feed.entries]
        assert "Welcome to Inkwell" in titles and "用 Tornado 写博客" in titles
        assert "Passwords with argon2id" not in titles
        entry = next(e for e in feed.entries if e.title == "Writing in Markdown")
        assert entry.link.startswith(client.base_url + "/article/")
        body = entry.content[0].value if "content" in entry else entry.description
        assert "Footnotes collect at the bottom" in body  # the full text, not a summary


def test_the_sitemap_lists_every_published_article_and_no_draft(site, client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    urls = {node.findtext(f"{SITEMAP}loc") for node in root.findall(f"{SITEMAP}url")}
    assert all(node.findtext(f"{SITEMAP}lastmod") for node in root.findall(f"{SITEMAP}url"))
    articles = published(site)
    assert len(articles) == 11
    for article in articles:
        assert f"{client.base_url}/article/{article.id}/{article.slug}" in urls
    assert not any("passwords-with-argon2id" in url for url in urls)


def test_robots_txt_points_to_the_sitemap(site, client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert f"Sitemap: {client.base_url}/sitemap.xml" in response.text
    assert "Disallow: /admin" in response.text


def test_search_finds_an_english_word(site, client):
    response = client.get("/search?q=nginx")
    assert response.status_code == 200
    text = main_text(response.text)
    assert "How sessions survive behind nginx" in text
    assert "<mark>nginx</mark>" in response.text


def test_search_finds_a_chinese_word_in_the_middle_of_a_sentence(site, client):
    response = client.get("/search", params={"q": "线程池"})
    assert response.status_code == 200
    assert "用 Tornado 写博客" in main_text(response.text)
    assert "<mark>线程池</mark>" in response.text
    two_characters = client.get("/search", params={"q": "博客"})
    assert "用 Tornado 写<mark>博客</mark>" in two_characters.text  # the title, highlighted


def test_search_explains_empty_and_overlong_queries(site, client):
    empty = client.get("/search?q=")
    assert empty.status_code == 200 and "Type a word to search for." in empty.text
    long = client.get("/search", params={"q": "word " * 40})
    assert long.status_code == 400
    assert "at most 100 characters" in long.text
    assert 'value="word word' in long.text  # the query stays in the box
    symbols = client.get("/search", params={"q": "%%% ___"})
    assert symbols.status_code == 400 and "Traceback" not in symbols.text
    nothing = client.get("/search?q=zzzzqqqq")
    assert nothing.status_code == 200 and "Nothing matches" in page_text(nothing.text)


def test_search_results_are_paginated(site, client):
    from tests.web.reader.conftest import set_site

    set_site(site, posts_per_page=2)
    first = client.get("/search?q=redis")
    assert first.text.count('class="card"') == 2
    assert "/search?q=redis&amp;page=2" in first.text
    assert client.get("/search?q=redis&page=2").status_code == 200
    assert client.get("/search?q=redis&page=99").status_code == 404
