"""No page scrolls sideways on a phone, and the writing pages look right at 390 and 1,280 px.

Every reader page and every admin page reachable without an id (read from the route table),
plus one of each page that takes an id, is opened at 360 px wide, signed in: the document
must not be wider than the window. Screenshots of the editor's autosave notice and of the
edit-conflict page are written to var/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from config import ROOT
from main import route_table
from model import Article, Category, Tag
from service import autosave
from service.autosave import AutosaveText
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.sites import module_site

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "var" / "screenshots"
# Not pages: machine answers, POST-only endpoints, and the pages that sign out or redirect.
NOT_PAGES = re.compile(
    r"feed|sitemap|\.css|healthz|/preview$|autosave|logout|/lang|download|^/live/|/admin/slug$"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with module_site(
        tmp_path_factory.mktemp("layout"),
        "sqlite:///" + str(tmp_path_factory.mktemp("layout-db") / "blog.sqlite3"),
    ) as live:
        yield live


def sign_in(page, live, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live.url + "/auth/login?next=/admin")
    page.get_by_label("User name").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin")


def pages_without_ids() -> list[str]:
    paths = []
    for route in route_table():
        pattern = route[0]
        if "(" in pattern or NOT_PAGES.search(pattern):
            continue
        paths.append(pattern.replace("\\", ""))
    return paths


def pages_with_ids(live) -> list[str]:
    def first_ids(session):
        article = session.scalar(select(Article).where(Article.status == "published").limit(1))
        category = session.scalar(select(Category.id).limit(1))
        tag = session.scalar(select(Tag.name).limit(1))
        return article.id, article.publish_at, category, tag

    article_id, published, category_id, tag = live.service(first_ids)
    return [
        f"/article/{article_id}",
        f"/admin/articles/{article_id}/edit",
        f"/admin/articles/{article_id}/revisions",
        f"/category/{category_id}",
        f"/tag/{tag}",
        f"/archive/{published:%Y}/{published:%m}",
        "/search?q=markdown",
    ]


def test_no_page_scrolls_sideways_at_360_px(site, page):
    sign_in(page, site, 360)
    paths = pages_without_ids() + pages_with_ids(site)
    assert "/admin/articles" in paths and "/" in paths and "/admin/settings" in paths
    wide = {}
    for path in paths:
        response = page.goto(site.url + path)
        assert response is not None
        if response.status == 405:  # answers POST only: not a page
            continue
        assert response.status == 200, (path, response.status)
        sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if sizes[0] > sizes[1]:
            wide[path] = sizes
    assert wide == {}, f"pages wider than the 360 px window: {wide}"


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_screenshots_of_the_autosave_notice_and_the_conflict_page(site, page):
    sign_in(page, site, 1280)

    def newest_article_and_admin(session):
        from model import User

        article = session.scalar(
            select(Article).where(Article.kind == "article").order_by(Article.id.desc()).limit(1)
        )
        admin = session.scalar(select(User).where(User.username == ADMIN_USERNAME))
        return article.id, admin.id

    article_id, admin_id = site.service(newest_article_and_admin)
    # Another browser autosaved newer text: this one is offered it.
    site.service(
        autosave.save_autosave,
        article_id,
        admin_id,
        AutosaveText("Harbour notes, revised", "Typed on the phone.", ""),
    )
    page.goto(f"{site.url}/admin/articles/{article_id}/edit")
    notice = page.locator("#autosave-notice")
    notice.wait_for()
    assert "newer than the saved one" in notice.inner_text()
    shoot(page, "editor-autosave-notice")

    # Two tabs: the second save from an older version gets the conflict page.
    page.locator("#title").fill("My version of the title")
    other = page.context.new_page()
    other.goto(f"{site.url}/admin/articles/{article_id}/edit")
    other.locator("#title").fill("Their version of the title")
    other.locator("#save").click()
    other.wait_for_url(f"**/admin/articles/{article_id}/edit")
    other.close()
    page.locator("#save").click()
    page.get_by_role("heading", name="This article changed since you opened it").wait_for()
    assert "My version of the title" in page.locator(".conflict-form").inner_html()
    assert page.locator("pre.diff .diff-add").count() >= 1
    shoot(page, "edit-conflict")
