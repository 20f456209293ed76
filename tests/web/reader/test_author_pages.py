"""An author's page at /author/<username>: their articles, paged, the byline linking there,
and their Atom and RSS feeds announced and parsed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import feedparser
import pytest

from service import editor, roles, users
from service.editor import ArticleForm
from tests.support.live import BlogClient
from tests.web.reader.conftest import invalidate, set_site

PASSWORD = "violet-harbour-lantern-42"
ATOM = "{http://www.w3.org/2005/Atom}"


def card_titles(page: str) -> list[str]:
    """The titles of the listing's cards (not the sidebar's)."""
    return re.findall(r'class="card-title"><a href="[^"]+">([^<]+)</a>', page)


@pytest.fixture
def authors(site):
    """Ann (an author, three published articles and a draft) and Bob (one article)."""
    ann = site.service(users.create_admin, "ann", PASSWORD, "Ann Writer", "", roles.AUTHOR)
    bob = site.service(users.create_admin, "bob", PASSWORD, "Bob", "", roles.EDITOR)
    for number in range(1, 4):
        form = ArticleForm(title=f"Ann's story {number}", content="Words.", status="published")
        site.service(editor.save_article, None, form, ann.id)
    draft = ArticleForm(title="Ann's secret draft", content="Not yet.", status="draft")
    site.service(editor.save_article, None, draft, ann.id)
    form = ArticleForm(title="Bob's only story", content="Words.", status="published")
    site.service(editor.save_article, None, form, bob.id)
    invalidate(site, "articles")
    return ann, bob


def test_the_author_page_lists_their_published_articles_paged(site, client, authors):
    set_site(site, posts_per_page=2)
    first = client.get("/author/ann")
    assert first.status_code == 200
    assert "Ann Writer" in first.text
    second = client.get("/author/ann?page=2")
    assert second.status_code == 200
    shown = card_titles(first.text) + card_titles(second.text)
    assert shown == ["Ann&#x27;s story 3", "Ann&#x27;s story 2", "Ann&#x27;s story 1"]
    assert client.get("/author/ann?page=3").status_code == 404
    assert client.get("/author/nobody").status_code == 404


def test_the_byline_links_to_the_author_page(site, client, authors):
    home = client.get("/").text
    assert 'href="/author/ann"' in home and 'href="/author/bob"' in home
    listing = client.get("/author/bob").text
    article_path = listing.split('class="card-title"><a href="')[1].split('"')[0]
    article = client.get(article_path).text
    assert 'rel="author" href="/author/bob"' in article


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_the_author_feeds_are_announced_and_parse(site, client, authors, kind):
    page = client.get("/author/ann").text
    assert f'rel="alternate" type="application/{kind}+xml"' in page
    assert f'href="/author/ann/feed.{kind}"' in page
    response = client.get(f"/author/ann/feed.{kind}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(f"application/{kind}+xml")
    root = ET.fromstring(response.content)
    if kind == "atom":
        titles = {entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")}
    else:
        titles = {item.findtext("title") for item in root.iter("item")}
    assert titles == {"Ann's story 1", "Ann's story 2", "Ann's story 3"}
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert "Ann Writer" in feed.feed.title
    assert client.get(f"/author/nobody/feed.{kind}").status_code == 404


def test_the_profile_bio_and_name_show_on_the_author_page(site, authors):
    ann = BlogClient(site.url)
    login = ann.post_form(
        "/auth/login", {"username": "ann", "password": PASSWORD, "next": "/admin"}
    )
    assert login.status_code == 302
    saved = ann.post_form(
        "/admin/account",
        {
            "display_name": "Ann Q. Writer",
            "email": "ann@example.org",
            "bio": "I write <short> stories.",
        },
    )
    assert saved.status_code == 302
    invalidate(site, "articles", "pages")
    page = BlogClient(site.url).get("/author/ann").text
    assert "Ann Q. Writer" in page and "I write &lt;short&gt; stories." in page
    too_long = ann.post_form(
        "/admin/account", {"display_name": "Ann", "email": "", "bio": "x" * 2001}
    )
    assert too_long.status_code == 400
