"""Old URLs of an imported site answered with 301, from an in-memory map (no query per hit).

The map is one SiteCache entry under the ``redirects`` scope: any instance that changes
the table publishes that scope on the bus, and every instance reloads it on next use.
"""

from __future__ import annotations

from typing import Any

from controller.base import BaseHandler, NotFoundHandler, PageError
from service import redirects


async def old_url_target(handler: BaseHandler, path: str, query: str = "") -> str | None:
    """Where an old URL of an imported site lives now, or None."""
    table: dict[str, str] = await handler.application.cache.get_or_load(
        redirects.SCOPE,
        lambda: handler.application.run_service(redirects.load_map),
        scopes=[redirects.SCOPE],
    )
    return redirects.resolve(table, path, query) if table else None


class OldUrlHandler(NotFoundHandler):
    """Any URL no route takes: a 301 when an import recorded it, else the 404 page."""

    async def prepare(self) -> None:
        await BaseHandler.prepare(self)
        if self.request.method in ("GET", "HEAD"):
            target = await old_url_target(self, self.request.path, self.request.query)
            if target is None and len(self.request.path) > 1 and self.request.path.endswith("/"):
                # WordPress and Ghost end every URL with a slash (/tag/x/); Inkwell's do not.
                target = self.request.path.rstrip("/") or "/"
                if self.request.query:
                    target += "?" + self.request.query
            if target is not None:
                self.redirect(target, permanent=True)
                return
        raise PageError(404, self._("The page you asked for does not exist."))

    def get(self, *args: Any, **kwargs: Any) -> None:
        pass

    head = get
