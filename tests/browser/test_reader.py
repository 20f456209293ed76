"""A reader in a real browser: comments through the real form, a phone-sized screen."""

from extends.ratelimit import MemoryRateLimit
from service.demo import load_demo_site


def open_demo(live):
    live.service(load_demo_site)
    live.app.comment_guard.min_seconds = 0
    live.app.comment_guard.limiter = MemoryRateLimit(limit=100, window=60)


def test_a_reader_posts_a_comment_and_sees_it(live, page):
    open_demo(live)
    page.goto(live.url + "/")
    page.get_by_role("link", name="Writing in Markdown").first.click()
    page.wait_for_url("**/article/**")
    page.get_by_label("Your name").fill("Grace")
    page.get_by_label("Your comment").fill("Lovely article, see https://example.org")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url("**#floor-2")
    comment = page.locator("#floor-2")
    assert "Lovely article" in comment.inner_text()
    assert comment.get_by_role("link", name="https://example.org").get_attribute("rel") == (
        "nofollow ugc noopener"
    )


def test_a_refused_comment_keeps_what_was_typed(live, page):
    open_demo(live)
    live.app.comment_guard.min_seconds = 120
    page.goto(live.url + "/")
    page.get_by_role("link", name="Writing in Markdown").first.click()
    page.get_by_label("Your name").fill("Hasty")
    page.get_by_label("Your comment").fill("Posted before reading")
    page.get_by_role("button", name="Post comment").click()
    page.get_by_role("alert").wait_for()
    assert "That was very fast" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Your comment").input_value() == "Posted before reading"


def test_phone_width_has_no_horizontal_scroll(live, browser):
    open_demo(live)
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    try:
        phone = context.new_page()
        for path in ("/", "/article/2/writing-in-markdown", "/search?q=redis", "/archive"):
            phone.goto(live.url + path)
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
    finally:
        context.close()


def test_dark_mode_follows_the_system(live, browser):
    open_demo(live)
    context = browser.new_context(color_scheme="dark")
    try:
        dark = context.new_page()
        dark.goto(live.url + "/")
        background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(21, 24, 28)"
    finally:
        context.close()


def test_keyboard_focus_is_visible(live, page):
    open_demo(live)
    page.goto(live.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
