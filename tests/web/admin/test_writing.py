"""Writing through HTTP: the 409 conflict page, autosave endpoints, settings of time and look."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.live import BlogClient
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


def _anonymous(live: Any) -> BlogClient:
    return BlogClient(live.url)


def test_search_snippets_show_the_words_not_their_markdown(live, signed_in):
    save_article(
        signed_in,
        title="Marked up",
        status="published",
        content="# A heading\n\nSome **bold** words about a quokka, and `code`.\n\n## More",
    )
    page = _anonymous(live).get("/search?q=quokka")
    assert page.status_code == 200
    card = page.text[page.text.index("Marked up") :]
    snippet = card[: card.index("</article>")]
    assert "quokka" in snippet and "bold" in snippet
    assert "**" not in snippet and "# A heading" not in snippet and "`" not in snippet


def test_the_qr_confirm_page_names_the_browser_and_system_in_words(live, admin):
    desktop, phone = _anonymous(live), _anonymous(live)
    desktop.headers["User-Agent"] = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
    )
    opened = desktop.get("/auth/qr")
    token = re.search(r'data-token="([A-Za-z0-9_-]+)"', opened.text).group(1)
    signed = phone.post_form(
        "/auth/login", {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": "/admin"}
    )
    assert signed.status_code == 302
    confirm = phone.get(f"/auth/qr/scan/{token}")
    assert confirm.status_code == 200
    assert "Chrome 120 on Windows 10" in confirm.text
    phone.headers["Accept-Language"] = "zh-CN"
    assert "Windows 10 上的 Chrome 120" in phone.get(f"/auth/qr/scan/{token}").text


def test_reader_dates_and_archive_months_are_the_site_zone(live, signed_in):
    form = {
        "title": "Inkwell",
        "posts_per_page": "10",
        "comment_mode": "open",
        "language": "auto",
        "navbar_style": "light",
        "time_zone": "Asia/Shanghai",
    }
    assert signed_in.post_form("/admin/settings", form).status_code == 302
    # 20:30 on 31 January in UTC is already 1 February in Shanghai (UTC+8): the editor takes
    # the site's time, so 04:30 on 1 February there.
    article_id = save_article(
        signed_in, title="Late night", status="published", publish_at="2020-02-01T04:30"
    )
    reader = _anonymous(live)
    page = reader.get(f"/article/{article_id}", allow_redirects=True)
    assert page.status_code == 200
    assert 'datetime="2020-01-31T20:30:00Z"' in page.text
    assert "2020-02-01" in page.text
    assert "/archive/2020/02" in reader.get("/archive").text
    month = reader.get("/archive/2020/02")
    assert month.status_code == 200 and "Late night" in month.text
    assert "Late night" not in reader.get("/archive/2020/01").text
