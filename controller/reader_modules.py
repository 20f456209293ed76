"""UI modules: the repeated pieces of reader pages (navigation, cards, pager, comments...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

import tornado.web

from controller.reader_base import SIDEBAR_SCOPES, SIDEBAR_TTL_SECONDS
from model.pager import Pager as PagerModel
from service.articles import ArticleSummary
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


class CommentItem(tornado.web.UIModule):
    def render(self, comment: CommentView, comments_open: bool) -> bytes:
        return self.render_string(
            "modules/comment.html", comment=comment, comments_open=comments_open
        )


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
    "CommentItem": CommentItem,
    "Sidebar": Sidebar,
    "Avatar": Avatar,
}
