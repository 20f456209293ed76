"""Comment moderation: filters, one-click and bulk actions, replying as the author."""

from __future__ import annotations

from controller import live, notifications
from controller.admin.base import AdminHandler, FormError, pager_base
from controller.base import PageError
from service import moderation, roles
from service import notifications as notifications_service
from service.moderation import CommentFilter


def comment_scopes(article_ids: list[int]) -> list[str]:
    scopes = ["comments", "articles", "pages", "stats"]
    for article_id in article_ids:
        scopes += [f"comments:{article_id}", f"article:{article_id}"]
    return scopes


class CommentListHandler(AdminHandler):
    capability = roles.MODERATE_COMMENTS

    async def get(self) -> None:
        filters = CommentFilter(
            status=self.get_argument("status", ""),
            article_id=self.optional_int("article_id"),
            page=self.get_int_argument("page", 1),
        )
        listing = await self.run(moderation.list_comments, filters)
        self.render(
            "admin/comments.html",
            admin_section="comments",
            listing=listing,
            filters=filters,
            back=self.request.uri,
            pager_base=pager_base(
                "/admin/comments", status=filters.status, article_id=filters.article_id or ""
            ),
        )


class ModerateHandler(AdminHandler):
    """POST /admin/comments/<id>/<action>, or /admin/comments/bulk with ids and action."""

    capability = roles.MODERATE_COMMENTS

    async def post(self, comment_id: str | None = None, action: str | None = None) -> None:
        ids = [int(comment_id)] if comment_id else self.selected_ids()
        action = action or self.get_argument("action", "")
        if action not in moderation.ACTIONS:
            raise PageError(400, self._("Unknown action."))
        if not ids:
            self.flash(self._("Please select at least one comment."), "warning")
            await self.redirect_to(self.back_url())
            return
        waiting = await self.run(notifications_service.pending_among, ids)
        article_ids = await self.run(moderation.moderate, ids, action)
        await live.comments_changed(self.application, article_ids, ids)
        if action == "approve":
            notifications.comments_approved(self, waiting)
        done = {
            "approve": self._("Approved."),
            "hide": self._("Hidden."),
            "spam": self._("Marked as spam."),
            "delete": self._("Deleted."),
        }[action]
        await self.done(done, self.back_url(), *comment_scopes(article_ids))

    def back_url(self) -> str:
        back = self.safe_next(self.get_argument("next", None), "/admin/comments")
        return back if back.startswith("/admin/comments") else "/admin/comments"


class ReplyHandler(AdminHandler):
    capability = roles.MODERATE_COMMENTS

    async def post(self, comment_id: str) -> None:
        content = self.get_argument("content", "")
        try:
            article_id = await self.run_form(
                moderation.reply_as_author, int(comment_id), self.user.id, content
            )
        except FormError as error:
            self.flash(error.message, "error")
            await self.redirect_to("/admin/comments")
            return
        await live.comments_changed(self.application, [article_id], [int(comment_id)], newest=True)
        notifications.author_replied(self, int(comment_id))
        await self.done(
            self._("Your reply is published."),
            f"/admin/comments?article_id={article_id}",
            *comment_scopes([article_id]),
        )


ID = r"([0-9]{1,18})"

routes = [
    (r"/admin/comments", CommentListHandler),
    (r"/admin/comments/bulk", ModerateHandler),
    (rf"/admin/comments/{ID}/(approve|hide|spam|delete)", ModerateHandler),
    (rf"/admin/comments/{ID}/reply", ReplyHandler),
]
