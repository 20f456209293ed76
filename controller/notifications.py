"""Email about comments: the notices after a comment is posted, approved or answered, the
confirmation and one-click unsubscribe pages, and an author's choice on /admin/account.

Notices are worked out and queued after the answer (``Application.spawn``): posting a comment
never waits for mail. Each recipient gets at most ``PER_RECIPIENT`` an hour, across instances,
so a comment flood is not a mail flood: the notices past the limit wait and go out as one
digest when the window closes (``send_due_digests``, a job of the leader). Every message
carries ``List-Unsubscribe`` and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058) and the link in its text.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import tornado.locale

from controller.admin.base import AdminHandler
from controller.base import BaseHandler, PageError
from controller.mail_content import render_mail
from extends.clock import utc_datetime
from extends.errors import Unavailable
from extends.mailer import InvalidAddress
from extends.ratelimit import Rule
from service import notifications, roles
from service.notifications import Notice

if TYPE_CHECKING:
    from main import Application

log = logging.getLogger("blog.mail")

PER_RECIPIENT = Rule(limit=5, window=3600)
LINK_KEY = r"([A-Za-z0-9_\-]{1,120})"


def _subject(notice: Notice, locale: tornado.locale.Locale, site_name: str) -> str:
    values = {"title": notice.article_title, "site": site_name, "floor": notice.floor}
    if notice.kind == "confirm":
        return locale.translate("Confirm reply notifications from %(site)s") % values
    if notice.kind == "reply":
        return locale.translate("New reply to your comment on “%(title)s”") % values
    if notice.kind == "review":
        return locale.translate("“%(title)s” waits for your review") % values
    return locale.translate("A comment waits for moderation on “%(title)s”") % values


async def send_notices(
    app: Application, notices: list[Notice], base_url: str, site_name: str, language: str
) -> None:
    """Queue each notice in its recipient's language, within the per-recipient limit."""
    for notice in notices:
        attempt = await app.notify_limit.reserve({"to:" + notice.email.lower(): PER_RECIPIENT})
        if attempt.wait:
            if notice.kind in notifications.DIGEST_KINDS:
                due = utc_datetime(app.clock) + datetime.timedelta(seconds=attempt.wait)
                await app.run_service(
                    notifications.hold_for_digest, notice, base_url, site_name, due
                )
            else:
                log.info("%s notice not sent: its recipient's limit is reached", notice.kind)
            continue
        code = notice.language if notice.language in app.languages else language
        locale = tornado.locale.get(code)
        unsubscribe = f"{base_url}/mail/unsubscribe/{notice.unsubscribe_token}"
        content = render_mail(
            f"notify_{notice.kind}",
            _subject(notice, locale, site_name),
            locale,
            notice=notice,
            site_name=site_name,
            article_link=base_url + notice.article_url,
            moderation_link=base_url + "/admin/comments?status=pending",
            confirm_link=f"{base_url}/mail/confirm/{notice.confirm_token}",
            unsubscribe_link=unsubscribe,
        )
        try:
            await app.mailer.send(
                content, notice.email, site_name, _unsubscribe_headers(unsubscribe)
            )
        except InvalidAddress as exc:
            log.info("%s notice not sent: %s", notice.kind, exc)


