"""Categories, menus, sources, tags, widgets, settings: each change is on the next reader page."""

from __future__ import annotations

from sqlalchemy import select

from model import Article, Category, MenuItem, Tag, Widget
from tests.support.live import BlogClient, page_text
from tests.web.admin.conftest import save_article


def home_text(live) -> str:
    return page_text(BlogClient(live.url).get("/").text)


def names(live, model) -> list[str]:
    return live.service(
        lambda s: list(s.scalars(select(model.name).order_by(model.sort_order, model.id)))
    )


def labels(live) -> list[str]:
    return live.service(
        lambda s: list(s.scalars(select(MenuItem.label).order_by(MenuItem.sort_order, MenuItem.id)))
    )


def category_id(live, name) -> int:
    return live.service(lambda s: s.scalar(select(Category.id).where(Category.name == name)))


def test_settings_change_the_site_at_once(live, signed_in):
    assert "Inkwell" in home_text(live)
    response = signed_in.post_form(
        "/admin/settings",
        {
            "title": "Notes from the harbour",
            "signature": "Boats and code",
            "navbar_style": "dark",
            "footer": "Footer words",
            "posts_per_page": "5",
            "comment_mode": "moderated",
            "language": "auto",
        },
    )
    assert response.status_code == 302
    text = home_text(live)
    assert "Notes from the harbour" in text and "Boats and code" in text


def test_refused_settings_keep_what_was_typed(live, signed_in):
    response = signed_in.post_form(
        "/admin/settings",
        {
            "title": "Typed title",
            "posts_per_page": "1000",
            "navbar_style": "light",
            "comment_mode": "open",
            "language": "auto",
        },
    )
    assert response.status_code == 400
    assert "from 1 to 100" in response.text and 'value="Typed title"' in response.text
    assert "Typed title" not in home_text(live)


def test_categories_create_rename_reorder_hide_delete(live, signed_in):
    for name in ("Travel", "Cooking"):
        assert signed_in.post_form("/admin/categories", {"name": name}).status_code == 302
    assert names(live, Category) == ["Travel", "Cooking"]
    travel, cooking = category_id(live, "Travel"), category_id(live, "Cooking")
    article_id = save_article(signed_in, title="Paris", status="published", category_id=str(travel))
    assert "Travel" in home_text(live)

    signed_in.post_form(f"/admin/categories/{cooking}/move", {"direction": "up"})
    assert names(live, Category) == ["Cooking", "Travel"]

    signed_in.post_form(
        f"/admin/categories/{travel}", {"name": "Journeys", "intro": "", "slug": ""}
    )
    assert "Journeys" in home_text(live)
    signed_in.post_form(
        f"/admin/categories/{travel}",
        {"name": "Journeys", "intro": "", "slug": "", "hidden": "1"},
    )
    assert live.service(lambda s: s.get(Category, travel).hidden) is True

    confirm = signed_in.get(f"/admin/categories/{travel}/delete")
    assert "Where should it go?" in confirm.text
    deleted = signed_in.post_form(f"/admin/categories/{travel}/delete", {"move_to": str(cooking)})
    assert deleted.status_code == 302
    assert live.service(lambda s: s.get(Article, article_id).category_id) == cooking
    assert names(live, Category) == ["Cooking"]


def test_refused_category_keeps_the_typed_text(live, signed_in):
    response = signed_in.post_form("/admin/categories", {"name": "x" * 80, "intro": "kept intro"})
    assert response.status_code == 400
    assert 'value="kept intro"' in response.text


