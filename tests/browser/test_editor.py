"""The editor in Chromium: the live preview follows the typing, a closed tab loses nothing,
an image goes in its own paragraph, a featured image can be uploaded where it is chosen."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from service import users
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME

pytestmark = pytest.mark.browser


@pytest.fixture
def author_page(start_app, sqlite_url, page):
    live = start_app(sqlite_url)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    page.goto(live.url + "/auth/login?next=/admin/articles/new")
    page.get_by_label("User name").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/articles/new")
    return live, page


def test_preview_follows_the_markdown(author_page):
    _live, page = author_page
    page.locator("#content").fill("## Harbour notes\n\nThe **boats** are back.")
    page.locator("#preview h2").filter(has_text="Harbour notes").wait_for()
    assert page.locator("#preview strong").inner_text() == "boats"
    page.locator("#content").press("End")
    page.locator("#content").type("\n\n- one\n- two")
    page.locator("#preview li").nth(1).wait_for()
    assert page.locator("#preview li").all_inner_texts() == ["one", "two"]


def test_draft_survives_a_reload_and_saving_clears_it(author_page):
    _live, page = author_page
    page.locator("#title").fill("Unsaved thoughts")
    page.locator("#content").fill("Text I must not lose.")
    # The draft is written to localStorage shortly after typing stops.
    page.wait_for_function(
        "() => (localStorage.getItem('inkwell:draft:new') || '').includes('must not lose')"
    )
    dialogs = []

    def leave(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave)
    page.reload()
    assert dialogs == ["beforeunload"]  # leaving with unsaved changes asked first
    page.locator("#draft-notice").wait_for(state="visible")
    assert page.locator("#title").input_value() == "Unsaved thoughts"
    assert page.locator("#content").input_value() == "Text I must not lose."

    # Ctrl+S saves; the saved text needs no browser copy any more.
    page.locator("#content").press("Control+s")
    page.wait_for_url("**/admin/articles/*/edit")
    assert "The draft is saved." in page.content()
    assert page.evaluate("() => localStorage.getItem('inkwell:draft:new')") is None
    page.reload()
    assert page.locator("#draft-notice").is_hidden()
    assert page.locator("#content").input_value() == "Text I must not lose."


def test_discarding_the_draft_brings_back_the_saved_text(author_page):
    _live, page = author_page
    page.locator("#title").fill("Saved title")
    page.locator("#content").fill("Saved text.")
    page.locator("#content").press("Control+s")
    page.wait_for_url("**/admin/articles/*/edit")
    page.locator("#content").fill("A later change.")
    page.wait_for_function("() => Object.values(localStorage).some(v => v.includes('later'))")
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    page.locator("#draft-notice").wait_for(state="visible")
    assert page.locator("#content").input_value() == "A later change."
    page.get_by_role("button", name="Discard it").click()
    assert page.locator("#content").input_value() == "Saved text."


def test_an_inserted_image_gets_its_own_paragraph_and_a_featured_image_is_uploaded(
    author_page, tmp_path
):
    _live, page = author_page
    picture = tmp_path / "Harbour at dawn.png"
    buffer = io.BytesIO()
    Image.new("RGB", (600, 300), (20, 90, 160)).save(buffer, "PNG")
    picture.write_bytes(buffer.getvalue())
    page.locator("#title").fill("Pictures")
    page.locator("#content").fill("Before the picture.")
    page.locator("#content").press("End")
    page.locator("#image-file").set_input_files(str(picture))
    page.wait_for_function("() => document.querySelector('#content').value.includes('](/media/')")
    text = page.locator("#content").input_value()
    assert text.startswith("Before the picture.\n\n![Harbour at dawn](/media/")
    assert text.endswith(")\n\n")
    page.locator("#preview picture img[srcset]").wait_for()

    page.locator("#featured-file").set_input_files(str(picture))
    checked = page.locator("#featured-choices input[name=featured_image]:checked")
    page.wait_for_function(
        "() => document.querySelector('#featured-choices input:checked').value !== ''"
    )
    chosen = checked.get_attribute("value")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/admin/articles/*/edit")
    assert (
        page.locator("#featured-choices input[name=featured_image]:checked").get_attribute("value")
        == chosen
    )
