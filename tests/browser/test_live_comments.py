"""Live comments in a real browser: a comment posted elsewhere appears on an open article
without a reload; without JavaScript the page and its form work as before."""

import asyncio

from extends.ratelimit import MemoryRateLimit
from service.demo import load_demo_site
from tests.support.live import BlogClient
from tests.web.reader.conftest import article_by_slug, article_url, post_comment

SLUG = "writing-in-markdown"


def open_demo(live):
    live.service(load_demo_site)
    live.app.comment_guard.min_seconds = 0
    live.app.comment_guard.limiter = MemoryRateLimit(limit=100, window=60)
    return article_by_slug(live, SLUG)


def wait_for_listener(live, topic):
    """Until the page's WebSocket is subscribed on the instance (its script has connected)."""

    async def wait():
        for _ in range(300):
            if live.app.live.subscribers(topic):
                return True
            await asyncio.sleep(0.05)
        return False

    return live.call(wait)


def test_a_comment_posted_elsewhere_appears_without_a_reload(start_app, sqlite_url, page):
    live = start_app(sqlite_url)
    article = open_demo(live)
    page.goto(live.url + article_url(article))
    page.evaluate("window.loadedOnce = 'yes'")  # gone if the page reloads
    assert wait_for_listener(live, f"article:{article.id}")

    other_reader = BlogClient(live.url)
    response = post_comment(other_reader, article, "Hello <b>live</b> world", author_name="Ada")
    assert response.status_code == 303
    floor = response.headers["Location"].rsplit("#floor-", 1)[1]
    comment = page.locator(f"#floor-{floor}")
    comment.wait_for()
    assert "Hello <b>live</b> world" in comment.inner_text()  # shown as text, not markup
    assert comment.locator("b").count() == 0
    reply = comment.get_by_role("link", name="Reply").get_attribute("href")
    assert reply.startswith("?reply_to=")
    assert page.evaluate("window.loadedOnce") == "yes"


def test_without_javascript_the_page_and_its_form_still_work(start_app, sqlite_url, browser):
    live = start_app(sqlite_url)
    article = open_demo(live)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live.url + article_url(article))
        page.get_by_label("Your name").fill("Grace")
        page.get_by_label("Your comment").fill("No scripts here")
        page.get_by_role("button", name="Post comment").click()
        # The shared page held no token: the comment comes back, kept, to be confirmed once.
        page.get_by_text("Please confirm your comment").wait_for()
        assert page.get_by_label("Your comment").input_value() == "No scripts here"
        page.get_by_role("button", name="Post comment").click()
        page.wait_for_url("**#floor-*")
        assert "No scripts here" in page.locator(".comment-list").inner_text()
    finally:
        context.close()
