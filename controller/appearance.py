"""/site.css: the site's accent colour and custom CSS, served as a stylesheet (never inline)."""

from __future__ import annotations

from controller.base import BaseHandler
from service import appearance


class SiteStylesheetHandler(BaseHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "text/css; charset=UTF-8")
        # Pages link it as /site.css?v=<digest of the text>: a changed stylesheet is a new URL.
        if self.get_argument("v", "") == appearance.stylesheet_version(
            self.site.accent_color, self.site.custom_css
        ):
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.set_header("Cache-Control", "no-cache")
        self.finish(appearance.site_stylesheet(self.site.accent_color, self.site.custom_css))


routes = [(r"/site\.css", SiteStylesheetHandler)]
