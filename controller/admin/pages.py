"""Pages (About, Contact): their list, and the article editor in page mode; slugs on demand."""

from __future__ import annotations

from controller.admin.articles import DeleteArticleHandler, EditorHandler
from controller.admin.base import AdminHandler, pager_base
from service import editor, roles, slugs
from service.editor import ArticleFilter


class PageListHandler(AdminHandler):
    capability = roles.MANAGE_CONTENT

    async def get(self) -> None:
        filters = ArticleFilter(
            kind="page",
            status=self.get_argument("status", ""),
            text=self.get_argument("q", "").strip()[:100],
            page=self.get_int_argument("page", 1),
        )
        pages, pager = await self.run(editor.list_articles, filters, self.actor)
        self.render(
            "admin/pages.html",
            admin_section="pages",
            pages=pages,
            pager=pager,
            filters=filters,
            pager_base=pager_base("/admin/pages", status=filters.status, q=filters.text),
        )


class PageEditorHandler(EditorHandler):
    """/admin/pages/new and /admin/pages/<id>/edit: no category, tags or schedule."""

    capability = roles.MANAGE_CONTENT

    kind = "page"


class SlugHandler(AdminHandler):
    """GET /admin/slug?title=…: the slug the server would make (the editor's slug field)."""

    capability = roles.EDIT_OWN

    async def get(self) -> None:
        title = self.get_argument("title", "")[:200]
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish({"slug": slugs.slug_from_title(title)})


ID = r"([0-9]{1,18})"

routes = [
    (r"/admin/pages", PageListHandler),
    (r"/admin/pages/new", PageEditorHandler),
    (rf"/admin/pages/{ID}/edit", PageEditorHandler),
    (rf"/admin/pages/{ID}/delete", DeleteArticleHandler),
    (r"/admin/slug", SlugHandler),
]
