"""A reader opens the home page in a real browser."""

from service.demo import load_demo_site


def test_home_page_renders_in_chromium(live, page):
    live.service(load_demo_site)
    page.goto(live.url + "/")
    assert page.title() == "Inkwell"
    page.get_by_role("main").get_by_role("link", name="Welcome to Inkwell").click()
    page.wait_for_url("**/article/**")
    assert page.locator("h1").first.inner_text() == "Welcome to Inkwell"
