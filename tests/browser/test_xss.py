"""An XSS corpus in every place a visitor or the author can type, read back in Chromium.

Every payload, if it ran, would set ``window.__xss`` or open a dialog. The payloads go into
article titles, summaries, Markdown bodies and tags, category, menu and source names, the
site settings, a sidebar HTML widget, the author's display name, comments (name, e-mail,
text) and search queries; then every page that shows them is opened in headless Chromium:
the reader's lists, each article, category, tag and archive pages, search results, the
feeds, and the admin lists, editor, comments and dashboard. One app and one browser for the
module.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.support.live import BlogClient, LiveApp
from tests.support.sites import module_site, signed_in_client

pytestmark = pytest.mark.browser

M = "window.__xss=1"

# Each one sets the marker (or opens a dialog) if the browser ever runs it.
PAYLOADS = [
    # script elements
    f"<script>{M}</script>",
    f"<SCRIPT>{M}</SCRIPT>",
    f"<script src=data:text/javascript,{M}></script>",
    f"<scr<script>ipt>{M}</script>",
    f"</title><script>{M}</script>",
    f"</textarea><script>{M}</script>",
    f"</script><script>{M}</script>",
    f"<script/x>{M}</script>",
    # event attributes
    f"<img src=x onerror={M}>",
    f'<img src="x" onerror="{M}">',
    f"<IMG SRC=x OnErRoR={M}>",
    f"<svg onload={M}>",
    f"<svg/onload={M}>",
    f"<body onload={M}>",
    f"<iframe onload={M}></iframe>",
    f"<input autofocus onfocus={M}>",
    f"<details open ontoggle={M}>",
    f"<video><source onerror={M}></video>",
    f"<audio src=x onerror={M}>",
    f"<object data=x onerror={M}>",
    f"<marquee onstart={M}>x</marquee>",
    "<img src=x onerror=alert(1)>",
    f"<style onload={M}></style>",
    # URLs with scripts
    f'<a href="javascript:{M}">x</a>',
    f"<iframe src=javascript:{M}></iframe>",
    '<iframe src="data:text/html,<script>parent.__xss=1</script>"></iframe>',
    f"<object data=javascript:{M}></object>",
    f"<embed src=javascript:{M}>",
    '<a href="vbscript:msgbox(1)">v</a>',
    f'<a href="JaVaScRiPt:{M}">x</a>',
    f'<a href="&#106;avascript:{M}">x</a>',
    f'<a href="java\tscript:{M}">x</a>',
    f"<meta http-equiv=refresh content='0;url=javascript:{M}'>",
    f"<form action=javascript:{M}><input type=submit></form>",
    f'<base href="javascript:{M}//">',
    # SVG and MathML
    f"<svg><script>{M}</script></svg>",
    f"<svg><animate onbegin={M} attributeName=x dur=1s>",
    f'<svg><a xlink:href="javascript:{M}"><text y=20>x</text></a></svg>',
    f"<math><mtext><img src=x onerror={M}></mtext></math>",
    f"<math><style><img src=x onerror={M}></style></math>",
    # mutation XSS: markup that turns into script after the sanitiser's parse
    f'<noscript><p title="</noscript><img src=x onerror={M}>">',
    f'<svg></p><style><a id="</style><img src=1 onerror={M}>">',
    f"<form><math><mtext></form><form><mglyph><style></math><img src onerror={M}>",
    f"<!--<img src=x onerror={M}>-->",
    f"<![CDATA[><img src=x onerror={M}>]]>",
    f"<xmp><img src=x onerror={M}></xmp>",
    # encoded variants
    f"&lt;img src=x onerror={M}&gt;",
    f"%3Cscript%3E{M}%3C/script%3E",
    f"\\u003cscript\\u003e{M}\\u003c/script\\u003e",
    f"&#60;script&#62;{M}&#60;/script&#62;",
    # template syntax (Tornado and others)
    f"{{{{ {M} }}}}",
    "{% raw '<script>window.__xss=1</script>' %}",
    "{% module Template('x') %}{{!x}}",
    "${alert(1)}#{alert(1)}",
    # Markdown links and images
    f"[x](javascript:{M})",
    f"[x](JAVASCRIPT:{M})",
    f"![x](javascript:{M})",
    f'![x](x" onerror="{M})',
    "[x](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3M9MTwvc2NyaXB0Pg==)",
    f"<javascript:{M}>",
    f"[x]: javascript:{M}\n\n[link][x]",
    # breaking out of attributes
    f'" onmouseover="{M}" x="',
    f"' onfocus='{M}' autofocus='",
    f'"><img src=x onerror={M}>',
    f"'><svg onload={M}>",
    f'" autofocus onfocus="{M}',
    f"`><img src=x onerror={M}>",
]

# Names are at most 64 characters; comments' e-mail needs an @ and no space.
SHORT = [p for p in PAYLOADS if len(p) <= 64 and "\n" not in p]
EMAILS = [
    f'"><img/src=x/onerror={M}>@example.com',
    f"x@example.com'><svg/onload={M}>",
    f"javascript:{M}//@example.com",
]


@dataclass
class XssSite:
    live: LiveApp
    admin: BlogClient
    article_ids: list[int] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    page_id: int = 0


def posted(response: Any) -> None:
    assert response.status_code in (200, 302, 303), (response.status_code, response.text[-800:])


def new_id(response: Any, pattern: str) -> int:
    posted(response)
    found = re.search(pattern, response.headers.get("Location", ""))
    assert found, response.headers.get("Location")
    return int(found.group(1))


def ids_in(html: str, pattern: str) -> list[int]:
    return sorted({int(n) for n in re.findall(pattern, html)})


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory: Any) -> Iterator[XssSite]:
    directory = tmp_path_factory.mktemp("xss")
    with module_site(directory, f"sqlite:///{directory / 'blog.sqlite3'}", demo=False) as live:
        admin = signed_in_client(live)
        site = XssSite(live, admin)
        fill(site)
        yield site


def fill(site: XssSite) -> None:
    admin = site.admin
    # Site settings, the author's name, a sidebar HTML widget.
    posted(
        admin.post_form(
            "/admin/settings",
            {
                "title": SHORT[0],
                "signature": SHORT[1],
                "navbar_style": "light",
                "footer": "".join(SHORT[20:30]),
                "posts_per_page": "50",
                "comment_mode": "open",
                "language": "auto",
            },
        )
    )
    posted(admin.post_form("/admin/account", {"display_name": SHORT[2], "email": EMAILS[0]}))
    posted(
        admin.post_form(
            "/admin/widgets",
            {"kind": "html", "title": SHORT[3], "content": "\n".join(PAYLOADS[30:60])},
        )
    )
    # Menu entries, categories, sources and a page named after payloads.
    for payload in SHORT[:4]:
        posted(admin.post_form("/admin/menus", {"kind": "link", "label": payload, "url": ""}))
    menu_ids = ids_in(admin.get("/admin/menus").text, r"/admin/menus/([0-9]+)")
    for number, payload in enumerate(SHORT[4:12]):
        form = {"name": payload, "intro": SHORT[-1 - number], "in_menu": "1"}
        posted(admin.post_form("/admin/categories", form))
    page = {"title": PAYLOADS[0][:200], "slug": "xss-page", "content": "\n".join(PAYLOADS[:20])}
    page |= {"summary": PAYLOADS[1], "status": "published", "publish_at": ""}
    site.page_id = new_id(admin.post_form("/admin/pages/new", page), r"/admin/pages/([0-9]+)/edit")
    entry = {"kind": "page", "page_id": str(site.page_id), "label": SHORT[12]}
    posted(admin.post_form("/admin/menus", entry | {"parent_id": str(menu_ids[0])}))
    posted(admin.post_form("/admin/menus", {"kind": "link", "label": SHORT[13], "url": "/x?a=<b>"}))
    site.category_ids = ids_in(admin.get("/admin/categories").text, r"/admin/categories/([0-9]+)")
    for number, payload in enumerate(SHORT[12:16]):
        posted(admin.post_form("/admin/sources", {"code": f"src{number}", "name": payload}))
    # One published article per payload: title, summary, Markdown, tags, a category.
    for number, payload in enumerate(PAYLOADS):
        tag = SHORT[number % len(SHORT)].replace(",", " ")
        form = {
            "title": payload[:200],
            "content": f"# {payload}\n\n{payload}\n\n> {payload}\n\n- {payload}\n\n`{payload}`",
            "summary": payload,
            "category_id": str(site.category_ids[number % len(site.category_ids)]),
            "source_id": "",
            "tags": tag,
            "status": "published",
            "publish_at": "",
        }
        article_id = new_id(
            admin.post_form("/admin/articles/new", form), r"/admin/articles/([0-9]+)/edit"
        )
        site.article_ids.append(article_id)
        site.tags.append(tag)
    # Comments from an anonymous reader on the first articles: name, e-mail, text.
    reader = BlogClient(site.live.url)
    for number, article_id in enumerate(site.article_ids[:12]):
        page = reader.get(f"/article/{article_id}")
        page = reader.follow(page) if page.status_code == 301 else page
        assert 'id="comment-form"' in page.text, "the article page has a comment form"
        # What the form's script fetches: this visitor's token (a cookie) and form time.
        form_time = reader.get(f"/article/{article_id}/comment").json()["form_time"]
        form = {
            "author_name": SHORT[number % len(SHORT)],
            "author_email": EMAILS[number % len(EMAILS)],
            "content": "\n".join(PAYLOADS[number * 5 : number * 5 + 5]),
            "reply_to": "",
            "form_time": form_time,
        }
        posted(reader.post_form(f"/article/{article_id}/comment", form))
    # An edit, so the revisions pages have something to diff.
    first = site.article_ids[0]
    edited = {"title": PAYLOADS[5], "content": PAYLOADS[6], "summary": "", "tags": ""}
    edited |= {"category_id": "", "source_id": "", "status": "published", "publish_at": ""}
    posted(admin.post_form(f"/admin/articles/{first}/edit", edited))


def reader_pages(site: XssSite) -> list[str]:
    pages = ["/", "/?page=2", "/archive", "/sitemap.xml", "/feed.atom", "/feed.rss", "/xss-page"]
    pages += [f"/article/{article_id}" for article_id in site.article_ids]
    pages += [f"/category/{category_id}" for category_id in site.category_ids]
    home = BlogClient(site.live.url).get("/").text
    tag_links = sorted(set(re.findall(r'href="(/tag/[^"]+)"', home)))
    assert tag_links, "the home page links to the tags"
    pages += [html.unescape(link) for link in tag_links[:12]]
    pages += [f"/source/src{number}" for number in range(4)]
    archive = BlogClient(site.live.url).get("/archive").text
    pages += sorted(set(re.findall(r'href="(/archive/[0-9]{4}/[0-9]{2})"', archive)))
    pages += [f"/search?q={quote(payload, safe='')}" for payload in SHORT[:12]]
    pages += ["/search?q=script", "/search?q=onerror", "/search?q=javascript"]
    return pages


def admin_pages(site: XssSite) -> list[str]:
    first = site.article_ids[0]
    revisions = site.admin.get(f"/admin/articles/{first}/revisions").text
    diffs = sorted(set(re.findall(r'href="(/admin/articles/[0-9]+/revisions/[0-9]+)"', revisions)))
    pages = ["/admin", "/admin/articles", "/admin/articles?page=2", "/admin/comments"]
    pages += ["/admin/comments?status=pending", "/admin/categories", "/admin/menus"]
    pages += ["/admin/sources", "/admin/tags", "/admin/widgets", "/admin/settings"]
    pages += ["/admin/account", "/admin/media", "/admin/export", "/admin/articles/new"]
    pages += [f"/admin/articles/{article_id}/edit" for article_id in site.article_ids[:6]]
    pages += [f"/admin/articles/{first}/revisions", *diffs[:2]]
    pages += [f"/admin/categories/{site.category_ids[0]}/delete", "/admin/pages"]
    pages += [f"/admin/pages/{site.page_id}/edit"]
    return pages


def visit(page: Page, url: str, dialogs: list[str]) -> str | None:
    """Open ``url``; a reason when a payload ran, else None."""
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status < 400, (url, response and response.status)
    page.wait_for_timeout(30)  # let late error events (broken images) fire
    if page.evaluate("() => typeof window.__xss !== 'undefined'"):
        return f"{url}: the marker was set"
    if dialogs:
        return f"{url}: dialog {dialogs}"
    if urlsplit(page.url).netloc != urlsplit(url).netloc:  # a canonical redirect is fine
        return f"{url}: navigated away to {page.url}"
    return None


def test_no_payload_runs_on_any_page(browser: Browser, xss_site: XssSite) -> None:
    assert len(PAYLOADS) >= 50
    live = xss_site.live
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {"name": name, "value": value, "url": live.url}
            for name, value in xss_site.admin.cookies.items()
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        if dialog.type != "beforeunload":  # the editor asking before leaving is not a payload
            dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # The detector works: the same payloads, unescaped, do run in this browser.
    for control in (PAYLOADS[8], PAYLOADS[12], PAYLOADS[21]):
        page.set_content(control)
        page.wait_for_timeout(50)
        ran_here = page.evaluate("() => window.__xss === 1") or bool(dialogs)
        assert ran_here, f"the control payload did not run: {control}"
        dialogs.clear()
    ran: list[str] = []
    try:
        # Anonymous first (the page cache serves readers), then as the signed-in author.
        anonymous = browser.new_context(locale="en-US")
        reader = anonymous.new_page()
        reader.on("dialog", on_dialog)
        for url in reader_pages(xss_site):
            ran += [reason for reason in [visit(reader, live.url + url, dialogs)] if reason]
            dialogs.clear()
        anonymous.close()
        for url in reader_pages(xss_site)[:8] + admin_pages(xss_site):
            ran += [reason for reason in [visit(page, live.url + url, dialogs)] if reason]
            dialogs.clear()
    finally:
        context.close()
    assert ran == [], "\n".join(ran)
