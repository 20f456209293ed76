"""Writing: the article list, the editor, the live preview, revisions and deletion."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from controller.admin.base import AdminHandler, FormError, pager_base
from service import editor, roles
from service.editor import ArticleFilter, ArticleForm

FORM_FIELDS = [field.name for field in dataclasses.fields(ArticleForm)]


def article_scopes(article_id: int, kind: str = "article") -> tuple[str, ...]:
    """What a change to one article (or page: it may be in the menu) makes stale for readers."""
    scopes = ("articles", f"article:{article_id}", "pages", "stats")
    return (*scopes, "nav") if kind == "page" else scopes


def editor_path(article: Any) -> str:
    section = "pages" if article.kind == "page" else "articles"
    return f"/admin/{section}/{article.id}/edit"


class ArticleListHandler(AdminHandler):
    capability = roles.EDIT_OWN

    async def get(self) -> None:
        filters = ArticleFilter(
            status=self.get_argument("status", ""),
            category_id=self.optional_int("category_id"),
            tag=self.get_argument("tag", "").strip(),
            text=self.get_argument("q", "").strip()[:100],
            page=self.get_int_argument("page", 1),
        )
        articles, pager = await self.run(editor.list_articles, filters, self.actor)
        choices = await self.run(editor.editor_choices)
        self.render(
            "admin/articles.html",
            admin_section="articles",
            articles=articles,
            pager=pager,
            filters=filters,
            categories=choices.categories,
            pager_base=pager_base(
                "/admin/articles",
                status=filters.status,
                category_id=filters.category_id or "",
                tag=filters.tag,
                q=filters.text,
            ),
        )


class EditorHandler(AdminHandler):
    """/admin/articles/new and /admin/articles/<id>/edit: one editor for both (and, with
    ``kind`` "page", for pages: controller/admin/pages.py)."""

    capability = roles.EDIT_OWN

    kind = "article"

    async def get(self, article_id: str | None = None) -> None:
        article = (
            await self.run(editor.load_article, int(article_id), acting=self.actor)
            if article_id
            else None
        )
        if article is not None and article.kind != self.kind:
            self.redirect(editor_path(article))
            return
        form = ArticleForm.from_article(article) if article else ArticleForm()
        if article is None and self.kind == "page":
            form.status = "published"
        await self.show(article, form)

    async def post(self, article_id: str | None = None) -> None:
        form = ArticleForm(**{name: self.get_argument(name, "") for name in FORM_FIELDS})
        form.status = form.status or "draft"
        current_id = int(article_id) if article_id else None
        try:
            article = await self.run_form(
                editor.save_article,
                current_id,
                form,
                self.user.id,
                kind=self.kind,
                acting=self.actor,
            )
        except FormError as error:
            existing = await self.run(editor.load_article, current_id) if current_id else None
            await self.show(existing, form, error)
            return
        messages = {
            "draft": self._("The draft is saved."),
            "published": self._("The article is published.")
            if self.kind == "article"
            else self._("The page is published."),
            "scheduled": self._("The article is scheduled."),
            "pending": self._("The article is submitted for review."),
        }
        await self.done(
            messages[article.status],
            editor_path(article),
            *article_scopes(article.id, article.kind),
        )

    async def show(self, article: Any, form: ArticleForm, error: FormError | None = None) -> None:
        choices = await self.run(editor.editor_choices, form.featured_image)
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/editor.html",
            admin_section="pages" if self.kind == "page" else "articles",
            section="pages" if self.kind == "page" else "articles",
            kind=self.kind,
            article=article,
            form=form,
            categories=choices.categories,
            sources=choices.sources,
            images=choices.images,
            error=error.message if error else None,
            # When the server last saved it (ms since the epoch): an older browser draft is stale.
            updated_ms=int(article.updated_at.replace(tzinfo=dt.UTC).timestamp() * 1000)
            if article
            else 0,
        )


class PreviewHandler(AdminHandler):
    """POST the Markdown, get the HTML the reader will see (a fragment for the editor)."""

    capability = roles.EDIT_OWN

    async def post(self) -> None:
        content = self.get_argument("content", "")
        html, toc_html = await self.run(editor.render_preview, content)
        self.set_header("Cache-Control", "no-store")
        if self.request.headers.get("X-Requested-With") == "XMLHttpRequest":
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(html)
            return
        # Without JavaScript the editor's "Preview" button opens this as a whole page.
        self.render(
            "admin/preview.html",
            admin_section="articles",
            title=self.get_argument("title", ""),
            html=html,
            toc_html=toc_html,
        )


class RevisionListHandler(AdminHandler):
    capability = roles.EDIT_OWN

    async def get(self, article_id: str) -> None:
        article, revisions = await self.run(
            editor.list_revisions, int(article_id), acting=self.actor
        )
        self.render(
            "admin/revisions.html", admin_section="articles", article=article, revisions=revisions
        )


class RevisionDiffHandler(AdminHandler):
    capability = roles.EDIT_OWN

    async def get(self, article_id: str, revision_id: str) -> None:
        view = await self.run(
            editor.revision_diff, int(article_id), int(revision_id), acting=self.actor
        )
        self.render("admin/revision_diff.html", admin_section="articles", view=view)


class RevisionRestoreHandler(AdminHandler):
    capability = roles.EDIT_OWN

    async def post(self, article_id: str, revision_id: str) -> None:
        article = await self.run(
            editor.restore_revision, int(article_id), int(revision_id), acting=self.actor
        )
        await self.done(
            self._("The revision is restored."),
            editor_path(article),
            *article_scopes(article.id, article.kind),
        )


class DeleteArticleHandler(AdminHandler):
    capability = roles.EDIT_OWN

    async def get(self, article_id: str) -> None:
        article = await self.run(editor.load_article, int(article_id), acting=self.actor)
        section = "pages" if article.kind == "page" else "articles"
        self.render("admin/article_delete.html", admin_section=section, article=article)

    async def post(self, article_id: str) -> None:
        article = await self.run(editor.load_article, int(article_id), acting=self.actor)
        await self.run(editor.delete_article, article.id, self.actor)
        page = article.kind == "page"
        await self.done(
            self._("The page is deleted.") if page else self._("The article is deleted."),
            "/admin/pages" if page else "/admin/articles",
            *article_scopes(article.id, article.kind),
            f"comments:{article_id}",
            "comments",
        )


ID = r"([0-9]{1,18})"

routes = [
    (r"/admin/articles", ArticleListHandler),
    (r"/admin/articles/new", EditorHandler),
    (rf"/admin/articles/{ID}/edit", EditorHandler),
    (rf"/admin/articles/{ID}/revisions", RevisionListHandler),
    (rf"/admin/articles/{ID}/revisions/{ID}", RevisionDiffHandler),
    (rf"/admin/articles/{ID}/revisions/{ID}/restore", RevisionRestoreHandler),
    (rf"/admin/articles/{ID}/delete", DeleteArticleHandler),
    (r"/admin/preview", PreviewHandler),
]
