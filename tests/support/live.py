"""The Application served from a background thread, and an HTTP client that speaks XSRF."""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Callable
from typing import Any

import requests
import tornado.httpserver

from config import Settings
from extends.clock import SYSTEM_CLOCK, Clock
from main import Application
from tests.support.servers import free_port


class LiveApp:
    """A real Application on a real port, with its own event loop in a thread."""

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.clock = clock
        self.port = settings.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.app: Application | None = None
        self.server: tornado.httpserver.HTTPServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._error: BaseException | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.app = Application(self.settings, clock=self.clock)
            self.server = tornado.httpserver.HTTPServer(self.app)
            self.server.listen(self.port, "127.0.0.1")
            self.app.start_background()

        try:
            self.loop.run_until_complete(start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> LiveApp:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def call(self, coro_factory: Callable[[], Any], timeout: float = 30) -> Any:
        """Run a coroutine on the app's loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(coro_factory(), self.loop)
        return future.result(timeout)

    def service(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a service function the way a handler would."""
        assert self.app is not None
        return self.call(lambda: self.app.run_service(fn, *args))

    def stop(self) -> None:
        if self.app is None:
            return
        app, server = self.app, self.server
        try:
            self.call(lambda: app.shutdown(server), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.app = None


class BlogClient(requests.Session):
    """A browser-like client: keeps cookies and sends the XSRF token with every POST."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) InkwellTests/1.0"

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]  # url only, no params
        # requests.Session.get follows redirects unless told; a test wants to see them.
        kwargs.setdefault("allow_redirects", False)
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]  # url only
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    @property
    def xsrf_token(self) -> str:
        token = self.cookies.get("_xsrf")
        if not token:
            # Double-submit: any token works when the cookie and the field agree.
            token = secrets.token_hex(16)
            self.cookies.set("_xsrf", token, domain="127.0.0.1", path="/")
        return token

    def post_form(
        self, path: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        """POST a form the way the site's own forms do (with ``_xsrf``)."""
        form = dict(data or {})
        form.setdefault("_xsrf", self.xsrf_token)
        return self.post(path, data=form, **kwargs)

    def follow(self, response: requests.Response) -> requests.Response:
        """GET the Location of a redirect."""
        assert response.status_code in (301, 302, 303), response.status_code
        return self.get(response.headers["Location"])


_TAG = re.compile(r"<[^>]+>")


def page_text(html: str) -> str:
    """Visible text of a page, roughly as a reader sees it."""
    return re.sub(r"\s+", " ", _TAG.sub(" ", html))


def make_settings(
    tmp_path: Any, database_url: str, redis_urls: list[str] | None = None, **extra: Any
) -> Settings:
    data_dir = tmp_path / f"var-{secrets.token_hex(3)}"
    data_dir.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = dict(
        port=free_port(),
        database_url=database_url,
        redis_urls=list(redis_urls or []),
        cookie_secret=secrets.token_urlsafe(32),
        data_dir=str(data_dir),
        media_dir=str(data_dir / "media"),
        log_dir=str(data_dir / "logs"),
        executor_workers=4,
        instance_id=f"test-{secrets.token_hex(3)}",
    )
    values.update(extra)
    return Settings(**values)
