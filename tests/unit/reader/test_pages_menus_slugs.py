"""Pages, menu entries, slugs and old slugs, per-listing feeds and the sitemap, on SQLite and
MariaDB."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import main
from model import Article, MenuItem
from service import articles, editor, feeds, menus, navigation, search, slugs, taxonomy
from service.editor import ArticleForm
from service.errors import Conflict, Invalid, NotFound
from service.menus import MenuItemForm


def save_page(db, page_id=None, **fields):
    form = ArticleForm(**{"status": "published", "content": "Hello from a page.", **fields})
    return editor.save_article(db, page_id, form, kind="page")


def save_post(db, article_id=None, **fields):
    form = ArticleForm(**{"status": "published", "content": "An article.", **fields})
    return editor.save_article(db, article_id, form)


def test_reserved_slugs_cover_every_first_segment_of_the_route_table():
    table = main.route_table()
    assert table[-1][0] == r"/([^/]{1,200})"  # pages come last: every route wins over a slug
    # Tornado's own static rules come before the table.
    segments = {"static", r"favicon\.ico", r"robots\.txt"}
    segments |= {pattern[1:].split("/")[0] for pattern, *_ in table[:-1]} - {""}
    for segment in segments:
        reserved = [slug for slug in slugs.RESERVED_SLUGS if re.fullmatch(segment, slug)]
        assert reserved, f"no reserved slug for /{segment}"
        if re.fullmatch(r"[a-z0-9_-]+", segment):
            assert segment in slugs.RESERVED_SLUGS


def test_a_page_is_served_by_slug_and_never_listed(db):
    about = save_page(db, title="About me", slug="about")
    post = save_post(db, title="First post")
    assert about.kind == "page" and about.slug == "about" and not about.comments_enabled
    assert about.category_id is None
    shown = articles.page_by_slug(db, "about")
    assert shown.article.id == about.id and "Hello from a page." in shown.article.content_html
    assert shown.summary.url == "/about"
    listed = [item.id for item in articles.list_published(db, 1, 10).items]
    assert listed == [post.id]
    assert [entry.article.id for entry in feeds.feed_entries(db)] == [post.id]
    assert sum(month.count for month in articles.archive_months(db)) == 1
    # Search finds published pages too, as WordPress does.
    search.refresh_index(db)
    hits = search.search_articles(db, "page", 1, 10).hits
    assert [hit.article.url for hit in hits] == ["/about"]
    with pytest.raises(NotFound):
        articles.page_by_slug(db, "nothing-here")


def test_a_draft_page_is_not_served(db):
    save_page(db, title="Contact", slug="contact", status="draft")
    with pytest.raises(NotFound):
        articles.page_by_slug(db, "contact")


@pytest.mark.parametrize("slug", ["admin", "feed-atom", "tag", "category", "search"])
def test_a_slug_that_would_shadow_a_route_is_refused(db, slug):
    if slug == "feed-atom":
        slug = "feed.atom"  # cleaned to feed-atom, which is free
        assert save_page(db, title="Feed", slug=slug).slug == "feed-atom"
        return
    with pytest.raises(Invalid) as refused:
        save_page(db, title="Sneaky", slug=slug)
    assert f"/{slug} belongs to the site itself" in str(refused.value)


def test_page_slugs_are_unique_among_pages_only(db):
    save_page(db, title="About", slug="about")
    with pytest.raises(Conflict):
        save_page(db, title="About again", slug="about")
    # An article may share it: its URL is /article/<id>/<slug>.
    assert save_post(db, title="About", slug="about").slug == "about"


def test_slugs_come_from_titles_in_pinyin_and_can_be_edited(db):
    post = save_post(db, title="用 Tornado 写博客")
    assert post.slug == "yong-tornado-xie-bo-ke"
    edited = save_post(db, post.id, title="用 Tornado 写博客", slug="Tornado Blog")
    assert edited.slug == "tornado-blog"
    assert slugs.moved_to(db, "article", "yong-tornado-xie-bo-ke") == post.id


def test_an_old_page_slug_moves_to_the_current_one(db):
    page = save_page(db, title="About", slug="about")
    save_page(db, page.id, title="About", slug="about-me")
    moved = articles.page_by_slug(db, "about")
    assert moved == articles.MovedTo("/about-me")
    # Another page may take the old slug back: then it is that page's address.
    other = save_page(db, title="New about", slug="about")
    assert articles.page_by_slug(db, "about").article.id == other.id


def test_deleting_a_page_removes_its_menu_entry_and_old_slugs(db):
    page = save_page(db, title="About", slug="about")
    save_page(db, page.id, title="About", slug="who")
    menus.create_item(db, MenuItemForm(kind="page", page_id=str(page.id)))
    editor.delete_article(db, page.id)
    assert db.scalar(select(MenuItem.id)) is None
    assert slugs.moved_to(db, "page", "about") is None


def test_categories_get_unique_slugs_and_keep_old_ones(db):
    first = taxonomy.create_category(db, "Python 入门")
    second = taxonomy.create_category(db, "Python 入门")
    digits = taxonomy.create_category(db, "2024")
    assert (first.slug, second.slug, digits.slug) == (
        "python-ru-men",
        "python-ru-men-2",
        "category-2024",
    )
    with pytest.raises(Conflict):
        taxonomy.update_category(db, second.id, "Python", "", "python-ru-men", False)
    with pytest.raises(Invalid):
        taxonomy.update_category(db, second.id, "Python", "", "1234", False)
    taxonomy.update_category(db, first.id, "Python", "", "python", False)
    assert articles.find_category(db, "python").id == first.id
    assert articles.find_category(db, "python-ru-men") == articles.MovedTo("/category/python")
    assert articles.find_category(db, str(first.id)) == articles.MovedTo("/category/python")
    with pytest.raises(NotFound):
        articles.find_category(db, "never")


def test_menu_entries_of_every_kind_nest_one_level(db):
    guides = taxonomy.create_category(db, "Guides")
    hidden = taxonomy.create_category(db, "Secret")
    taxonomy.update_category(db, hidden.id, "Secret", "", "", True)
    about = save_page(db, title="About", slug="about")
    draft = save_page(db, title="Later", slug="later", status="draft")
    more = menus.create_item(db, MenuItemForm(kind="link", label="More"))
    menus.create_item(db, MenuItemForm(kind="page", page_id=str(about.id), parent_id=str(more.id)))
    menus.create_item(
        db, MenuItemForm(kind="link", label="Tornado", url="https://www.tornadoweb.org/")
    )
    menus.create_item(db, MenuItemForm(kind="category", category_id=str(guides.id)))
    menus.create_item(db, MenuItemForm(kind="category", category_id=str(hidden.id)))
    menus.create_item(db, MenuItemForm(kind="page", page_id=str(draft.id)))
    nav = navigation.navigation(db)
    assert [(item.label, item.url, item.external) for item in nav.items] == [
        ("More", "", False),
        ("Tornado", "https://www.tornadoweb.org/", True),
        ("Guides", "/category/guides", False),
    ]
    assert [(child.label, child.url) for child in nav.items[0].children] == [("About", "/about")]

    # An entry with entries under it cannot go under another one (one level only).
    tornado = db.scalar(select(MenuItem).where(MenuItem.label == "Tornado"))
    with pytest.raises(Invalid):
        menus.update_item(db, more.id, MenuItemForm(label="More", parent_id=str(tornado.id)))
    menus.move_item(db, tornado.id, "up")
    assert navigation.navigation(db).items[0].label == "Tornado"
    menus.delete_item(db, more.id)
    assert [item.label for item in navigation.navigation(db).items] == [
        "Tornado",
        "Guides",
        "About",
    ]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "//evil.example/x", "data:text/html,x", "ftp://x.org/", "a b"],
)
def test_a_link_must_be_http_or_relative(db, url):
    with pytest.raises(Invalid):
        menus.create_item(db, MenuItemForm(kind="link", label="Bad", url=url))


def test_per_listing_feeds_and_the_sitemap(db):
    python = taxonomy.create_category(db, "Python")
    in_python = save_post(db, title="Decorators", category_id=str(python.id), tags="tips")
    elsewhere = save_post(db, title="Gardening", tags="outdoors")
    save_page(db, title="About", slug="about")
    feed = feeds.category_feed(db, "python")
    assert feed.path == "/category/python"
    assert [entry.article.id for entry in feed.entries] == [in_python.id]
    assert feeds.category_feed(db, str(python.id)) == articles.MovedTo("/category/python")
    assert [entry.article.id for entry in feeds.tag_feed(db, "outdoors").entries] == [elsewhere.id]
    with pytest.raises(NotFound):
        feeds.tag_feed(db, "nothing")
    paths = {path for path, _ in feeds.sitemap_entries(db)}
    assert {
        "/about",
        "/category/python",
        "/tag/tips",
        "/tag/outdoors",
        f"/article/{in_python.id}/decorators",
    } <= paths
    assert db.scalar(select(Article.kind).where(Article.slug == "about")) == "page"
