"""One article with its comments, and posting a comment (with the spam checks before it)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import tornado.web

from controller import live, notifications
from controller.base import PageError
from controller.reader_base import FORM_TIME_NAME, PAGE_SCOPES, ReaderHandler
from extends.batching import KeyedBatcher
from extends.clock import Clock
from extends.ratelimit import RateLimit, RateLimitUnavailable, build_rate_limit
from extends.redis import RedisClient
from service import articles, comments, seo
from service.errors import ServiceError

if TYPE_CHECKING:
    from main import Application

log = logging.getLogger("blog.comments")

HONEYPOT_FIELD = "website"


@dataclass
class CommentGuard:
    """Spam defence without third parties: a honeypot, a minimum time, per-IP limits.

    ``limiter`` counts comments that pass the other checks (five a minute); ``attempts``
    counts every post, refused ones included, so a flood of bad posts is answered by a
    short 429 page before any article is loaded or drawn.
    """

    limiter: RateLimit
    attempts: RateLimit
    clock: Clock
    min_seconds: float = 3.0
    max_age_days: float = 2.0

    @classmethod
    def build(
        cls,
        redis_clients: list[RedisClient],
        clock: Clock,
        *,
        attempts_per_minute: int = 30,
        min_seconds: float = 3.0,
    ) -> CommentGuard:
        """The limits per address, counted in Redis across every instance."""
        limiter = build_rate_limit(redis_clients, 5, 60, "ratelimit:comment:", clock)
        attempts = build_rate_limit(
            redis_clients, attempts_per_minute, 60, "ratelimit:comment-try:", clock
        )
        return cls(limiter=limiter, attempts=attempts, clock=clock, min_seconds=min_seconds)


class CommentWriter:
    """Writes readers' comments, one article at a time, several comments per transaction.

    Comments to one article are serialised by its row lock, so each post used to wait for
    the lock, its statements and a commit of its own. Here the first post to an article is
    written at once; those arriving while it is written go in together in the next batch:
    one lock, a fixed number of statements, one commit, one invalidation and one live
    message for all of them. Each post still gets its own floor, or its own refusal.
    """

    def __init__(self, app: Application) -> None:
        self.app = app
        self.batches: KeyedBatcher[int, comments.CommentRequest, comments.PostedComment] = (
            KeyedBatcher(self._write)
        )

    async def post(
        self, article_id: int, request: comments.CommentRequest
    ) -> comments.PostedComment:
        """The posted comment; a ServiceError says why it was refused."""
        return await self.batches.submit(article_id, request)

    async def _write(
        self, article_id: int, requests: list[comments.CommentRequest]
    ) -> list[comments.PostedComment | ServiceError]:
        outcomes = await self.app.run_service(comments.post_comments, article_id, requests)
        posted = [outcome.id for outcome in outcomes if isinstance(outcome, comments.PostedComment)]
        if posted:
            await self.app.invalidate(
                f"comments:{article_id}", "comments", f"article:{article_id}", "pages", "stats"
            )
            await live.comments_changed(self.app, [article_id], posted)
        return outcomes


def article_scopes(article_id: int) -> tuple[str, ...]:
    """What drops an article's cached data: what drops its cached page."""
    return (*PAGE_SCOPES, f"article:{article_id}", f"comments:{article_id}")


class ArticleHandler(ReaderHandler):
    async def get(self, article_id: str, slug: str | None = None) -> None:
        page = await self.cached_run(
            f"article-page:{article_id}",
            article_scopes(int(article_id)),
            articles.article_page,
            int(article_id),
        )
        # An old slug, no slug, or a page's /article/<id>: 301 to the current URL.
        if (slug or "") != page.article.slug or page.article.kind == "page":
            query = self.request.query
            self.redirect(page.summary.url + (f"?{query}" if query else ""), permanent=True)
            return
        form = comments.CommentForm(reply_to=self.reply_to_argument())
        await self.show_article(page, form)

    def reply_to_argument(self) -> int | None:
        raw = self.get_argument("reply_to", "")
        return int(raw) if raw.isdigit() and len(raw) < 19 else None

    async def show_article(
        self,
        page: articles.ArticlePage,
        form: comments.CommentForm,
        status: int = 200,
        error: str = "",
    ) -> None:
        article_id = page.article.id
        thread = await self.cached_run(
            f"article-comments:{article_id}",
            article_scopes(article_id),
            comments.visible_comments,
            article_id,
        )
        structured = seo.blog_posting(page.summary, self.base_url(), self.site.title)
        await self.render_page(
            "page.html" if page.article.kind == "page" else "article.html",
            scopes=(f"article:{article_id}", f"comments:{article_id}"),
            article_id=article_id,
            status=status,
            page=page,
            article=page.article,
            comments=thread,
            comment_form=form,
            reply_floor=self.reply_floor(thread, form.reply_to),
            comment_error=error,
            comment_pending=self.get_argument("comment", "") == "pending",
            structured_data=seo.script_json(structured),
            sidebar=await self.sidebar(),
        )

    @staticmethod
    def reply_floor(thread: list[comments.CommentView], reply_to: int | None) -> int | None:
        """The floor of the comment answered (most requests answer none: no walk through all)."""
        if reply_to is None:
            return None
        return next((comment.floor for comment in thread if comment.id == reply_to), None)