def test_menus_and_sources(live, signed_in):
    signed_in.post_form("/admin/menus", {"kind": "link", "label": "Life", "url": "/life"})
    signed_in.post_form("/admin/menus", {"kind": "link", "label": "Work", "url": "/work"})
    work = live.service(lambda s: s.scalar(select(MenuItem.id).where(MenuItem.label == "Work")))
    signed_in.post_form(f"/admin/menus/{work}/move", {"direction": "up"})
    assert labels(live) == ["Work", "Life"]
    signed_in.post_form(f"/admin/menus/{work}", {"label": "Job", "url": "/job"})
    assert labels(live) == ["Job", "Life"]
    signed_in.post_form(f"/admin/menus/{work}/delete")
    assert labels(live) == ["Life"]

    assert (
        signed_in.post_form("/admin/sources", {"code": "guest", "name": "Guest post"}).status_code
        == 302
    )
    duplicate = signed_in.post_form("/admin/sources", {"code": "guest", "name": "Again"})
    assert duplicate.status_code == 409 and 'value="Again"' in duplicate.text
    assert "Guest post" in signed_in.get("/admin/sources").text


def test_tags_rename_merge_delete(live, signed_in):
    first = save_article(signed_in, title="One", status="published", tags="pyhton, web")
    second = save_article(signed_in, title="Two", status="published", tags="python")

    def tag_id(name):
        return live.service(lambda s: s.scalar(select(Tag.id).where(Tag.name == name)))

    # Renaming to a name that exists merges the two tags.
    signed_in.post_form(f"/admin/tags/{tag_id('pyhton')}/rename", {"name": "python"})
    assert sorted(live.service(lambda s: list(s.scalars(select(Tag.name))))) == ["python", "web"]
    listing = page_text(signed_in.get("/admin/tags").text)
    assert "python" in listing
    signed_in.post_form(f"/admin/tags/{tag_id('web')}/rename", {"name": "internet"})
    signed_in.post_form(
        f"/admin/tags/{tag_id('internet')}/merge", {"target_id": str(tag_id("python"))}
    )
    signed_in.post_form(f"/admin/tags/{tag_id('python')}/delete")
    assert live.service(lambda s: list(s.scalars(select(Tag.name)))) == []
    assert first and second


def test_widgets_create_edit_reorder_disable(live, signed_in):
    created = signed_in.post_form(
        "/admin/widgets",
        {
            "kind": "html",
            "title": "Hello box",
            "content": '<p>Hi <script>alert(1)</script><a href="javascript:x">l</a></p>',
        },
    )
    assert created.status_code == 302
    signed_in.post_form("/admin/widgets", {"kind": "recent_articles", "title": ""})
    widgets = live.service(lambda s: s.scalars(select(Widget).order_by(Widget.sort_order)).all())
    assert [w.title for w in widgets] == ["Hello box", "Recent articles"]
    html_widget = widgets[0]
    assert "<script" not in html_widget.content and "javascript:" not in html_widget.content
    assert "Hello box" in home_text(live)

    signed_in.post_form(f"/admin/widgets/{html_widget.id}/move", {"direction": "down"})
    order = live.service(
        lambda s: list(s.scalars(select(Widget.title).order_by(Widget.sort_order)))
    )
    assert order == ["Recent articles", "Hello box"]

    signed_in.post_form(
        f"/admin/widgets/{html_widget.id}",
        {"title": "Greetings", "content": "<b>hi</b>", "enabled": "1"},
    )
    assert "Greetings" in home_text(live)
    signed_in.post_form(f"/admin/widgets/{html_widget.id}/disable")
    assert "Greetings" not in home_text(live)
    signed_in.post_form(f"/admin/widgets/{html_widget.id}/enable")
    assert "Greetings" in home_text(live)
    signed_in.post_form(f"/admin/widgets/{html_widget.id}/delete")
    assert "Greetings" not in home_text(live)

    refused = signed_in.post_form(
        "/admin/widgets", {"kind": "html", "title": "", "content": "<i>kept</i>"}
    )
    assert refused.status_code == 400 and "&lt;i&gt;kept&lt;/i&gt;" in refused.text


def test_opening_an_items_own_url_shows_its_list_not_an_error(live, signed_in):
    """/admin/categories/<id> (and menus, sources) take their form's POST; a visit is no 500."""
    signed_in.post_form("/admin/categories", {"name": "Boats", "intro": ""})
    item = category_id(live, "Boats")
    for kind in ("categories", "menus", "sources"):
        response = signed_in.get(f"/admin/{kind}/{item}", allow_redirects=False)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/admin/{kind}"
