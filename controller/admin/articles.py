"""Writing: the article list, the editor, the live preview, revisions and deletion."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from controller import notifications as notify
from controller.admin.base import AdminHandler, FormError, pager_base
from controller.base import PageError
from extends.clock import utc_datetime
from model.blog import ARTICLE_STATUSES
from service import autosave, editor, notifications, roles, timezones
from service.editor import ArticleFilter, ArticleForm

FORM_FIELDS = [field.name for field in dataclasses.fields(ArticleForm)]
AUTOSAVE_NEW = "/admin/articles/new/autosave"
# Title, content and summary form-encoded: the content limit (service.autosave) and room.
MAX_AUTOSAVE_BYTES = 4 * 1024 * 1024


def article_scopes(article_id: int, kind: str = "article") -> tuple[str, ...]:
    """What a change to one article (or page: it may be in the menu) makes stale for readers."""
    scopes = ("articles", f"article:{article_id}", "pages", "stats")
    return (*scopes, "nav") if kind == "page" else scopes


# Every change to an article, a category, a tag or an author publishes one of these.
ARTICLE_LIST_SCOPES = ("articles", "pages", "nav")


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
        if filters.text:
            # Free text would fill the cache with one-off entries: ask the database.
            articles, pager = await self.run(editor.list_articles, filters, self.actor)
        else:
            # Shared by everyone who sees the same list (an author sees only their own).
            whose = "all" if self.actor.can(roles.EDIT_OTHERS) else self.actor.id
            status = filters.status if filters.status in ARTICLE_STATUSES else ""
            shown = (whose, status, filters.category_id, filters.tag.lower(), filters.page)
            articles, pager = await self.cached_run(
                f"admin-articles:{shown!r}",
                ARTICLE_LIST_SCOPES,
                editor.list_articles,
                filters,
                self.actor,
            )
        choices = await self.cached_run(
            "editor-choices", ARTICLE_LIST_SCOPES, editor.editor_choices
        )
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
        current_id = int(article_id) if article_id else None
        article = (
            await self.run(editor.load_article, current_id, acting=self.actor)
            if current_id
            else None
        )
        if article is not None and article.kind != self.kind:
            self.redirect(editor_path(article))
            return
        zone_name = self.site.time_zone
        form = ArticleForm.from_article(article, zone_name) if article else ArticleForm()
        if article is None and self.kind == "page":
            form.status = "published"
        pending = await self.run(autosave.pending_autosave, current_id, self.user.id)
        restored = None
        if pending is not None and self.get_argument("autosave", "") == "restore":
            # Restore: the form shows the autosaved text; nothing is stored until Save.
            form.title, form.content, form.summary = pending.title, pending.content, pending.summary
            restored, pending = pending, None
        await self.show(article, form, pending=pending, restored=restored)

    async def post(self, article_id: str | None = None) -> None:
        form = ArticleForm(**{name: self.get_argument(name, "") for name in FORM_FIELDS})
        form.status = form.status or "draft"
        current_id = int(article_id) if article_id else None
        if current_id is not None:
            conflict = await self.run(editor.edit_conflict, current_id, form, self.actor)
            if conflict is not None:
                self.set_status(409)
                self.render("admin/edit_conflict.html", admin_section="articles", view=conflict)
                return
        now = utc_datetime(self.application.clock)
        # Submitted for review just now (not saved again while pending): editors hear of it.
        was_pending = (
            current_id is not None
            and form.status == "pending"
            and (await self.run(notifications.article_status, current_id) == "pending")
        )
        try:
            article = await self.run_form(
                editor.save_article,
                current_id,
                form,
                self.user.id,
                kind=self.kind,
                acting=self.actor,
                now=now,
            )
        except FormError as error:
            existing = await self.run(editor.load_article, current_id) if current_id else None
            await self.show(existing, form, error)
            return
        if article.status == "pending" and not was_pending:
            notify.submitted_for_review(self, article.id, self.user.id)
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

    async def show(
        self,
        article: Any,
        form: ArticleForm,
        error: FormError | None = None,
        pending: Any = None,
        restored: Any = None,
    ) -> None:
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
            pending_autosave=pending,
            restored_autosave=restored,
            zone_name=self.site.time_zone,
            autosave_url=f"/admin/articles/{article.id}/autosave" if article else AUTOSAVE_NEW,
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


class AutosaveHandler(AdminHandler):
    """POST title, content and summary while the author types (editor-autosave.js)."""

    capability = roles.EDIT_OWN

    async def post(self, article_id: str | None = None) -> None:
        self.set_header("Cache-Control", "no-store")
        if len(self.request.body) > MAX_AUTOSAVE_BYTES:
            raise PageError(413, self._("The text is too long to keep."))
        retry_after = await self.application.autosave_limit.hit(str(self.user.id))
        if retry_after:
            raise PageError(
                429, self._("Saving too often: the next autosave waits."), retry_after=retry_after
            )
        text = autosave.AutosaveText(
            title=self.get_argument("title", ""),
            content=self.get_argument("content", ""),
            summary=self.get_argument("summary", ""),
        )
        current_id = int(article_id) if article_id else None
        if current_id is not None:
            # Only someone who may edit the article keeps an autosave of it (403 otherwise).
            await self.run(editor.load_article, current_id, acting=self.actor)
        saved_at = await self.run(
            autosave.save_autosave,
            current_id,
            self.user.id,
            text,
            now=utc_datetime(self.application.clock),
        )
        self.finish(
            {
                "saved_at": timezones.utc_iso(saved_at),
                "message": self._("Autosaved at %(time)s") % {"time": self.local_time(saved_at)},
            }
        )


class AutosaveDiscardHandler(AdminHandler):
    """The editor's notice: Discard forgets the autosave and reopens the stored text."""

    capability = roles.EDIT_OWN

    async def post(self, article_id: str | None = None) -> None:
        current_id = int(article_id) if article_id else None
        await self.run(autosave.discard_autosave, current_id, self.user.id)
        target = f"/admin/articles/{current_id}/edit" if current_id else "/admin/articles/new"
        await self.done(self._("The autosaved text is discarded."), target)


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
    (r"/admin/articles/new/autosave", AutosaveHandler),
    (rf"/admin/articles/{ID}/autosave", AutosaveHandler),
    (r"/admin/articles/new/autosave/discard", AutosaveDiscardHandler),
    (rf"/admin/articles/{ID}/autosave/discard", AutosaveDiscardHandler),
]
