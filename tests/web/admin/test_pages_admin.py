"""/admin/pages: list, new, edit, delete, the reserved-slug refusal; /admin/menus; the slug
helper — through HTTP, in English and Chinese."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from model import Article, MenuItem

LANGUAGES = {"en-US": "Site pages", "zh-CN": "页面"}


def page_form(**fields):
    form = {
        "title": "Contact",
        "slug": "",
        "content": "Write to *me*.",
        "summary": "",
        "status": "published",
        "publish_at": "",
        "comments_enabled": "",
    }
    form.update(fields)
    return form


def save_page(client, page_id=None, **fields):
    path = f"/admin/pages/{page_id}/edit" if page_id else "/admin/pages/new"
    response = client.post_form(path, page_form(**fields))
    assert response.status_code == 302, response.text[-2000:]
    match = re.fullmatch(r"/admin/pages/([0-9]+)/edit", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_list_new_edit_delete(live, signed_in, language):
    headers = {"Accept-Language": language}
    editor = signed_in.get("/admin/pages/new", headers=headers)
    assert editor.status_code == 200
    assert 'name="category_id"' not in editor.text and 'name="tags"' not in editor.text
    assert 'value="scheduled"' not in editor.text and 'name="slug"' in editor.text
    assert 'name="comments_enabled"' in editor.text

    page_id = save_page(signed_in, title="Contact")
    page = live.service(lambda s: s.get(Article, page_id))
    assert (page.kind, page.slug, page.status, page.comments_enabled) == (
        "page",
        "contact",
        "published",
        False,
    )
    listing = signed_in.get("/admin/pages", headers=headers)
    assert LANGUAGES[language] in listing.text and "/contact" in listing.text
    assert "Contact" not in signed_in.get("/admin/articles").text

    save_page(signed_in, page_id, title="Contact", slug="write-to-me", comments_enabled="1")
    assert signed_in.get("/write-to-me").status_code == 200
    assert 'id="comment-form"' in signed_in.get("/write-to-me").text

    # The article editor's URL of a page leads to the page editor.
    moved = signed_in.get(f"/admin/articles/{page_id}/edit", allow_redirects=False)
    assert moved.headers["Location"] == f"/admin/pages/{page_id}/edit"

    confirm = signed_in.get(f"/admin/pages/{page_id}/delete", headers=headers)
    assert confirm.status_code == 200
    deleted = signed_in.post_form(f"/admin/pages/{page_id}/delete")
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/admin/pages"
    assert live.service(lambda s: s.get(Article, page_id)) is None
    assert signed_in.get("/write-to-me").status_code == 404


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en-US", "The address /admin belongs to the site itself"),
        ("zh-CN", "地址 /admin 已被网站本身使用"),
    ],
)
def test_a_slug_that_shadows_a_route_is_refused_with_the_text_kept(
    live, signed_in, language, message
):
    response = signed_in.post_form(
        "/admin/pages/new",
        page_form(title="Sneaky", slug="admin", content="kept text"),
        headers={"Accept-Language": language},
    )
    assert response.status_code == 400
    assert message in response.text and "kept text" in response.text
    assert live.service(lambda s: s.scalar(select(Article.id))) is None


def test_a_taken_page_slug_is_refused(live, signed_in):
    save_page(signed_in, title="Contact")
    response = signed_in.post_form("/admin/pages/new", page_form(title="Other", slug="contact"))
    assert response.status_code == 409
    assert "Another page has the address /contact." in response.text


def test_a_chinese_title_gets_a_pinyin_slug(live, signed_in):
    answer = signed_in.get("/admin/slug?title=%E5%85%B3%E4%BA%8E%E6%88%91")
    assert answer.json() == {"slug": "guan-yu-wo"}
    page_id = save_page(signed_in, title="关于我")
    assert live.service(lambda s: s.get(Article, page_id).slug) == "guan-yu-wo"


@pytest.mark.parametrize("language", LANGUAGES)
def test_menus_page_adds_nests_moves_and_deletes_entries(live, signed_in, language):
    headers = {"Accept-Language": language}
    page_id = save_page(signed_in, title="Contact")
    signed_in.post_form("/admin/categories", {"name": "Boats", "in_menu": "1"})
    signed_in.post_form("/admin/menus", {"kind": "link", "label": "More", "url": ""})
    more = live.service(lambda s: s.scalar(select(MenuItem.id).where(MenuItem.label == "More")))
    signed_in.post_form(
        "/admin/menus", {"kind": "page", "page_id": str(page_id), "parent_id": str(more)}
    )
    signed_in.post_form("/admin/menus", {"kind": "link", "label": "Ex", "url": "https://ex.org/"})
    admin = signed_in.get("/admin/menus", headers=headers)
    assert admin.status_code == 200 and "https://ex.org/" in admin.text

    nav = signed_in.get("/", headers=headers).text
    assert '<a href="/category/boats">Boats</a>' in nav
    assert "<summary>More</summary>" in nav and '<a href="/contact">Contact</a>' in nav
    assert '<a href="https://ex.org/" rel="noopener">Ex</a>' in nav

    ex = live.service(lambda s: s.scalar(select(MenuItem.id).where(MenuItem.label == "Ex")))
    signed_in.post_form(f"/admin/menus/{ex}/move", {"direction": "up"})
    order = live.service(
        lambda s: list(
            s.scalars(
                select(MenuItem.label)
                .where(MenuItem.parent_id.is_(None))
                .order_by(MenuItem.sort_order)
            )
        )
    )
    assert order == ["", "Ex", "More"]  # the category shows its own name
    signed_in.post_form(f"/admin/menus/{more}/delete")
    nav = signed_in.get("/").text
    assert "<summary>More</summary>" not in nav and '<a href="/contact">Contact</a>' in nav
