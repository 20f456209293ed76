"""The reader's first pages: the article list and one article."""

from __future__ import annotations

from controller.base import BaseHandler
from service import articles


class HomeHandler(BaseHandler):
    async def get(self) -> None:
        page = self.get_int_argument("page", 1)
        items, pager = await self.run(articles.list_published, page, self.site.posts_per_page)
        self.render("home.html", articles=items, pager=pager)


class ArticleHandler(BaseHandler):
    async def get(self, article_id: str, slug: str | None = None) -> None:
        article = await self.run(articles.get_published, int(article_id))
        self.render("article.html", article=article)


routes = [
    (r"/", HomeHandler),
    (r"/article/([0-9]{1,18})(?:/([^/]*))?", ArticleHandler),
]
