"""Security headers on every page, cookies Secure over HTTPS, the Host check, BLOG_BASE_URL,
client addresses only from trusted proxies, and uploads re-encoded (metadata and polyglots gone).
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
import tornado.web
from PIL import Image, PngImagePlugin

from config import ROOT
from extends.ratelimit import MemoryRateLimit
from service import users
from service.demo import load_demo_site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.support.live import BlogClient
from tests.web.reader.conftest import article_by_slug, article_url, post_comment

XHR = {"X-Requested-With": "XMLHttpRequest"}
HTTPS = {"X-Forwarded-Proto": "https"}
EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_page_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.url, name)
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"], response.url
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"] + policy["default-src"]
    # Articles may show remote images (the sanitiser keeps http(s) image URLs).
    assert "https:" in policy["img-src"]
    # Frames only from the video players an article may embed, never our own pages.
    assert policy["frame-src"] == [
        "https://www.youtube-nocookie.com",
        "https://www.youtube.com",
        "https://player.vimeo.com",
    ]
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation"):
        assert f"{feature}=()" in permissions


def set_cookies(response) -> dict[str, str]:
    """Each Set-Cookie header of the response by cookie name (the whole header line)."""
    return {line.split("=", 1)[0]: line for line in response.raw.headers.getlist("Set-Cookie")}


def is_secure(cookie_line: str) -> bool:
    return any(part.strip().lower() == "secure" for part in cookie_line.split(";"))


def sign_in(client: BlogClient, headers: dict[str, str] | None = None):
    response = client.post_form(
        "/auth/login",
        {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "next": "/admin"},
        headers=headers or {},
    )
    assert response.status_code == 302, response.text
    return response


@pytest.fixture
def site(start_app, sqlite_url):
    live = start_app(sqlite_url)
    live.service(load_demo_site)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    live.app.comment_guard.min_seconds = 0
    return live


# --- headers ------------------------------------------------------------------------------


def test_every_kind_of_page_carries_the_security_headers(site):
    client = BlogClient(site.url)
    article = article_by_slug(site, "writing-in-markdown")
    reader_pages = [
        "/",
        article_url(article),
        "/search?q=markdown",
        "/feed.atom",
        "/feed.rss",
        "/sitemap.xml",
        "/robots.txt",
        "/static/css/site.css",
        "/favicon.ico",
        "/auth/login",
        "/auth/qr",
        "/no/such/page",
        "/article/999999",
    ]
    for path in reader_pages:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert_page_headers(response)
    # The same page again, now from the full-page cache.
    assert_page_headers(client.get("/"))
    # A refused POST (no XSRF token) is an error page with the headers too.
    refused = client.post(f"/article/{article.id}/comment", data={"content": "x"})
    assert refused.status_code == 403
    assert_page_headers(refused)

    sign_in(client)
    for path in ("/admin", "/admin/articles", "/admin/media", "/admin/settings"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_page_headers(response)

    upload = client.post(
        "/admin/media",
        data={"_xsrf": client.xsrf_token},
        files={"file": ("a.png", png_image(), "image/png")},
        headers=XHR,
    )
    assert upload.status_code == 200, upload.text
    media = client.get(upload.json()["url"])
    assert media.status_code == 200
    assert media.headers["X-Content-Type-Options"] == "nosniff"
    assert directives(media.headers["Content-Security-Policy"]) == {
        "default-src": ["'none'"],
        "sandbox": [],
    }
    missing = client.get("/media/" + "0" * 32 + ".png")
    assert missing.status_code == 404
    assert "sandbox" in missing.headers["Content-Security-Policy"]


def test_templates_have_no_inline_scripts_handlers_or_styles():
    # A JSON-LD block is data the browser never runs (service/seo.py escapes "<" in it).
    inline_script = re.compile(
        r"<script(?![^>]*\b(?:src=|type=\"application/ld\+json\"))[^>]*>", re.I
    )
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    style = re.compile(r"<style\b|\sstyle\s*=", re.I)
    for path in (ROOT / "template").rglob("*.html"):
        text = path.read_text()
        assert not inline_script.search(text), path
        assert not handler.search(text), path
        assert not style.search(text), path


# --- cookies ------------------------------------------------------------------------------


def test_cookies_are_secure_when_a_trusted_proxy_says_https(site):
    client = BlogClient(site.url)
    article = article_by_slug(site, "writing-in-markdown")
    plain = client.get(article_url(article))
    assert not any(is_secure(line) for line in set_cookies(plain).values())

    browser = BlogClient(site.url)
    page = browser.get(article_url(article), headers=HTTPS)
    assert not set_cookies(page)  # a shared page sets none; its form's script asks for them
    cookies = set_cookies(browser.get(f"/article/{article.id}/comment", headers=HTTPS))
    assert "_xsrf" in cookies
    assert all(is_secure(line) for line in cookies.values()), cookies
    assert all(
        is_secure(line) for line in set_cookies(browser.get("/auth/qr", headers=HTTPS)).values()
    )
    language = browser.get("/lang/zh_CN?next=/", headers=HTTPS)
    assert all(is_secure(line) for line in set_cookies(language).values())

    signed_in = set_cookies(sign_in(BlogClient(site.url), headers=HTTPS))
    assert is_secure(signed_in["sid"]) and "httponly" in signed_in["sid"].lower()


def test_https_from_an_untrusted_peer_is_not_believed(start_app, sqlite_url):
    live = start_app(sqlite_url, trusted_proxies=["10.9.9.9"])
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    client = BlogClient(live.url)
    login = client.get("/auth/login", headers=HTTPS)
    assert not is_secure(set_cookies(login)["_xsrf"])
    signed_in = set_cookies(sign_in(client, headers=HTTPS))
    assert not is_secure(signed_in["sid"])


def test_the_session_cookie_is_believed_as_long_as_the_session_lives(start_app, sqlite_url):
    # A signed cookie older than the server-side TTL is not even looked up.
    live = start_app(sqlite_url, session_ttl_seconds=3600)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    client = BlogClient(live.url)
    sign_in(client)
    assert client.get("/admin").status_code == 200
    sid = client.cookies.get("sid").strip('"')
    secret = live.settings.cookie_secret
    value = tornado.web.decode_signed_value(secret, "sid", sid, max_age_days=1)
    assert value is not None
    # The same id, signed two hours ago: older than the 1-hour session.
    stale = tornado.web.create_signed_value(
        secret, "sid", value, clock=lambda: time.time() - 7200
    ).decode()
    client.cookies.set("sid", stale, domain="127.0.0.1", path="/")
    assert client.get("/admin").status_code == 302


# --- the Host header and BLOG_BASE_URL ----------------------------------------------------


def test_an_unknown_host_is_refused_before_any_work(site):
    client = BlogClient(site.url)
    for host in ("127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:80", "[::1]:8080"):
        assert client.get("/", headers={"Host": host}).status_code == 200, host
    # Tornado itself refuses a malformed Host.
    assert client.get("/", headers={"Host": "localhost@evil"}).status_code == 400
    for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example", "x.localhost"):
        response = client.get("/", headers={"Host": host})
        assert response.status_code == 400, host
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "unknown host" in response.text
        assert "Set-Cookie" not in response.headers
        assert_page_headers(response)
    # Static files and POSTs are behind the same check.
    assert client.get("/static/css/site.css", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/robots.txt", headers={"Host": "evil.example"}).status_code == 400
    assert client.post_form("/auth/login", {}, headers={"Host": "evil.example"}).status_code == 400


def test_allowed_hosts_are_configurable(start_app, sqlite_url):
    live = start_app(sqlite_url, allowed_hosts=["127.0.0.1", ".example.org"])
    client = BlogClient(live.url)
    assert client.get("/", headers={"Host": "blog.example.org"}).status_code == 200
    assert client.get("/", headers={"Host": "example.org:8443"}).status_code == 200
    assert client.get("/", headers={"Host": "localhost"}).status_code == 400
    assert client.get("/", headers={"Host": "example.org.evil"}).status_code == 400


def test_absolute_urls_come_from_the_base_url_whatever_the_host(start_app, sqlite_url):
    live = start_app(sqlite_url, base_url="https://blog.example.org/")
    live.service(load_demo_site)
    live.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    base = "https://blog.example.org"
    client = BlogClient(live.url)
    article = article_by_slug(live, "writing-in-markdown")
    for host in ("localhost:9999", "blog.example.org"):
        headers = {"Host": host}
        feed = client.get("/feed.atom", headers=headers).text
        assert f'href="{base}/feed.atom"' in feed and "localhost" not in feed
        assert f"{base}/article/{article.id}" in client.get("/feed.rss", headers=headers).text
        sitemap = client.get("/sitemap.xml", headers=headers).text
        assert f"<loc>{base}/</loc>" in sitemap and "localhost" not in sitemap
        assert f"Sitemap: {base}/sitemap.xml" in client.get("/robots.txt", headers=headers).text
        page = client.get(article_url(article), headers=headers).text
        assert f'content="{base}{article_url(article)}"' in page
        assert f'href="{base}{article_url(article)}"' in page  # canonical
        qr = client.get("/auth/qr", headers=headers).text
        assert re.search(rf'href="{re.escape(base)}/auth/qr/scan/[A-Za-z0-9_-]+"', qr)
    # The base URL's host is allowed; other hosts are still refused.
    assert client.get("/", headers={"Host": "other.example"}).status_code == 400


# --- client addresses from trusted proxies only -------------------------------------------


def post_as(client, article, content, headers):
    """Post a comment with these request headers (the form is opened from the same place)."""
    client.headers.update(headers)
    try:
        return post_comment(client, article, content)
    finally:
        for name in headers:
            client.headers.pop(name, None)


def test_forwarded_addresses_count_only_from_trusted_proxies(start_app, sqlite_url):
    # Loopback is trusted by default: nginx's X-Real-IP / X-Forwarded-For name the reader.
    trusting = start_app(sqlite_url)
    trusting.service(load_demo_site)
    trusting.app.comment_guard.min_seconds = 0
    trusting.app.comment_guard.limiter = MemoryRateLimit(limit=2, window=60)
    article = article_by_slug(trusting, "writing-in-markdown")
    client = BlogClient(trusting.url)
    for number in range(4):
        forwarded = {"X-Forwarded-For": f"198.51.100.{number}, 127.0.0.1"}
        assert post_as(client, article, f"hello {number}", forwarded).status_code == 303
    # The right-most untrusted address counts, not what the reader prepended.
    spoofed = [
        {"X-Forwarded-For": f"203.0.113.{number}, 192.0.2.7", "X-Real-IP": "192.0.2.7"}
        for number in range(3)
    ]
    results = [post_as(client, article, "again", headers).status_code for headers in spoofed]
    assert results == [303, 303, 429]


def test_forged_addresses_from_an_untrusted_peer_are_ignored(start_app, sqlite_url, tmp_path):
    live = start_app(sqlite_url, trusted_proxies=["10.9.9.9"])
    live.service(load_demo_site)
    live.app.comment_guard.min_seconds = 0
    live.app.comment_guard.limiter = MemoryRateLimit(limit=2, window=60)
    article = article_by_slug(live, "writing-in-markdown")
    client = BlogClient(live.url)
    statuses = [
        post_as(
            client,
            article,
            f"forged {number}",
            {"X-Real-IP": f"198.51.100.{number}", "X-Forwarded-For": f"198.51.100.{number}"},
        ).status_code
        for number in range(3)
    ]
    # Every post counted against the real peer (127.0.0.1), whatever the headers said.
    assert statuses == [303, 303, 429]


# --- uploads re-encoded ---------------------------------------------------------------------


def png_image(size=(24, 16), **save_options) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.putpixel((0, 0), (0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG", **save_options)
    return out.getvalue()


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif


def upload(client, name, data, content_type="image/png"):
    return client.post(
        "/admin/media",
        data={"_xsrf": client.xsrf_token},
        files={"file": (name, data, content_type)},
        headers=XHR,
    )


def stored(live, response) -> bytes:
    assert response.status_code == 200, response.text
    name = response.json()["url"].rsplit("/", 1)[1]
    return (Path(live.settings.media_dir) / name).read_bytes()


@pytest.fixture
def author(site):
    client = BlogClient(site.url)
    sign_in(client)
    return client


def test_exif_with_a_gps_position_is_removed(site, author):
    original = png_image(exif=gps_exif())
    assert b"PhoneMaker" in original
    data = stored(site, upload(author, "holiday.png", original))
    assert b"PhoneMaker" not in data and b"eXIf" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (24, 16)
    assert not image.getexif()
    assert image.getpixel((0, 0)) == (0, 0, 255)

    # A JPEG from a phone held upright: turned as it was shown, then the EXIF is gone.
    photo = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 120, 10)).save(photo, "JPEG", exif=gps_exif(orientation=6))
    data = stored(site, upload(author, "phone.jpg", photo.getvalue(), "image/jpeg"))
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (20, 40)
    assert not image.getexif() and b"PhoneMaker" not in data and b"Exif" not in data


def test_a_png_html_polyglot_loses_its_html(site, author):
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "<html><script>alert(document.cookie)</script></html>")
    polyglot = png_image(pnginfo=text) + b"<html><body><script>alert(1)</script></body></html>"
    data = stored(site, upload(author, "innocent.png", polyglot))
    assert b"<script" not in data and b"<html" not in data
    assert Image.open(io.BytesIO(data)).size == (24, 16)
    served = author.get(
        "/media/" + upload(author, "again.png", polyglot).json()["url"].rsplit("/", 1)[1]
    )
    assert b"<script" not in served.content


def test_a_fake_image_is_refused(site, author):
    for name, data, kind in (
        ("page.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "PNG"),
        ("page.jpg", b"\xff\xd8\xff\xe0<html></html>", "JPEG"),
        ("page.gif", b"GIF89a<script>alert(1)</script>", "GIF"),
        ("cut.png", png_image()[:60], "PNG"),
    ):
        response = upload(author, name, data)
        assert response.status_code == 400, name
        assert response.json()["error"] == f"The file is not a valid {kind} image."
    # The form says it in the visitor's language too.
    author.cookies.set("lang", "zh_CN", domain="127.0.0.1", path="/")
    response = author.post(
        "/admin/media",
        data={"_xsrf": author.xsrf_token},
        files={"file": ("page.png", b"\x89PNG\r\n\x1a\nnope", "image/png")},
    )
    assert response.status_code == 400 and "不是有效的 PNG 图片" in response.text
    assert not list(Path(site.settings.media_dir).glob("*.png"))


def test_a_decompression_bomb_is_refused(site, author):
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 100_000  # small on the wire, 144 megapixels decoded
    response = upload(author, "bomb.png", bomb.getvalue())
    assert response.status_code == 400
    assert "too many pixels" in response.json()["error"]


def test_an_animated_gif_stays_animated(site, author):
    frames = [Image.new("RGB", (10, 10), (index * 80, 255 - index * 80, 0)) for index in range(3)]
    animation = io.BytesIO()
    frames[0].save(
        animation,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=120,
        loop=0,
        comment=b"<script>alert(1)</script>",
    )
    data = stored(site, upload(author, "wave.gif", animation.getvalue(), "image/gif"))
    image = Image.open(io.BytesIO(data))
    assert image.n_frames == 3 and image.info.get("duration") == 120
    assert b"<script" not in data
