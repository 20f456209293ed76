"""ReaderHandler: what every reader page shares — navigation, sidebar, counting, the page cache.

The full-page cache keeps the HTML of pages anonymous visitors see (no session
cookie, so no flash and no user). Such a page is the same bytes for everyone, so
nginx's micro-cache may keep it too: it sets no cookie and holds no token. The
comment form's XSRF field and signed time are left empty there; its script fills
them from ``GET /article/<id>/comment`` (uncached), and a post without them gets
the form back with its text to confirm (controller/article.py).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from controller.base import LANGUAGE_COOKIE, BaseHandler
from controller.origin import content_security_policy
from extends.cache import PAGES
from extends.session import COOKIE_NAME
from model.base import utcnow
from service import appearance, stats, widgets

PAGE_TTL_SECONDS = 300
SIDEBAR_TTL_SECONDS = 60
SIDEBAR_SCOPES = ("widgets", "articles", "comments", "nav", "stats", "settings")
# Every reader page shows the navigation, the sidebar and the settings: any of them drops it.
PAGE_SCOPES = ("pages", "settings", "nav", "widgets", "articles", "comments", "stats")
PAGE_ARGUMENTS = ("page", "reply_to", "comment")
# What a shared page carries in place of a visitor's token: an empty field the script fills.
EMPTY_XSRF_FIELD = '<input type="hidden" name="_xsrf" value="">'
FORM_TIME_NAME = "comment_form_time"
_BOT = re.compile(
    r"bot|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|monitor|"
    r"curl|wget|python-requests|python-urllib|httpclient|feedfetcher|headlesschrome",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CachedPage:
    """A kept page: its bytes as sent, encoded and hashed once when it is stored."""

    body: bytes
    content_type: str
    article_id: int | None
    etag: str


@functools.lru_cache(maxsize=16)
def reader_policy(header_code: str, footer_code: str) -> str | None:
    """The CSP allowing the administrator's header/footer scripts (None: none to allow).

    Parsed once per version of the code, not on every request."""
    allowances = appearance.script_allowances(header_code, footer_code)
    return content_security_policy(allowances.sources) if allowances.sources else None


def page_etag(body: bytes) -> str:
    """The ETag Tornado would compute for ``body`` (a fresh render and a kept one agree)."""
    # Not a secret: the same hash Tornado's compute_etag uses.
    return f'"{hashlib.sha1(body, usedforsecurity=False).hexdigest()}"'


class ReaderHandler(BaseHandler):
    """Base of the reader's pages."""

    def initialize(self) -> None:
        super().initialize()
        self._rendering_for_cache = False
        self._cache_generation = 0

    async def prepare(self) -> None:
        await super().prepare()
        if self._finished:
            return
        # The administrator's header/footer code runs on reader pages: its scripts are allowed.
        policy = reader_policy(self.site.header_code, self.site.footer_code)
        if policy is not None:
            self.set_header("Content-Security-Policy", policy)
        self._cache_generation = self.application.cache.generation
        if self.page_cacheable():
            cached = self.application.cache.get(self.page_key(), region=PAGES)
            if cached is not None:
                await self.count_view(cached.article_id, cached.content_type)
                self.set_header("Content-Type", cached.content_type)
                self.vary_on_browser_language()
                # The ETag was computed when the page was kept: no hashing per request.
                self.set_header("Etag", cached.etag)
                if self.check_etag_header():
                    self.set_status(304)
                    self.finish()
                else:
                    self.finish(cached.body)
                return

    async def head(self, *args: str) -> None:
        # Every reader page is a GET; HEAD answers the same headers (Tornado drops the body).
        answer = self.get(*args)
        if answer is not None:
            await answer

    # --- the full-page cache ----------------------------------------------------------

    def page_cacheable(self) -> bool:
        return (
            self.request.method in ("GET", "HEAD")
            and not self.get_cookie(COOKIE_NAME)
            and not self.current_user
        )

    def compute_etag(self) -> str | None:
        # A page drawn for one signed-in visitor holds a fresh XSRF token: it never matches.
        if not self.page_cacheable():
            return None
        return super().compute_etag()

    def reads_may_be_stale(self) -> bool:
        # Anonymous readers may read a replica; a browser that just wrote reads its write.
        return (
            self.request.method in ("GET", "HEAD")
            and not self.get_cookie(COOKIE_NAME)
            and not self.current_user
            and not self.wrote_recently()
        )

    def page_key(self) -> str:
        # Only the arguments pages read are part of the key: "?utm_source=..." or random junk
        # shares the entry of the plain URL instead of filling the cache with copies.
        request = self.request
        arguments = urlencode(
            [
                (name, self.get_argument(name))
                for name in PAGE_ARGUMENTS
                if name in request.arguments
            ]
        )
        return (
            f"page:{self.locale.code}:{request.protocol}://{request.host}{request.path}?{arguments}"
        )

    async def render_page(
        self,
        template_name: str,
        *,
        scopes: tuple[str, ...] = (),
        article_id: int | None = None,
        status: int = 200,
        **kwargs: Any,
    ) -> None:
        """Render a reader page; keep it for anonymous visitors when it is a plain 200."""
        cacheable = status == 200 and self.page_cacheable()
        self._rendering_for_cache = cacheable
        try:
            html = self.render_string(template_name, **kwargs)
        finally:
            self._rendering_for_cache = False
        content_type = "text/html; charset=UTF-8"
        if cacheable:
            self.store_page(cacheable, html, content_type, scopes, article_id)
        # Sent as drawn: decoding and encoding a signed-in page again costs more than drawing it.
        await self.finish_page(html, content_type, status, article_id)

    def store_page(
        self,
        cacheable: bool,
        body: str | bytes,
        content_type: str,
        scopes: tuple[str, ...],
        article_id: int | None,
    ) -> None:
        # An invalidation that arrived while this page was built makes it stale: do not keep it.
        if cacheable and self.application.cache.generation == self._cache_generation:
            encoded = body.encode("utf-8") if isinstance(body, str) else body
            self.application.cache.set(
                self.page_key(),
                CachedPage(encoded, content_type, article_id, page_etag(encoded)),
                scopes=(*PAGE_SCOPES, *scopes),
                ttl=PAGE_TTL_SECONDS,
                region=PAGES,
            )

    async def finish_page(
        self,
        body: str | bytes,
        content_type: str,
        status: int = 200,
        article_id: int | None = None,
    ) -> None:
        if status == 200:
            await self.count_view(article_id, content_type)
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        if self.page_cacheable():
            self.vary_on_browser_language()
        self.finish(body)

    def vary_on_browser_language(self) -> None:
        """A shared page in the language the browser asked for says so to caches (nginx)."""
        if (
            not self.get_cookie(LANGUAGE_COOKIE)
            and self.site.language not in self.application.languages
        ):
            self.set_header("Vary", "Accept-Language")

    def xsrf_form_html(self) -> str:
        # A page everyone shares carries no visitor's token (and sets no _xsrf cookie).
        if self._rendering_for_cache:
            return EMPTY_XSRF_FIELD
        return super().xsrf_form_html()

    def comment_form_time(self) -> str:
        """The signed moment the comment form was shown (checked against quick robots)."""
        if self._rendering_for_cache:
            return ""
        return self.signed_form_time()

    def signed_form_time(self) -> str:
        """Now, signed: the comment form's "shown at" that a post must bring back."""
        return self.create_signed_value(
            FORM_TIME_NAME, str(int(self.application.clock.time()))
        ).decode()

    # --- counting ---------------------------------------------------------------------

    def is_robot(self) -> bool:
        agent = self.request.headers.get("User-Agent", "")
        return not agent or bool(_BOT.search(agent))

    async def count_view(self, article_id: int | None, content_type: str = "text/html") -> None:
        """One page view (and one article view) for a person's GET of an HTML page."""
        if self.request.method != "GET" or not content_type.startswith("text/html"):
            return
        if self.is_robot():
            return
        today = utcnow().date()
        await self.record_view(today, self.visitor_id(today), article_id)

    def visitor_id(self, day: datetime.date) -> str:
        """Who counts as one visitor today, without a cookie (a shared page sets none).

        A keyed hash of the day, the address and the browser: the same person on the same
        day counts once, and nothing links one day's id to the next or to an address.
        """
        secret = str(self.application.settings["cookie_secret"]).encode()
        agent = self.request.headers.get("User-Agent", "")
        seen = f"{day.isoformat()}|{self.request.remote_ip or ''}|{agent}".encode()
        return hmac.new(secret, seen, hashlib.sha256).hexdigest()[:32]

    # --- what every page shows --------------------------------------------------------

    async def sidebar(self) -> list[widgets.SidebarWidget]:
        """The enabled widgets; the statistics include what is counted but not yet saved."""
        today = utcnow().date()
        loaded = await self.application.cache.get_or_load(
            f"sidebar:{today.isoformat()}",
            lambda: self.application.run_service(widgets.sidebar, today),
            scopes=SIDEBAR_SCOPES,
            ttl=SIDEBAR_TTL_SECONDS,
        )
        if not any(widget.kind == "stats" for widget in loaded):
            return loaded
        live = await self.live_counts(today)
        return [
            dataclasses.replace(widget, stats=stats.with_live_counts(widget.stats, live))
            if widget.kind == "stats" and widget.stats is not None
            else widget
            for widget in loaded
        ]

    def redirect_moved(self, path: str) -> None:
        """301 from an old URL to where its content is now, keeping the query string."""
        query = self.request.query
        self.redirect(path + (f"?{query}" if query else ""), permanent=True)

    def base_url(self) -> str:
        """Scheme and host of absolute links in feeds and meta tags (BLOG_BASE_URL if set)."""
        return self.public_base_url()

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(base_url=self.base_url(), navigation=self.navigation)
        # Reader pages (not their error pages, whose CSP is the plain one) carry the site's
        # stylesheet and the administrator's header/footer code.
        namespace["reader_page"] = self.get_status() < 400
        return namespace
