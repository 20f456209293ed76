"""Writing through HTTP: the 409 conflict page, autosave endpoints, settings of time and look."""

from __future__ import annotations

from tests.web.admin.conftest import article_form, save_article


def test_a_stale_save_gets_the_conflict_page(live, signed_in):
    article_id = save_article(signed_in, title="Shared", content="one")
    path = f"/admin/articles/{article_id}/edit"
    save_article(signed_in, article_id, title="Shared", content="theirs", version="1")
    refused = signed_in.post_form(path, article_form(title="Shared", content="mine", version="1"))
    assert refused.status_code == 409
    assert "changed since you opened it" in refused.text
    assert "mine" in refused.text and "diff-add" in refused.text


def test_autosave_needs_xsrf_and_refuses_oversized_text(live, signed_in):
    assert signed_in.post("/admin/articles/new/autosave", data={"title": "x"}).status_code == 403
    ok = signed_in.post_form("/admin/articles/new/autosave", {"title": "Draft", "content": "x"})
    assert ok.status_code == 200 and ok.json()["saved_at"].endswith("Z")
    big = signed_in.post_form("/admin/articles/new/autosave", {"content": "x" * 600_000})
    assert big.status_code == 400
    editor = signed_in.get("/admin/articles/new")
    assert "Restore it" in editor.text


def test_settings_time_zone_css_and_trusted_code(live, signed_in):
    form = {
        "title": "Inkwell",
        "posts_per_page": "10",
        "comment_mode": "open",
        "language": "auto",
        "navbar_style": "light",
        "time_zone": "Mars/Base",
    }
    assert signed_in.post_form("/admin/settings", form).status_code == 400
    form.update(
        time_zone="Asia/Shanghai",
        accent_color="#112233",
        custom_css="@import url(x.css); a { color: red }",
        header_code="<script>var a = 1;</script>",
    )
    assert signed_in.post_form("/admin/settings", form).status_code == 302
    home = signed_in.get("/")
    assert "'sha256-" in home.headers["Content-Security-Policy"]
    sheet = signed_in.get("/site.css")
    assert sheet.headers["Content-Type"].startswith("text/css")
    assert "--accent: #112233" in sheet.text and "@import" not in sheet.text
    save_article(signed_in, title="Dated", status="published", publish_at="2020-01-01T07:30")
    assert "2020-01-01 07:30 CST" in signed_in.get("/admin/articles").text
