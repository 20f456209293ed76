"""Every admin route: anonymous visitors are sent to sign in, and no POST changes anything
without a signed-in session AND a valid XSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from model import Article, ArticleRevision, Category, Comment, Media, MenuItem, Source, Tag, Widget
from service import editor, media
from service.demo import load_demo_site
from tests.support.live import BlogClient
from tests.web.admin.conftest import png_bytes, snapshot


def _ids(session: Any) -> dict[str, int]:
    def first(model: Any) -> int:
        return session.scalar(select(model.id).order_by(model.id))

    return {
        "article": session.scalar(
            select(Article.id)
            .where(Article.status == "published", Article.kind == "article")
            .order_by(Article.id)
        ),
        "page": session.scalar(select(Article.id).where(Article.kind == "page")),
        "revision": first(ArticleRevision),
        "comment": first(Comment),
        "category": first(Category),
        "menu": first(MenuItem),
        "source": first(Source),
        "tag": first(Tag),
        "widget": first(Widget),
        "media": first(Media),
    }


@pytest.fixture
def site(live: Any, tmp_path: Any) -> dict[str, int]:
    """The demo site plus one revision and one upload: an id for every kind of admin URL."""
    live.service(load_demo_site)
    article_id = live.service(lambda s: _ids(s)["article"])
    form = live.service(
        lambda s: editor.ArticleForm.from_article(editor.load_article(s, article_id))
    )
    form.content += "\n\nOne more line."
    live.service(editor.save_article, article_id, form)
    live.service(media.store_upload, live.app.media, "pixel.png", png_bytes(), 1024 * 1024)
    return live.service(_ids)


def get_routes(ids: dict[str, int]) -> list[str]:
    a, r = ids["article"], ids["revision"]
    return [
        "/admin",
        "/admin/articles",
        "/admin/articles?status=draft&page=1",
        "/admin/articles/new",
        f"/admin/articles/{a}/edit",
        f"/admin/articles/{a}/revisions",
        f"/admin/articles/{a}/revisions/{r}",
        f"/admin/articles/{a}/delete",
        "/admin/pages",
        "/admin/pages/new",
        f"/admin/pages/{ids['page']}/edit",
        f"/admin/pages/{ids['page']}/delete",
        "/admin/slug?title=x",
        "/admin/comments",
        "/admin/categories",
        f"/admin/categories/{ids['category']}/delete",
        f"/admin/sources/{ids['source']}/delete",
        "/admin/menus",
        "/admin/sources",
        "/admin/tags",
        "/admin/widgets",
        f"/admin/widgets/{ids['widget']}",
        "/admin/settings",
        "/admin/media",
        "/admin/account",
        "/admin/export",
        "/admin/export/download",
    ]


def post_routes(ids: dict[str, int]) -> list[tuple[str, dict[str, str]]]:
    a, r, c = ids["article"], ids["revision"], ids["comment"]
    cat, menu, src, tag, w = (ids[k] for k in ("category", "menu", "source", "tag", "widget"))
    article = {"title": "Hijacked", "content": "x", "status": "published"}
    return [
        ("/admin/articles/new", article),
        (f"/admin/articles/{a}/edit", article),
        (f"/admin/articles/{a}/revisions/{r}/restore", {}),
        (f"/admin/articles/{a}/delete", {}),
        ("/admin/preview", {"content": "# hi"}),
        ("/admin/comments/bulk", {"ids": str(c), "action": "delete"}),
        (f"/admin/comments/{c}/spam", {}),
        (f"/admin/comments/{c}/delete", {}),
        (f"/admin/comments/{c}/reply", {"content": "hello"}),
        ("/admin/categories", {"name": "Hijacked"}),
        (f"/admin/categories/{cat}", {"name": "Hijacked"}),
        (f"/admin/categories/{cat}/delete", {}),
        (f"/admin/categories/{cat}/move", {"direction": "down"}),
        ("/admin/pages/new", {**article, "slug": "hijacked"}),
        (f"/admin/pages/{ids['page']}/edit", {**article, "slug": "hijacked"}),
        (f"/admin/pages/{ids['page']}/delete", {}),
        ("/admin/menus", {"kind": "link", "label": "Hijacked", "url": "/x"}),
        (f"/admin/menus/{menu}", {"label": "Hijacked"}),
        (f"/admin/menus/{menu}/delete", {}),
        (f"/admin/menus/{menu}/move", {"direction": "down"}),
        ("/admin/sources", {"code": "hijack", "name": "Hijacked"}),
        (f"/admin/sources/{src}", {"name": "Hijacked"}),
        (f"/admin/sources/{src}/delete", {}),
        (f"/admin/sources/{src}/move", {"direction": "down"}),
        (f"/admin/tags/{tag}/rename", {"name": "Hijacked"}),
        (f"/admin/tags/{tag}/merge", {"target_id": str(tag + 1)}),
        (f"/admin/tags/{tag}/delete", {}),
        ("/admin/widgets", {"kind": "html", "title": "Hijacked", "content": "<b>x</b>"}),
        (f"/admin/widgets/{w}", {"title": "Hijacked", "content": ""}),
        (f"/admin/widgets/{w}/move", {"direction": "down"}),
        (f"/admin/widgets/{w}/disable", {}),
        (f"/admin/widgets/{w}/delete", {}),
        ("/admin/settings", {"title": "Hijacked", "posts_per_page": "5"}),
        (f"/admin/media/{ids['media']}/delete", {}),
        ("/admin/media", {}),
        ("/admin/account", {"display_name": "Hijacked", "email": ""}),
        ("/admin/account/password", {"current_password": "x", "new_password": "y" * 12}),
        ("/admin/export/import", {}),
    ]


def test_anonymous_get_is_sent_to_sign_in_with_next(live, site, client):
    for path in get_routes(site):
        response = client.get(path, allow_redirects=False)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert location.path == "/auth/login", path
        assert parse_qs(location.query)["next"] == [path], path


def test_anonymous_post_with_xsrf_changes_nothing(live, site, client):
    before = snapshot(live)
    for path, data in post_routes(site):
        response = client.post_form(path, data)
        assert response.status_code == 403, path
    assert snapshot(live) == before


def test_signed_in_post_without_xsrf_changes_nothing(live, site, signed_in):
    before = snapshot(live)
    for path, data in post_routes(site):
        response = signed_in.post(path, data=data)
        assert response.status_code == 403, path
        forged = signed_in.post(path, data={**data, "_xsrf": "forged-token"})
        assert forged.status_code == 403, path
    assert snapshot(live) == before


def test_every_admin_page_opens_for_the_author(live, site, signed_in):
    for path in get_routes(site):
        response = signed_in.get(path, allow_redirects=False)
        assert response.status_code == 200, path
        assert "Traceback" not in response.text
        assert response.headers["Cache-Control"] == "no-store"


def test_a_session_that_is_not_signed_in_cannot_post(live, site):
    # A visitor with a session (a flash, say) but no user is still refused.
    client = BlogClient(live.url)
    client.post_form("/auth/logout")
    before = snapshot(live)
    assert client.post_form("/admin/settings", {"title": "Hijacked"}).status_code == 403
    assert snapshot(live) == before
