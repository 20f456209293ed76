"""BaseHandler: the cross-cutting work every page shares."""

from __future__ import annotations

import datetime
import functools
import http.client
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlencode, urlsplit

import tornado.locale
import tornado.web
from sqlalchemy.orm import Session as DatabaseSession

from controller.origin import public_base_url, set_security_headers
from extends.cache import USERS
from extends.counters import TodayStats
from extends.errors import Unavailable
from extends.session import COOKIE_NAME, Session, SessionStoreUnavailable
from model.site import SiteSetting
from model.user import User
from service import account, appearance, navigation, timezones
from service import site as site_service
from service.errors import ServiceError, TooManyAttempts
from service.forms import MAX_ID
from service.navigation import Navigation

if TYPE_CHECKING:
    from main import Application

log = logging.getLogger("blog.web")

T = TypeVar("T")
P = ParamSpec("P")

# One entry of the route table: a URL pattern, its handler, and optional handler arguments.
Route = (
    tuple[str, type[tornado.web.RequestHandler]]
    | tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]
)

LANGUAGE_COOKIE = "lang"
# Read-your-writes with replicas: a browser that changed something reads from the primary
# for this long (the cookie holds the time of its last write; see reads_may_be_stale).
WROTE_COOKIE = "rw"
WROTE_PIN_SECONDS = 10
# The session remembers the password it was opened with (see service.account).
FINGERPRINT_KEY = "auth_fingerprint"
# A user's cached state (role, password fingerprint, disabled) is dropped by the bus when it
# changes; the TTL only bounds how long a change made outside Inkwell (plain SQL) goes unseen.
USER_STATE_TTL_SECONDS = 60
# Results kept by cached_run: the bus drops them on a change; the TTL is a safety net.
CACHED_READ_TTL_SECONDS = 300
# Today's unflushed view counts (sidebar, dashboard) are re-read at most this often.
LIVE_COUNTS_TTL_SECONDS = 1.0


def live_counts_key(day: datetime.date) -> str:
    return f"live-counts:{day.isoformat()}"


def user_scope(user_id: int) -> str:
    """The invalidation scope of one user's cached state (publish it when the user changes)."""
    return f"user:{user_id}"


class PageError(tornado.web.HTTPError):
    """An HTTP error whose message is shown to the visitor."""

    def __init__(self, status_code: int, message: str = "", retry_after: int | None = None):
        super().__init__(status_code, log_message=message or None)
        self.message = message
        self.retry_after = retry_after


DEFAULT_SITE = site_service.default_settings()
NO_NAVIGATION = Navigation(items=[], sources=[])


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


