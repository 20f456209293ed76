"""Featured and inline images in Chromium at phone and desktop widths: the home's cards and
an article, with screenshots; every picture carries srcset, width, height and loading, and
the browser picks a WebP copy."""

from __future__ import annotations

import pytest

from service.demo import load_demo_site
from service.demo_images import load_demo_images

IMAGES_IN_DOM = """
() => Array.from(document.querySelectorAll(
    ".card-image img, .featured-image img, .article-body img"
)).map((img) => ({
    alt: img.alt,
    srcset: img.getAttribute("srcset"),
    width: img.getAttribute("width"),
    height: img.getAttribute("height"),
    loading: img.getAttribute("loading"),
    inPicture: img.parentElement.tagName === "PICTURE",
}))
"""


@pytest.fixture
def demo(live):
    live.service(load_demo_site)
    live.service(load_demo_images, live.app.media)
    return live


@pytest.mark.parametrize("width", [390, 1280])
def test_featured_images_on_the_home_and_an_article(demo, browser, tmp_path, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(demo.url + "/")
        cards = page.evaluate(IMAGES_IN_DOM)
        assert len(cards) >= 3
        for image in cards:
            assert image["srcset"] and image["width"] and image["height"], image
            assert image["loading"] == "lazy" and image["inPicture"], image
        assert "min read" in page.locator(".card .reading-time").first.inner_text()
        page.screenshot(path=str(tmp_path / f"home-{width}.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0

        page.get_by_role("link", name="Welcome to Inkwell").first.click()
        page.wait_for_url("**/article/**")
        images = page.evaluate(IMAGES_IN_DOM)
        assert [image["loading"] for image in images] == ["eager", "lazy"]
        for image in images:
            assert image["srcset"] and image["inPicture"], image
            assert (image["width"], image["height"]) == ("2000", "1125"), image
        featured = page.locator(".featured-image img")
        featured.evaluate("(img) => img.decode()")
        # Chromium takes the WebP <source>, at a width that fits the column, not the original.
        chosen = featured.evaluate("(img) => img.currentSrc")
        assert chosen.endswith(".webp") and "-2000." not in chosen, chosen
        box = featured.bounding_box()
        assert box is not None and box["width"] <= width
        # Reserved space: the box has the picture's proportions before and after loading.
        assert abs(box["height"] / box["width"] - 1125 / 2000) < 0.02
        page.screenshot(path=str(tmp_path / f"article-{width}.png"), full_page=True)
    finally:
        context.close()
    for name in (f"home-{width}.png", f"article-{width}.png"):
        assert (tmp_path / name).stat().st_size > 10_000
