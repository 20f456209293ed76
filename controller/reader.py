"""The reader's pages: lists of articles, one article, search, the archive, feeds, languages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from controller.base import LANGUAGE_COOKIE, PageError
from controller.reader_base import PAGE_SCOPES, ReaderHandler
from controller.redirects import old_url_target
from extends.ratelimit import RateLimitUnavailable
from service import articles, feeds, search, seo

log = logging.getLogger("blog.reader")

T = TypeVar("T")
P = ParamSpec("P")

# How often a reader waiting on another's search of the same words tries again as itself
# when that search was refused for the other reader's limit.
SEARCH_ATTEMPTS = 3


class SearchRefused(Exception):
    """A search's client is over the limit; ``wait`` seconds until it may search again."""

    def __init__(self, wait: int):
        super().__init__(wait)
        self.wait = wait


class ListingHandler(ReaderHandler):
    """A paginated list of articles; the page size comes from the site settings only."""

    def page_number(self) -> int:
        return self.get_int_argument("page", 1)

    async def cached_listing(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A listing from this instance's cache (signed-in readers skip the page cache but
        share this), dropped by what drops the pages."""
        key = f"listing:{fn.__name__}:{(args, sorted(kwargs.items()))!r}"
        return await self.cached_run(key, PAGE_SCOPES, fn, *args, **kwargs)

    async def show_listing(
        self, listing: articles.Listing, base_path: str, title: str, kind: str, **extra: Any
    ) -> None:
        await self.render_page(
            "listing.html",
            listing=listing,
            base_path=base_path,
            page_title=title,
            kind=kind,
            sidebar=await self.sidebar(),
            **extra,
        )


class HomeHandler(ListingHandler):
    async def get(self) -> None:
        if self.request.query and ("p=" in self.request.query or "page_id=" in self.request.query):
            # WordPress's /?p=123 and /?page_id=7 of an imported site.
            target = await old_url_target(self, "/", self.request.query)
            if target is not None:
                self.redirect(target, permanent=True)
                return
        listing = await self.cached_listing(
            articles.list_published, self.page_number(), self.site.posts_per_page
        )
        structured = seo.website(self.site.title, self.site.signature, self.base_url())
        await self.render_page(
            "home.html",
            listing=listing,
            base_path="/",
            kind="home",
            structured_data=seo.script_json(structured),
            sidebar=await self.sidebar(),
        )


class CategoryHandler(ListingHandler):
    """/category/<slug>; /category/<id> and an old slug answer 301 to it."""

    async def get(self, slug: str) -> None:
        listing = await self.cached_listing(
            articles.category_listing, slug, self.page_number(), self.site.posts_per_page
        )
        if isinstance(listing, articles.MovedTo):
            self.redirect_moved(listing.path)
            return
        title = self._("Category: %(name)s") % {"name": listing.heading}
        await self.show_listing(listing, articles.category_path(slug), title, "category")


class TagHandler(ListingHandler):
    async def get(self, name: str) -> None:
        listing = await self.cached_listing(
            articles.tag_listing, name, self.page_number(), self.site.posts_per_page
        )
        title = self._("Tag: %(name)s") % {"name": listing.heading}
        await self.show_listing(listing, articles.tag_path(name), title, "tag")


class AuthorHandler(ListingHandler):
    """/author/<username>: an author's articles, with their feeds announced."""

    async def get(self, username: str) -> None:
        listing = await self.run(
            articles.author_listing, username, self.page_number(), self.site.posts_per_page
        )
        title = self._("Author: %(name)s") % {"name": listing.heading}
        await self.show_listing(listing, articles.author_path(username), title, "author")


class SourceHandler(ListingHandler):
    async def get(self, code: str) -> None:
        listing = await self.run(
            articles.source_listing, code, self.page_number(), self.site.posts_per_page
        )
        title = self._("Source: %(name)s") % {"name": self._(listing.heading)}
        await self.show_listing(listing, f"/source/{code}", title, "source")


class MonthHandler(ListingHandler):
    async def get(self, year: str, month: str) -> None:
        listing = await self.run(
            articles.month_listing,
            int(year),
            int(month),
            self.page_number(),
            self.site.posts_per_page,
        )
        title = self._("Archive: %(year)s-%(month)s") % {"year": year, "month": month}
        await self.show_listing(listing, f"/archive/{year}/{month}", title, "month")


class ArchiveIndexHandler(ReaderHandler):
    async def get(self) -> None:
        months = await self.run(articles.archive_months)
        await self.render_page("archive.html", months=months, sidebar=await self.sidebar())


