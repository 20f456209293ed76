"""UI modules: the repeated pieces of reader pages (navigation, cards, pager, comments...)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

import tornado.web

from controller.base import CACHED_READ_TTL_SECONDS
from controller.reader_base import PAGE_SCOPES, SIDEBAR_SCOPES, SIDEBAR_TTL_SECONDS
from extends.cache import FRAGMENTS
from model.pager import Pager as PagerModel
from service.articles import ArticlePage, ArticleSummary
from service.avatars import avatar_html
from service.comments import CommentView
from service.images import ARTICLE_SIZES, CARD_SIZES, ImageInfo
from service.rendering import picture_html
from service.widgets import SidebarWidget

if TYPE_CHECKING:
    from controller.base import BaseHandler

LANGUAGE_NAMES = {"en_US": "English", "zh_CN": "简体中文"}


class SiteNav(tornado.web.UIModule):
    """Menus with their categories, then the categories under no menu (when loaded)."""

    def render(self) -> bytes:
        navigation = getattr(self.handler, "navigation", None)
        return self.render_string("modules/nav.html", navigation=navigation)


class LanguageSwitch(tornado.web.UIModule):
    def render(self) -> bytes:
        supported = cast("BaseHandler", self.handler).application.languages
        languages = [(code, LANGUAGE_NAMES.get(code, code)) for code in supported]
        here = self.request.uri or "/"
        return self.render_string(
            "modules/language_switch.html",
            languages=languages,
            current=self.locale.code,
            next_query=urlencode({"next": here}),
        )


class ArticleCard(tornado.web.UIModule):
    def render(
        self, article: ArticleSummary, title_html: str = "", snippet_html: str = ""
    ) -> bytes:
        return self.render_string(
            "modules/article_card.html",
            article=article,
            title_html=title_html,
            snippet_html=snippet_html,
            card_sizes=CARD_SIZES,
        )


class Picture(tornado.web.UIModule):
    """A library image at every size it has (``<picture>`` with WebP, srcset, width/height)."""

    def render(
        self,
        image: ImageInfo,
        sizes: str = ARTICLE_SIZES,
        loading: str = "lazy",
        alt: str = "",
        small: bool = False,
    ) -> str:
        return picture_html(image, alt or image.alt, sizes, loading, small=small)


class Pager(tornado.web.UIModule):
    """Numbered pages with previous/next; ``query`` keeps other arguments (the search)."""

    def render(
        self, pager: PagerModel, base_path: str, query: dict[str, str] | None = None
    ) -> bytes:
        def page_url(number: int) -> str:
            arguments = dict(query or {})
            if number > 1:
                arguments["page"] = str(number)
            return base_path + ("?" + urlencode(arguments) if arguments else "")

        return self.render_string("modules/pager.html", pager=pager, page_url=page_url)


class ArticleBody(tornado.web.UIModule):
    """The article itself (header, picture, contents, text) and its previous/next links.

    The same bytes for every reader in one language: drawn once and kept while the
    article's cached page stays the same (see ``kept_fragment``).
    """

    def render(self, page: ArticlePage) -> bytes:
        return kept_fragment(
            self,
            f"article-html:{page.article.id}",
            page.article.id,
            (page,),
            lambda: self.render_string(
                "modules/article_body.html", page=page, article=page.article
            ),
        )


class CommentList(tornado.web.UIModule):
    """An article's visible comments, each as ``modules/comment.html`` draws it.

    The same for every reader in one language (the form, which carries the visitor's
    token, is drawn around it): kept while the cached comment list stays the same.
    """

    def render(self, article_id: int, comments: list[CommentView], comments_open: bool) -> bytes:
        def draw() -> bytes:
            # Each item between line breaks, as the template's loop over them wrote it.
            return b"".join(
                b"\n"
                + self.render_string(
                    "modules/comment.html", comment=comment, comments_open=comments_open
                )
                + b"\n"
                for comment in comments
            )

        return kept_fragment(
            self, f"comments-html:{article_id}:{int(comments_open)}", article_id, (comments,), draw
        )


def kept_fragment(
    module: tornado.web.UIModule,
    name: str,
    article_id: int,
    sources: tuple[object, ...],
    draw: Callable[[], bytes],
) -> bytes:
    """HTML ``draw`` makes from ``sources``, kept per language in the fragments region.

    ``sources`` are objects from the coherent cache (the article's page, its comments) and,
    added here, the site's settings (time zone, comment mode). The bus replaces them when
    what they hold changes, so a kept drawing counts only while it was drawn from these very
    objects: it is never older than the data the rest of the page shows. Only trusted HTML
    is kept: what the page's own escaping templates drew.
    """
    handler = cast("BaseHandler", module.handler)
    cache = handler.application.cache
    key = f"{name}:{module.locale.code}"
    drawn_from = (*sources, handler.site)
    kept = cache.get(key, region=FRAGMENTS)
    if kept is not None and all(map(operator.is_, kept[0], drawn_from)):
        return cast(bytes, kept[1])
    html = draw()
    cache.set(
        key,
        (drawn_from, html),
        scopes=(*PAGE_SCOPES, f"article:{article_id}", f"comments:{article_id}"),
        ttl=CACHED_READ_TTL_SECONDS,
        region=FRAGMENTS,
    )
    return html


class Sidebar(tornado.web.UIModule):
    """The widgets; each one's HTML is kept per language until its data changes.

    A widget comes from the cached sidebar (``ReaderHandler.sidebar``) and stays the same
    object until the bus drops that: its id names the fragment while the fragment holds it.
    Today's statistics change with every view and are drawn each time.
    """

    def render(self, widgets: list[SidebarWidget]) -> bytes:
        handler = cast("BaseHandler", self.handler)
        cache = handler.application.cache
        parts = []
        for index, widget in enumerate(widgets):
            if widget.kind == "stats":
                parts.append(self._draw(index, widget))
                continue
            key = f"widget-html:{self.locale.code}:{index}:{id(widget)}"
            kept = cache.get(key)
            if kept is not None and kept[0] is widget:
                parts.append(kept[1])
                continue
            html = self._draw(index, widget)
            cache.set(key, (widget, html), scopes=SIDEBAR_SCOPES, ttl=SIDEBAR_TTL_SECONDS)
            parts.append(html)
        return b"".join(parts)

    def _draw(self, index: int, widget: SidebarWidget) -> bytes:
        return self.render_string("modules/widget.html", index=index, widget=widget)


class Avatar(tornado.web.UIModule):
    """A user's uploaded avatar, or the identicon drawn from ``seed``."""

    def render(self, avatar: str | None, seed: str, size: int = 40) -> str:
        return avatar_html(avatar, seed, size)


ui_modules = {
    "SiteNav": SiteNav,
    "LanguageSwitch": LanguageSwitch,
    "ArticleCard": ArticleCard,
    "Pager": Pager,
    "Picture": Picture,
    "ArticleBody": ArticleBody,
    "CommentList": CommentList,
    "Sidebar": Sidebar,
    "Avatar": Avatar,
}