class CommentHandler(ArticleHandler):
    """POST /article/<id>/comment: a refused comment shows the page again, text kept.

    GET gives this visitor the form's XSRF token and signed time as JSON (never cached):
    the article page itself is shared by every visitor and carries neither.
    """

    def initialize(self) -> None:
        super().initialize()
        self.xsrf_refused = False

    def page_cacheable(self) -> bool:
        return False

    def check_xsrf_cookie(self) -> None:
        # A form from a cached page whose script did not run (no JavaScript, a stale tab):
        # instead of a bare 403, post() shows the comment back to confirm, nothing posted.
        try:
            super().check_xsrf_cookie()
        except tornado.web.HTTPError:
            self.xsrf_refused = True

    async def get(self, article_id: str, slug: str | None = None) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish({"xsrf": self.xsrf_token.decode(), "form_time": self.signed_form_time()})

    async def post(self, article_id: str) -> None:
        await self.limit_attempts()
        form = comments.CommentForm(
            author_name=self.get_argument("author_name", ""),
            author_email=self.get_argument("author_email", ""),
            content=self.get_argument("content", ""),
            reply_to=self.reply_to_argument(),
        )
        if self.current_user and not form.author_name.strip():
            form = comments.CommentForm(
                self.current_user.shown_name, form.author_email, form.content, form.reply_to
            )
        if self.xsrf_refused:
            refusal: tuple[int, str] | None = (
                403,
                self._("Please confirm your comment: check it and post it again."),
            )
        else:
            refusal = await self.spam_refusal()
        if refusal is None:
            request = comments.CommentRequest(
                form, self.site.comment_mode, self.current_user is not None, self.ip_hash()
            )
            try:
                posted = await self.application.comment_writer.post(int(article_id), request)
            except ServiceError as exc:
                if exc.status_code == 404:
                    raise PageError(404, self.service_message(exc)) from exc
                refusal = (exc.status_code, self.service_message(exc))
        if refusal is not None:
            page = await self.run(articles.article_page, int(article_id))
            await self.show_article(page, form, status=refusal[0], error=refusal[1])
            return
        # The comment writer dropped the cached pages and told the open ones. The article
        # nginx may still hold for a second is not what this commenter sees next.
        self.mark_wrote()
        notifications.comment_posted(
            self,
            posted.id,
            posted.pending,
            form.author_email.strip(),
            self.wants_replies(),
            is_reply=posted.reply_to is not None,
        )
        if posted.pending:
            self.redirect(f"{posted.article_url}?comment=pending#comment-form", status=303)
        else:
            self.redirect(f"{posted.article_url}#floor-{posted.floor}", status=303)

    async def limit_attempts(self) -> None:
        """429 (a short page, nothing loaded) once this address posts too often."""
        try:
            retry_after = await self.application.comment_guard.attempts.hit(
                self.request.remote_ip or ""
            )
        except RateLimitUnavailable:
            # Redis is down: the per-comment checks below still stand.
            log.warning("comment attempt limit unavailable; letting a post through")
            return
        if retry_after:
            raise PageError(
                429,
                self._("You are commenting too often. Please wait a minute and try again."),
                retry_after=retry_after,
            )

    def wants_replies(self) -> bool:
        return self.get_argument("notify_replies", "") == "1"

    async def spam_refusal(self) -> tuple[int, str] | None:
        """(status, reason) when the post looks automated or comes too often, else None."""
        guard = self.application.comment_guard
        if self.get_argument(HONEYPOT_FIELD, ""):
            return 400, self._("Your comment looks automated and was not posted.")
        shown_at = self.decode_form_time(guard.max_age_days)
        if shown_at is None:
            return 400, self._("The form has expired. Please post your comment again.")
        if guard.clock.time() - shown_at < guard.min_seconds:
            return 400, self._("That was very fast. Please wait a few seconds and post again.")
        try:
            retry_after = await guard.limiter.hit(self.request.remote_ip or "")
        except RateLimitUnavailable:
            # Redis is down: the honeypot and the form's clock still stand; the text is kept.
            log.warning("comment rate limit unavailable; letting a comment through")
            retry_after = 0
        if retry_after:
            self.set_header("Retry-After", str(retry_after))
            return 429, self._("You are commenting too often. Please wait a minute and try again.")
        return None

    def decode_form_time(self, max_age_days: float) -> float | None:
        value = tornado.web.decode_signed_value(
            self.application.settings["cookie_secret"],
            FORM_TIME_NAME,
            self.get_argument("form_time", ""),
            max_age_days=max_age_days,
        )
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def ip_hash(self) -> str:
        """The address is kept only as a keyed hash (enough to spot a flood, not a person)."""
        secret = str(self.application.settings["cookie_secret"]).encode()
        address = (self.request.remote_ip or "").encode()
        return hmac.new(secret, address, hashlib.sha256).hexdigest()


routes = [
    (r"/article/([0-9]{1,18})/comment", CommentHandler),
    (r"/article/([0-9]{1,18})(?:/([^/]*))?", ArticleHandler),
]