class SearchHandler(ReaderHandler):
    def page_cacheable(self) -> bool:
        # Queries are endless: the results are cached by their words, not the whole pages.
        return False

    async def get(self) -> None:
        query = self.get_argument("q", "")
        page = self.get_int_argument("page", 1)
        refusal = search.query_refusal(query)
        if refusal is not None:
            # An empty box is a question, not an error; a query too long to run is a 400.
            await self.render_page(
                "search.html",
                query=query,
                results=None,
                problem=self.service_message(refusal),
                status=200 if not query.strip() else 400,
                sidebar=await self.sidebar(),
            )
            return
        results = await self.search_results(query, page)
        await self.render_page(
            "search.html",
            query=query,
            results=results,
            problem=None,
            sidebar=await self.sidebar(),
        )

    async def search_results(self, query: str, page: int) -> search.SearchResults:
        """A page of results: from the cache (every article change drops it), else searched,
        which counts against the client's limit (a repeated query costs nothing).

        The search that runs claims its words before it asks the limit: readers asking for
        the same words meanwhile wait for its results and count nothing. If that search is
        refused (someone else's limit), a waiter tries again as itself.
        """
        per_page = self.site.posts_per_page
        key = search.cache_key(query, page, per_page)
        address = self.request.remote_ip or ""
        for _ in range(SEARCH_ATTEMPTS):
            mine = False

            async def limited_search() -> search.SearchResults:
                nonlocal mine
                mine = True
                wait = await self.search_wait(address)
                if wait:
                    raise SearchRefused(wait)
                return await self.run(search.search_articles, query, page, per_page)

            try:
                return await self.application.cache.get_or_load(
                    key,
                    limited_search,
                    scopes=search.CACHE_SCOPES,
                    ttl=search.CACHE_TTL_SECONDS,
                )
            except SearchRefused as refused:
                if mine:
                    raise self.searching_too_often(refused.wait) from None
        # Search after search refused for others' limits: this reader's turn is not near.
        raise self.searching_too_often(max(1, await self.search_wait(address, count=False)))

    def searching_too_often(self, wait: int) -> PageError:
        return PageError(
            429,
            self._("You are searching too often. Please wait a minute and try again."),
            retry_after=wait,
        )

    async def search_wait(self, address: str, count: bool = True) -> int:
        """Seconds this address must wait before searching (0: go; counted if ``count``)."""
        limit = self.application.search_limit
        try:
            return await (limit.hit(address) if count else limit.retry_after(address))
        except RateLimitUnavailable:
            # Redis is down: searching still works, the results cache still spares the database.
            log.warning("search rate limit unavailable; letting a search through")
            return 0


class LanguageHandler(ReaderHandler):
    """GET /lang/<code>?next=/path: remember the language and go back (same site only)."""

    def page_cacheable(self) -> bool:
        return False

    async def get(self, code: str) -> None:
        if code not in self.application.languages:
            raise PageError(404, self._("There is no such language."))
        self.set_cookie(
            LANGUAGE_COOKIE,
            code,
            expires_days=365,
            httponly=True,
            samesite="Lax",
            secure=self.application.config.secure_cookies,
        )
        self.redirect(self.safe_next(self.get_argument("next", None)))


class DocumentHandler(ReaderHandler):
    """An XML or text document kept in the page cache like a page."""

    async def send_document(self, body: str, content_type: str) -> None:
        self.store_page(self.page_cacheable(), body, content_type, (), None)
        await self.finish_page(body, content_type)


class FeedHandler(DocumentHandler):
    """Atom or RSS with the full content of the newest listed articles."""

    async def get(self, kind: str) -> None:
        entries = await self.run(feeds.feed_entries)
        await self.send_feed(kind, entries, self.site.title, "")

    async def send_feed(
        self, kind: str, entries: list[feeds.FeedEntry], title: str, path: str
    ) -> None:
        site = feeds.SiteInfo(
            title=title,
            subtitle=self.site.signature,
            base_url=self.base_url(),
            language=self.locale.code.replace("_", "-"),
            path=path,
        )
        if kind == "atom":
            body, content_type = feeds.atom_feed(site, entries), "application/atom+xml"
        else:
            body, content_type = feeds.rss_feed(site, entries), "application/rss+xml"
        await self.send_document(body.decode("utf-8"), content_type + "; charset=UTF-8")


class CategoryFeedHandler(FeedHandler):
    """/category/<slug>/feed.atom|rss; an id or old slug answers 301 to the current feed."""

    async def get(self, slug: str, kind: str) -> None:  # type: ignore[override]
        feed = await self.run(feeds.category_feed, slug)
        if isinstance(feed, articles.MovedTo):
            self.redirect_moved(f"{feed.path}/feed.{kind}")
            return
        await self.send_feed(kind, feed.entries, f"{self.site.title} · {feed.name}", feed.path)


class TagFeedHandler(FeedHandler):
    async def get(self, name: str, kind: str) -> None:  # type: ignore[override]
        feed = await self.run(feeds.tag_feed, name)
        await self.send_feed(kind, feed.entries, f"{self.site.title} · {feed.name}", feed.path)


class AuthorFeedHandler(FeedHandler):
    async def get(self, username: str, kind: str) -> None:  # type: ignore[override]
        feed = await self.run(feeds.author_feed, username)
        await self.send_feed(kind, feed.entries, f"{self.site.title} · {feed.name}", feed.path)


class SitemapHandler(DocumentHandler):
    async def get(self) -> None:
        entries = await self.run(feeds.sitemap_entries)
        body = feeds.sitemap_xml(self.base_url(), entries).decode("utf-8")
        await self.send_document(body, "application/xml; charset=UTF-8")


routes = [
    (r"/", HomeHandler),
    (r"/category/([^/]{1,200})", CategoryHandler),
    (r"/category/([^/]{1,200})/feed\.(atom|rss)", CategoryFeedHandler),
    (r"/tag/([^/]+)", TagHandler),
    (r"/tag/([^/]+)/feed\.(atom|rss)", TagFeedHandler),
    (r"/author/([^/]{1,64})", AuthorHandler),
    (r"/author/([^/]{1,64})/feed\.(atom|rss)", AuthorFeedHandler),
    (r"/source/([a-z0-9_-]{1,32})", SourceHandler),
    (r"/archive", ArchiveIndexHandler),
    (r"/archive/([0-9]{4})/([0-9]{2})", MonthHandler),
    (r"/search", SearchHandler),
    (r"/lang/([A-Za-z_]{2,10})", LanguageHandler),
    (r"/feed\.(atom|rss)", FeedHandler),
    (r"/sitemap\.xml", SitemapHandler),
]