class BaseHandler(tornado.web.RequestHandler):
    application: Application
    session: Session
    current_user: CurrentUser | None

    def initialize(self) -> None:
        self.session = Session(None)
        self.session_unavailable = False
        # The signed-in user's role, fingerprint and flag, once prepare has checked them.
        self.user_state: account.UserState | None = None
        # Until prepare loads them (an error page may be drawn before): an unconfigured site.
        self.site: SiteSetting = DEFAULT_SITE
        self.navigation: Navigation = NO_NAVIGATION

    # --- the request ------------------------------------------------------------------

    def set_default_headers(self) -> None:
        # Every page: reader, admin, sign-in, QR, feeds and error pages (see controller.origin).
        set_security_headers(self)
        if self.application.shutting_down:
            # nginx keeps its connections to the instances open: a stopping one drops them.
            self.set_header("Connection", "close")

    def public_base_url(self) -> str:
        """Scheme and host for absolute URLs: BLOG_BASE_URL, else what the request used."""
        return public_base_url(self.request, self.application.config.base_url)

    @property
    def over_https(self) -> bool:
        """The visitor's connection is HTTPS (directly, or as a trusted proxy says)."""
        return self.request.protocol == "https"

    def set_cookie(
        self,
        name: str,
        value: str | bytes,
        domain: str | None = None,
        expires: float | tuple[int, ...] | datetime.datetime | None = None,
        path: str = "/",
        expires_days: float | None = None,
        **kwargs: Any,
    ) -> None:
        """Every cookie (session, _xsrf, qr, language, visitor) is Secure over HTTPS."""
        if self.over_https:
            kwargs["secure"] = True
        super().set_cookie(name, value, domain, expires, path, expires_days, **kwargs)

    async def prepare(self) -> None:
        self._count_in_flight()
        # The signed cookie is believed as long as the browser keeps it: the session's TTL.
        sid = self.get_signed_cookie(
            COOKIE_NAME, max_age_days=self.application.config.session_ttl_seconds / 86400
        )
        if sid:
            try:
                self.session = await self.application.sessions.load(sid.decode())
            except SessionStoreUnavailable:
                # Anonymous pages keep working; pages that need a session answer 503.
                self.session_unavailable = True
                log.warning("session store unavailable; serving %s anonymously", self.request.uri)
        user = self.session.get("user")
        if user:
            self.current_user = CurrentUser(**user)
        self.site = await self.application.site_settings()
        # The header's menus show on every page (admin and sign-in too); one cache lookup.
        self.navigation = await self.application.cache.get_or_load(
            "nav", lambda: self.application.run_service(navigation.navigation), scopes=["nav"]
        )
        if self.current_user:
            # Every signed-in request, reader pages included: a session opened before a
            # password change must not keep acting (or commenting) as the author.
            await self.ensure_session_current()

    def _count_in_flight(self) -> None:
        if not getattr(self, "_in_flight", False):
            self._in_flight = True
            self.application.in_flight += 1

    def _done_in_flight(self) -> None:
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            self.application.in_flight -= 1

    def on_connection_close(self) -> None:
        self._done_in_flight()
        super().on_connection_close()

    def on_finish(self) -> None:
        self._done_in_flight()
        if (self.session.modified or self.session.retired_sid) and not self.session_unavailable:
            self.application.spawn(self._save_session_quietly())

    async def run(
        self, fn: Callable[Concatenate[DatabaseSession, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a service function in the executor with a fresh database session.

        Domain exceptions become error pages in the visitor's language: NotFound → 404,
        Invalid → 400, Forbidden → 403, Conflict → 409, TooManyAttempts → 429.
        """
        runner = (
            self.application.run_stale_read
            if self.reads_may_be_stale()
            else self.application.run_service
        )
        try:
            return await runner(fn, *args, **kwargs)
        except TooManyAttempts as exc:
            raise PageError(429, self.service_message(exc), retry_after=exc.retry_after) from exc
        except ServiceError as exc:
            raise PageError(exc.status_code, self.service_message(exc)) from exc

    async def cached_run(
        self,
        key: str,
        scopes: Iterable[str],
        fn: Callable[Concatenate[DatabaseSession, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``run`` through this instance's cache: the result stays under ``key`` until the bus
        names one of ``scopes`` (every write publishes what it changed) or
        CACHED_READ_TTL_SECONDS pass. For reads every visitor may share."""
        return await self.application.cache.get_or_load(
            key,
            lambda: self.run(fn, *args, **kwargs),
            scopes=scopes,
            ttl=CACHED_READ_TTL_SECONDS,
        )

    async def live_counts(self, day: datetime.date) -> TodayStats:
        """The day's views not yet flushed, as this instance last saw them: every view it
        counts refreshes them (same round trip), else Redis is asked at most once a second."""
        return await self.application.cache.get_or_load(
            live_counts_key(day),
            lambda: self.application.counters.today(day),
            scopes=["stats"],
            ttl=LIVE_COUNTS_TTL_SECONDS,
        )

    async def record_view(self, day: datetime.date, visitor: str, article_id: int | None) -> None:
        """Count one view; keep the day's counts it returns for ``live_counts``."""
        cache = self.application.cache
        generation = cache.generation
        counted = await self.application.counters.record(day, visitor, article_id)
        # A flush (the "stats" scope) during the round trip makes these counts stale.
        if counted is not None and generation == cache.generation:
            cache.set(live_counts_key(day), counted, scopes=["stats"], ttl=LIVE_COUNTS_TTL_SECONDS)

    def reads_may_be_stale(self) -> bool:
        """Whether this request's reads may come from a replica (reader pages say when)."""
        return False

    def wrote_recently(self) -> bool:
        """This browser changed something within the last WROTE_PIN_SECONDS."""
        raw = self.get_cookie(WROTE_COOKIE) or ""
        if not raw.isdigit():
            return False
        return self.application.clock.time() - int(raw) < WROTE_PIN_SECONDS

    def service_message(self, exc: ServiceError) -> str:
        """A service's message template, translated, with its details filled in."""
        return exc.filled(self._(exc.message))

    async def invalidate(self, *scopes: str) -> None:
        """Tell every instance to drop what these scopes name."""
        await self.application.invalidate(*scopes)

    # --- sessions, sign-in, flash -----------------------------------------------------

    def require_session_store(self) -> None:
        """Pages that sign in or need the visitor's session answer 503 while it is down."""
        if self.session_unavailable:
            raise SessionStoreUnavailable("the session could not be loaded")

    async def require_user(self) -> bool:
        """The one sign-in gate (admin pages and ``@authenticated`` reader pages).

        True for a signed-in visitor. An anonymous GET is sent to the sign-in page with
        ``next`` (False); any other anonymous method is refused with 403 before anything
        changes (Tornado already refused a POST without a valid XSRF token).
        """
        self.require_session_store()
        if self.current_user:
            return True
        if self.request.method in ("GET", "HEAD"):
            await self.redirect_to("/auth/login?" + urlencode({"next": self.request.uri}))
            return False
        raise PageError(403, self._("Please sign in first."))

    @property
    def user(self) -> CurrentUser:
        """The signed-in user, in code that only runs once ``require_user`` let it through."""
        if self.current_user is None:
            raise PageError(403, self._("Please sign in first."))
        return self.current_user

    async def save_session(self) -> None:
        """Persist a changed session now (one SET with TTL); 503 when the store is down."""
        try:
            await self.application.sessions.save(self.session)
        except SessionStoreUnavailable:
            self.session_unavailable = True
            raise

    async def _save_session_quietly(self) -> None:
        try:
            await self.application.sessions.save(self.session)
        except SessionStoreUnavailable:
            log.warning("could not save the session after %s", self.request.uri)

    def _write_session_cookie(self) -> None:
        if self.session.new_id and self.session.sid and not self._headers_written:
            self.set_signed_cookie(
                COOKIE_NAME, self.session.sid, **self.application.sessions.cookie_options()
            )
            self.session.new_id = False

    def finish(self, chunk: Any = None) -> Any:
        self._write_session_cookie()
        self._pin_to_primary_after_write()
        return super().finish(chunk)

    def _pin_to_primary_after_write(self) -> None:
        if (
            self.application.replicas
            and self.request.method not in ("GET", "HEAD", "OPTIONS")
            and self.get_status() < 400
            and not self._headers_written
        ):
            self.mark_wrote()

    def mark_wrote(self) -> None:
        """This browser just wrote: for WROTE_PIN_SECONDS it reads from the primary, and
        nginx's micro-cache neither serves nor keeps its pages (deploy/nginx)."""
        self.set_cookie(
            WROTE_COOKIE,
            str(int(self.application.clock.time())),
            expires_days=WROTE_PIN_SECONDS / 86400,
            httponly=True,
            samesite="Lax",
        )

    async def sign_in(self, user: User) -> None:
        """Attach a user to a new session id (the old id is retired)."""
        self.session.rotate()
        self.session["user"] = {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
        }
        self.current_user = CurrentUser(user.id, user.username, user.display_name)
        await self.save_session()
        # Signing in may have rehashed the password (a new fingerprint): no instance may keep
        # the old one, or it would sign this new session out.
        await self.invalidate(user_scope(user.id))

    def stamp_session(self, password_hash: str) -> None:
        """Tie the session to the user's current password (call at every sign-in)."""
        self.session[FINGERPRINT_KEY] = account.password_fingerprint(password_hash)

    async def load_user_state(self, user_id: int) -> account.UserState | None:
        """The user's role, fingerprint and disabled flag from this instance's cache (one
        small query when it is not there); None when the account is gone."""
        return await self.application.cache.get_or_load(
            user_scope(user_id),
            lambda: self.application.run_service(account.user_state, user_id),
            scopes=["users"],
            ttl=USER_STATE_TTL_SECONDS,
            region=USERS,
            keep=lambda state: state is not None,
        )

    async def ensure_session_current(self) -> bool:
        """Sign the session out when its user's password changed since sign-in, or the
        account was disabled or deleted. Returns whether the visitor is still signed in.
        """
        user = self.current_user
        if not user:
            return False
        state = await self.load_user_state(user.id)
        current = state.fingerprint if state is not None and not state.disabled else None
        self.user_state = state if current is not None else None
        remembered = self.session.get(FINGERPRINT_KEY)
        if current is not None and remembered is None:
            # Signed in by a path that did not stamp the session: adopt the current password.
            self.session[FINGERPRINT_KEY] = current
            return True
        if current is None or current != remembered:
            disabled = state is not None and state.disabled
            await self.sign_out()
            if disabled:
                self.flash(self._("Your account is disabled: ask an administrator."), "warning")
            else:
                self.flash(self._("Your password was changed: please sign in again."), "warning")
            return False
        return True

    async def sign_out(self) -> None:
        self.session.clear()
        self.current_user = None
        await self.save_session()

    def flash(self, text: str, category: str = "info") -> None:
        """A message shown once, on the next page this visitor sees."""
        messages = list(self.session.get("_flash", []))
        messages.append([category, text])
        self.session["_flash"] = messages

    def pop_flashes(self) -> list[tuple[str, str]]:
        if "_flash" not in self.session:
            return []
        return [(str(category), str(text)) for category, text in self.session.pop("_flash")]

    async def redirect_to(self, url: str) -> None:
        """Redirect after the session is saved, so the next request sees what this one set."""
        if self.session.modified or self.session.retired_sid:
            await self.save_session()
        self.redirect(url)

    def safe_next(self, target: str | None, default: str = "/") -> str:
        """Only same-site paths: refuses ``//host``, schemes and backslash tricks."""
        if not target:
            return default
        parts = urlsplit(target)
        if (
            parts.scheme
            or parts.netloc
            or not target.startswith("/")
            or target.startswith("//")
            or "\\" in target
            or any(ord(ch) < 32 for ch in target)
        ):
            return default
        return target

    # --- locale -----------------------------------------------------------------------

    def get_user_locale(self) -> tornado.locale.Locale | None:
        chosen = self.get_cookie(LANGUAGE_COOKIE)
        if chosen in self.application.languages:
            return tornado.locale.get(chosen)
        if self.site.language in self.application.languages:
            return tornado.locale.get(self.site.language)
        return None  # Tornado falls back to Accept-Language

    # --- input ------------------------------------------------------------------------

    def get_int_argument(self, name: str, default: int | None = None) -> int:
        """An integer argument; a missing or malformed one is a 404 for pages, not a 500."""
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            if default is None:
                raise PageError(400, self._("Missing parameter: {name}").format(name=name))
            return default
        try:
            value = int(raw)
        except ValueError:
            raise PageError(404, self._("There is no such page.")) from None
        if abs(value) > MAX_ID:
            raise PageError(404, self._("There is no such page."))
        return value

    def _(self, text: str, plural: str | None = None, count: int | None = None) -> str:
        return self.locale.translate(text, plural, count)

    # --- rendering --------------------------------------------------------------------

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(
            site=self.site,
            flashes=self.pop_flashes(),
            languages=self.application.languages,
            page_title=None,
            page_description=None,
            canonical_url=None,
            local_time=self.local_time,
            utc_iso=timezones.utc_iso,
            reader_page=False,
            site_css_version=appearance.stylesheet_version(
                self.site.accent_color, self.site.custom_css
            ),
        )
        return namespace

    def local_time(self, value: datetime.datetime, precision: str = "minute") -> str:
        """A stored UTC time as people read it: in the site's zone, a time with its label."""
        return timezones.format_local(value, self.site.time_zone, precision)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, Unavailable):
            # Expected while a store restarts: one line, no traceback.
            log.warning("%s: %s (%s)", type(value).__name__, value, self.request.uri)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "message", "") if exc is not None else ""
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(exc, Unavailable):
            # Every "a backing store is down" error becomes the same 503 page, here only.
            status_code = 503
            self.set_status(status_code)
            message = self._(exc.user_message)
        if retry_after:
            self.set_header("Retry-After", str(retry_after))
        traceback_text = None
        if self.settings.get("serve_traceback") and "exc_info" in kwargs:
            traceback_text = "".join(traceback.format_exception(*kwargs["exc_info"]))
        try:
            self.render(
                "error.html",
                status_code=status_code,
                reason=http.client.responses.get(status_code, "Error"),
                message=message,
                traceback_text=traceback_text,
            )
        except Exception:
            # The error page itself failed (a template bug, a missing setting): stay plain.
            log.exception("error page failed")
            if not self._finished:
                self.finish(f"{status_code} {http.client.responses.get(status_code, 'Error')}")


def authenticated(method: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to the sign-in page with ``next``; 503 if sessions are down."""

    @functools.wraps(method)
    async def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> Any:
        if not await self.require_user():
            return None
        return await method(self, *args, **kwargs)

    return wrapper


class NotFoundHandler(BaseHandler):
    """Any unknown URL."""

    async def prepare(self) -> None:
        await super().prepare()
        raise PageError(404, self._("The page you asked for does not exist."))

    def check_xsrf_cookie(self) -> None:
        # An unknown URL is a 404 whatever the method; XSRF has nothing to protect here.
        pass