def _unsubscribe_headers(link: str) -> list[tuple[str, str]]:
    return [
        ("List-Unsubscribe", f"<{link}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]


async def send_due_digests(app: Application) -> int:
    """Queue the digests whose window has closed, one message per recipient, each listing
    the comments it holds with their links; how many were queued."""
    digests = await app.run_service(notifications.due_digests, utc_datetime(app.clock))
    if not digests:
        return 0
    site = await app.site_settings()
    queued = 0
    for digest in digests:
        code = digest.language if digest.language in app.languages else site.language
        locale = tornado.locale.get(code)
        unsubscribe = f"{digest.base_url}/mail/unsubscribe/{digest.unsubscribe_token}"
        subject = locale.translate(
            "%(count)d new comment at %(site)s", "%(count)d new comments at %(site)s",
            len(digest.items),
        ) % {"count": len(digest.items), "site": digest.site_name}  # fmt: skip
        content = render_mail(
            "notify_digest",
            subject,
            locale,
            digest=digest,
            links=[digest.base_url + item.article_url for item in digest.items],
            moderation_link=digest.base_url + "/admin/comments?status=pending",
            unsubscribe_link=unsubscribe,
        )
        try:
            await app.mailer.send(
                content, digest.email, digest.site_name, _unsubscribe_headers(unsubscribe)
            )
            queued += 1
        except InvalidAddress as exc:
            log.info("digest not sent: %s", exc)
        await app.run_service(notifications.forget_digest_items, digest.item_ids)
    return queued


Gather = Callable[["Application", bytes], Awaitable[list[Notice]]]


def _after(handler: BaseHandler, what: str, gather: Gather) -> None:
    """Work out the notices and queue them after the answer; a failure is logged, not shown."""
    app = handler.application
    base_url, site_name = handler.public_base_url(), handler.site.title
    language = handler.locale.code
    key = notifications.notify_key(app.config.cookie_secret)

    async def run() -> None:
        try:
            notices = await gather(app, key)
            await send_notices(app, notices, base_url, site_name, language)
        except Unavailable as exc:
            log.warning("%s: notices not queued (%s)", what, exc)

    app.spawn(run())


def comment_posted(
    handler: BaseHandler,
    comment_id: int,
    pending: bool,
    email: str,
    wants_replies: bool,
    is_reply: bool = True,
) -> None:
    """A reader's comment is in: a confirmation if they asked for replies, then a moderation
    notice (it waits) or reply notices (it is visible and answers a comment)."""
    language = handler.locale.code
    confirm = wants_replies and bool(email)
    if not (confirm or pending or is_reply):
        return  # nobody to tell: no work after the answer

    async def gather(app: Application, key: bytes) -> list[Notice]:
        notices = []
        if confirm:
            notices.append(
                await app.run_service(notifications.subscribe_replies, comment_id, email, language)
            )
        if pending:
            notices += await app.run_service(notifications.moderation_notices, comment_id, key)
        elif is_reply:
            notices += await app.run_service(notifications.reply_notices, [comment_id])
        return notices

    _after(handler, "comment posted", gather)


def comments_approved(handler: BaseHandler, comment_ids: list[int]) -> None:
    """Comments that waited are visible now: the replies among them are notified."""

    async def gather(app: Application, key: bytes) -> list[Notice]:
        return await app.run_service(notifications.reply_notices, comment_ids)

    if comment_ids:
        _after(handler, "comments approved", gather)


def submitted_for_review(handler: BaseHandler, article_id: int, submitter_id: int) -> None:
    """An article went to "pending": editors and administrators who asked hear of it."""

    async def gather(app: Application, key: bytes) -> list[Notice]:
        return await app.run_service(notifications.review_notices, article_id, submitter_id, key)

    _after(handler, "submitted for review", gather)


def author_replied(handler: BaseHandler, parent_id: int) -> None:
    """The author answered a comment from the admin: its subscribers hear of it."""

    async def gather(app: Application, key: bytes) -> list[Notice]:
        reply_ids = await app.run_service(notifications.latest_reply, parent_id)
        return await app.run_service(notifications.reply_notices, reply_ids)

    _after(handler, "author replied", gather)


class ConfirmHandler(BaseHandler):
    """/mail/confirm/<token>: the second step of "email me replies" (a button, so a mail
    scanner that follows links does not confirm by itself)."""

    async def get(self, token: str) -> None:
        self.render("notify/confirm.html", done=False)

    async def post(self, token: str) -> None:
        if not await self.run(notifications.confirm_subscription, token):
            raise PageError(404, self._("This link is no longer valid."))
        self.render("notify/confirm.html", done=True)


class UnsubscribeHandler(BaseHandler):
    """/mail/unsubscribe/<token>: a page with a button, and the one-click POST (RFC 8058) a
    mail client sends without cookies: the token is the authority, so no XSRF token."""

    def check_xsrf_cookie(self) -> None:
        pass

    async def get(self, token: str) -> None:
        self.render("notify/unsubscribe.html", done=False)

    async def post(self, token: str) -> None:
        key = notifications.notify_key(self.application.config.cookie_secret)
        if not await self.run(notifications.unsubscribe, token, key):
            raise PageError(404, self._("This link is no longer valid."))
        self.render("notify/unsubscribe.html", done=True)


class NotificationSettingsHandler(AdminHandler):
    """POST /admin/account/notifications: email me about comments waiting for moderation."""

    capability = roles.READ_ADMIN

    async def post(self) -> None:
        wanted = self.get_argument("notify_comments", "") == "1"
        await self.run(
            notifications.set_comment_notifications, self.user.id, wanted, self.locale.code
        )
        reviews = self.get_argument("notify_reviews", "") == "1"
        await self.run(
            notifications.set_review_notifications, self.user.id, reviews, self.locale.code
        )
        await self.done(self._("Your notification choice is saved."), "/admin/account")


routes = [
    (rf"/mail/confirm/{LINK_KEY}", ConfirmHandler),
    (rf"/mail/unsubscribe/{LINK_KEY}", UnsubscribeHandler),
    (r"/admin/account/notifications", NotificationSettingsHandler),
]
