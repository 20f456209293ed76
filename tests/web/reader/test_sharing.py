"""What search engines, link previews and feed readers get: JSON-LD parsed as JSON, the Open
Graph and Twitter tags parsed as HTML, every feed parsed as XML with its enclosures and
authors; reading time and featured pictures on cards and articles, in both languages."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from PIL import Image

from tests.conftest import AuthActions
from tests.support.live import BlogClient
from tests.web.admin.conftest import save_article

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"


class HeadParser(HTMLParser):
    """Every <meta property|name> and the text of every ld+json block; every <img>."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.json_ld: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "meta":
            key = values.get("property") or values.get("name")
            if key:
                self.meta.setdefault(key, []).append(values.get("content") or "")
        elif tag == "script" and values.get("type") == "application/ld+json":
            self._in_json = True
            self.json_ld.append("")
        elif tag == "img":
            self.images.append(values)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_json = False

    def handle_data(self, data):
        if self._in_json:
            self.json_ld[-1] += data


def parse(html: str) -> HeadParser:
    parser = HeadParser()
    parser.feed(html)
    return parser


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def shared(live, admin):
    """One published article with a featured image, an inline image and a tricky title."""
    signed_in = BlogClient(live.url)
    assert AuthActions(signed_in).login().status_code == 302
    upload = signed_in.post(
        "/admin/media",
        data={"_xsrf": signed_in.xsrf_token},
        files={"file": ("cover.jpg", jpeg(2000, 1000), "image/jpeg")},
        headers={"X-Requested-With": "XMLHttpRequest"},
    ).json()
    signed_in.post_form(
        f"/admin/media/{upload['id']}", {"alt_text": "A red cover", "caption": "The cover."}
    )
    article_id = save_article(
        signed_in,
        title="Sharing </script><b> & more",
        content=f"Intro text.\n\n![Inline]({upload['url']})\n\n![Far](https://example.org/x.png)\n",
        summary="What a preview shows.",
        tags="alpha, beta",
        status="published",
        featured_image=str(upload["id"]),
    )
    return {"id": article_id, "image": upload}


def article_html(client, article_id: int) -> str:
    response = client.get(f"/article/{article_id}")
    assert response.status_code == 301
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page.text


def test_the_article_has_blog_posting_json_ld(live, client, shared):
    found = parse(article_html(client, shared["id"]))
    assert len(found.json_ld) == 1
    assert "</script>" not in found.json_ld[0]
    data = json.loads(found.json_ld[0])
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == "Sharing </script><b> & more"
    assert data["description"] == "What a preview shows."
    assert data["author"] == {"@type": "Person", "name": "Ada Admin"}
    assert data["publisher"]["name"]
    assert data["datePublished"].endswith("Z") and data["dateModified"].endswith("Z")
    stem = shared["image"]["url"].removesuffix(".jpg")
    assert data["image"]["url"] == f"{live.url}{stem}-1600.jpg"
    assert (data["image"]["width"], data["image"]["height"]) == (1600, 800)


def test_the_article_has_open_graph_and_twitter_tags(live, client, shared):
    meta = parse(article_html(client, shared["id"])).meta
    stem = shared["image"]["url"].removesuffix(".jpg")
    assert meta["og:type"] == ["article"]
    assert meta["og:image"] == [f"{live.url}{stem}-1600.jpg"]
    assert meta["og:image:width"] == ["1600"] and meta["og:image:height"] == ["800"]
    assert meta["og:image:alt"] == ["A red cover"]
    assert meta["twitter:card"] == ["summary_large_image"]
    assert meta["twitter:image"] == meta["og:image"]
    assert meta["article:tag"] == ["alpha", "beta"]
    assert meta["article:published_time"][0].endswith("Z")
    assert meta["article:modified_time"][0].endswith("Z")


def test_article_images_carry_srcset_size_and_lazy_loading(live, client, shared):
    images = parse(article_html(client, shared["id"])).images
    by_alt = {image["alt"]: image for image in images}
    featured, inline, far = by_alt["A red cover"], by_alt["Inline"], by_alt["Far"]
    for image in (featured, inline):
        assert image["srcset"] and image["sizes"]
        assert (image["width"], image["height"]) == ("2000", "1000")
    assert featured["loading"] == "eager"  # at the top: the largest paint, not deferred
    assert inline["loading"] == "lazy" and inline["decoding"] == "async"
    assert far == {
        "src": "https://example.org/x.png",
        "alt": "Far",
        "loading": "lazy",
        "decoding": "async",
    }


def test_the_home_has_website_json_ld_and_cards_with_pictures(live, client, shared):
    found = parse(client.get("/").text)
    (block,) = found.json_ld
    data = json.loads(block)
    assert data["@type"] == "WebSite"
    action = data["potentialAction"]
    assert action["@type"] == "SearchAction"
    assert action["target"]["urlTemplate"] == f"{live.url}/search?q={{search_term_string}}"
    assert action["query-input"] == "required name=search_term_string"
    (card_image,) = [image for image in found.images if image["alt"] == "A red cover"]
    stem = shared["image"]["url"].removesuffix(".jpg")
    assert card_image["src"] == f"{stem}-480.jpg"
    assert (card_image["width"], card_image["height"]) == ("480", "240")
    assert card_image["srcset"] and card_image["loading"] == "lazy"
    assert "1 min read" in client.get("/").text


def test_reading_time_is_translated(live, client, shared):
    chinese = client.get("/", headers={"Accept-Language": "zh-CN"}).text
    assert "阅读约 1 分钟" in chinese


def test_the_atom_feed_has_the_enclosure_and_the_author(live, client, shared):
    root = ET.fromstring(client.get("/feed.atom").content)
    (entry,) = root.findall(f"{ATOM}entry")
    enclosure = entry.find(f"{ATOM}link[@rel='enclosure']")
    assert enclosure is not None
    assert enclosure.get("href") == live.url + shared["image"]["url"]
    assert enclosure.get("type") == "image/jpeg" and int(enclosure.get("length")) > 0
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Ada Admin"


def test_the_rss_feed_has_the_enclosure_and_the_author(live, client, shared):
    root = ET.fromstring(client.get("/feed.rss").content)
    (item,) = root.findall("channel/item")
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert enclosure.get("url") == live.url + shared["image"]["url"]
    assert enclosure.get("type") == "image/jpeg" and int(enclosure.get("length")) > 0
    assert item.findtext(f"{DC}creator") == "Ada Admin"
