"""Old URLs answered with 301 (filled by imports): list, add, remove, test one."""

from __future__ import annotations

from controller.admin.base import AdminHandler, FormError
from controller.redirects import old_url_target
from service import redirects


class RedirectsHandler(AdminHandler):
    """GET the table (``?test=URL`` says where that URL goes); POST adds a redirect."""

    async def show(self, error: FormError | None = None, old: str = "", target: str = "") -> None:
        rows = await self.run(redirects.list_redirects)
        tested = self.get_argument("test", "").strip()[: redirects.MAX_PATH]
        outcome = None
        if tested:
            outcome = await old_url_target(self, *_split(tested))
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/redirects.html",
            admin_section="redirects",
            rows=rows,
            tested=tested,
            outcome=outcome,
            old=old,
            target=target,
            error=error.message if error else None,
        )

    async def get(self) -> None:
        await self.show()

    async def post(self) -> None:
        old = self.get_argument("old", "").strip()
        target = self.get_argument("target", "").strip()
        try:
            await self.run_form(redirects.add_redirect, old, target)
        except FormError as error:
            await self.show(error, old, target)
            return
        await self.done(self._("The redirect was saved."), "/admin/redirects", redirects.SCOPE)


class RedirectDeleteHandler(AdminHandler):
    async def post(self, redirect_id: str) -> None:
        await self.run(redirects.remove_redirect, int(redirect_id))
        await self.done(self._("The redirect was removed."), "/admin/redirects", redirects.SCOPE)


def _split(url: str) -> tuple[str, str]:
    path, _, query = url.partition("?")
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    return path or "/", query


routes = [
    (r"/admin/redirects", RedirectsHandler),
    (r"/admin/redirects/([0-9]{1,9})/delete", RedirectDeleteHandler),
]
