"""Pages at /<slug> (About, Contact): the last route, tried after every other one."""

from __future__ import annotations

from controller.article import ArticleHandler
from controller.base import PageError
from controller.redirects import old_url_target
from service import articles, comments


class PageHandler(ArticleHandler):
    """A published page; an old slug answers 301 to the current one. Comments, when the page
    takes them, are posted like an article's (POST /article/<id>/comment)."""

    async def get(self, slug: str) -> None:  # type: ignore[override]
        try:
            page = await self.run(articles.page_by_slug, slug)
        except PageError as exc:
            target = await old_url_target(self, self.request.path)
            if exc.status_code != 404 or target is None:
                raise
            page = articles.MovedTo(target)
        if isinstance(page, articles.MovedTo):
            self.redirect_moved(page.path)
            return
        form = comments.CommentForm(reply_to=self.reply_to_argument())
        await self.show_article(page, form)


routes = [
    (r"/([^/]{1,200})", PageHandler),
]
