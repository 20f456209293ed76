"""A page and the menu in a real browser, at a phone's width and a desktop's, with screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from service import users
from service.demo import load_demo_site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME


@pytest.mark.parametrize("width", [390, 1280])
def test_the_about_page_and_the_menu(live, browser, tmp_path, width):
    live.service(load_demo_site)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(live.url + "/")
        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="About").click()
        page.wait_for_url("**/about")
        assert page.get_by_role("heading", level=1).inner_text() == "About"
        assert "self-hosted blog" in page.locator("main").inner_text()
        page.screenshot(path=str(tmp_path / f"page-{width}.png"), full_page=True)

        # A top-level entry with entries under it opens as a drop-down.
        guides = nav.locator("summary", has_text="Guides")
        guides.click()
        started = nav.get_by_role("link", name="Getting Started")
        started.wait_for(state="visible")
        outside = nav.get_by_role("link", name="Tornado")
        assert outside.get_attribute("rel") == "noopener"
        assert outside.get_attribute("href") == "https://www.tornadoweb.org/"
        page.screenshot(path=str(tmp_path / f"menu-{width}.png"), full_page=False)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, overflow
        started.click()
        page.wait_for_url("**/category/getting-started")
        assert "Getting Started" in page.get_by_role("heading", level=1).inner_text()
    finally:
        context.close()
    for name in (f"page-{width}.png", f"menu-{width}.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_the_slug_follows_the_title_until_the_author_types_one(start_app, sqlite_url, page):
    live = start_app(sqlite_url)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    page.goto(live.url + "/auth/login?next=/admin/pages/new")
    page.get_by_label("User name").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/pages/new")
    slug = page.locator("#slug")
    page.locator("#title").fill("关于我们")
    expect(slug).to_have_value("guan-yu-wo-men")  # pinyin, made by the server
    slug.fill("contact")
    page.locator("#title").fill("联系我们")  # a typed slug no longer follows the title
    page.locator("#content").fill("Write to us.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/admin/pages/*/edit")
    page.goto(live.url + "/contact")
    assert page.get_by_role("heading", level=1).inner_text() == "联系我们"
