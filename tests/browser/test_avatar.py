"""The avatar in Chromium: chosen on the profile page, it shows (loaded, square) in the
users list and beside the article's byline; the identicon comes back with one button."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from service import editor, users
from service.editor import ArticleForm
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME

pytestmark = pytest.mark.browser

LOADED_AVATARS = """
(selector) => Array.from(document.querySelectorAll(selector)).map((img) => ({
    loaded: img.complete && img.naturalWidth > 0,
    natural: [img.naturalWidth, img.naturalHeight],
    shown: [img.getBoundingClientRect().width, img.getBoundingClientRect().height],
}))
"""


def test_an_uploaded_avatar_shows_in_the_users_list_and_the_byline(
    start_app, sqlite_url, page, tmp_path
):
    live = start_app(sqlite_url)
    ada = live.service(
        users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "ada@example.org"
    )
    article = live.service(
        editor.save_article, None, ArticleForm(title="Harbour", content="Boats.",
                                               status="published"), ada.id,
    )  # fmt: skip
    picture = tmp_path / "me.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (30, 90, 160)).save(buffer, "JPEG")
    picture.write_bytes(buffer.getvalue())

    page.goto(live.url + "/auth/login?next=/admin/account")
    page.get_by_label("User name").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/account")
    page.locator('input[name="avatar_file"]').set_input_files(str(picture))
    page.get_by_role("button", name="Use this picture").click()
    page.wait_for_url("**/admin/account")
    assert page.get_by_text("Your avatar is saved.").is_visible()

    page.goto(live.url + "/admin/users")
    (listed,) = page.evaluate(LOADED_AVATARS, ".users img.avatar")
    assert listed["loaded"] and listed["natural"] == [128, 128] and listed["shown"] == [32, 32]

    page.goto(live.url + f"/article/{article.id}")
    (byline,) = page.evaluate(LOADED_AVATARS, ".byline img.avatar")
    assert byline["loaded"] and byline["shown"] == [24, 24]

    page.goto(live.url + "/admin/account")
    page.get_by_role("button", name="Use the identicon instead").click()
    page.wait_for_url("**/admin/account")
    page.goto(live.url + f"/article/{article.id}")
    assert page.evaluate(LOADED_AVATARS, ".byline img.avatar") == []
    assert page.locator(".byline svg.avatar").count() == 1
