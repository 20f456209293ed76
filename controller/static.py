"""Files served as they are: /static/*, /favicon.ico — and /robots.txt, which is generated.

Tornado routes those three paths to its static handler before any other rule; this
handler is that static handler (``static_handler_class``), so robots.txt can name the
sitemap at the address the visitor used without touching Tornado's routing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

import tornado.web

from controller.origin import public_base_url, set_security_headers
from service import feeds

if TYPE_CHECKING:
    from main import Application

ROBOTS = "robots.txt"
FAVICON = "favicon.ico"
# /favicon.ico is the site icon kept with the other images; browsers ask for it on every site.
FAVICON_FILE = "img/favicon.ico"
FAVICON_CACHE_SECONDS = 30 * 24 * 3600


class StaticFiles(tornado.web.StaticFileHandler):
    async def get(self, path: str, include_body: bool = True) -> None:
        if path == ROBOTS:
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            app = cast("Application", self.application)
            body = feeds.robots_txt(public_base_url(self.request, app.config.base_url))
            self.finish(body if include_body else None)
            return
        await super().get(path, include_body)

    def parse_url_path(self, url_path: str) -> str:
        return super().parse_url_path(FAVICON_FILE if url_path == FAVICON else url_path)

    def get_cache_time(self, path: str, modified: dt.datetime | None, mime_type: str) -> int:
        if path == FAVICON_FILE:
            return FAVICON_CACHE_SECONDS
        return super().get_cache_time(path, modified, mime_type)

    def set_default_headers(self) -> None:
        set_security_headers(self)

    def compute_etag(self) -> str | None:
        if self.path_args[:1] == [ROBOTS]:
            # Generated text: the ETag of what was written, not of a file on disk.
            return tornado.web.RequestHandler.compute_etag(self)
        return super().compute_etag()
