"""AdminHandler: every method needs a signed-in user whose session is still valid."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from controller.base import BaseHandler, PageError
from controller.twofactor import send_to_two_factor_setup
from service import roles
from service.errors import ServiceError
from service.forms import parse_id
from service.roles import Actor

T = TypeVar("T")
P = ParamSpec("P")


def pager_base(path: str, **query: Any) -> str:
    """``path?filters&`` so a pager link only has to add ``page=N``."""
    kept = urlencode({name: value for name, value in query.items() if value not in ("", None)})
    return f"{path}?{kept}&" if kept else f"{path}?"


class FormError(Exception):
    """A form's input was refused: the page is shown again with this message."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class AdminHandler(BaseHandler):
    """Base of every /admin page: only for a signed-in user (BaseHandler.require_user).

    A session opened before the user's password changed was already signed out by
    BaseHandler.prepare.

    Every request also needs the handler's ``capability`` (service.roles), checked against
    the user's role as the database holds it now (the cached state a change drops on every
    instance): without it the answer is 403. A handler names what it needs; the default is
    the administrator's.
    """

    capability: str = roles.MANAGE_SITE
    actor: Actor

    async def prepare(self) -> None:
        await super().prepare()
        if self._finished or not await self.require_user():
            return
        # The role comes from the user's cached state (checked by BaseHandler.prepare) that
        # every instance drops when it changes: no query per request.
        state = self.user_state
        if state is None:
            raise PageError(403, self._("You may not do this."))
        self.actor = Actor(state.id, state.role)
        try:
            roles.require_can(self.actor, self.capability)
        except ServiceError as exc:
            raise PageError(exc.status_code, self.service_message(exc)) from exc
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        if await send_to_two_factor_setup(self):  # when the site requires it
            return

    async def run_form(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like ``run``, but refused input raises FormError so the form is shown again."""
        try:
            return await self.application.run_service(fn, *args, **kwargs)
        except ServiceError as exc:
            if exc.status_code in (400, 409):
                raise FormError(self.service_message(exc), exc.status_code) from exc
            raise PageError(exc.status_code, self.service_message(exc)) from exc

    def is_administrator(self) -> bool:
        """May change what runs on every page (the header/footer code).

        Until users have roles every account is an administrator (``createadmin``); a
        signed-in user whose role says otherwise is not.
        """
        role = getattr(self.current_user, "role", "administrator")
        return self.current_user is not None and role == "administrator"

    # --- small helpers -----------------------------------------------------------------

    def render_form_error(self, template: str, error: FormError, **kwargs: Any) -> None:
        self.set_status(error.status_code)
        self.render(template, error=error.message, **kwargs)

    def optional_int(self, name: str) -> int | None:
        raw = self.get_argument(name, "").strip()
        if not raw:
            return None
        try:
            return parse_id(raw)
        except ValueError:
            raise PageError(400, self._("Bad parameter: {name}").format(name=name)) from None

    def selected_ids(self, name: str = "ids") -> list[int]:
        try:
            return [parse_id(value) for value in self.get_arguments(name) if value.strip()]
        except ValueError:
            raise PageError(400, self._("Bad parameter: {name}").format(name=name)) from None

    async def done(self, message: str, url: str, *scopes: str) -> None:
        """After a write: drop what readers would see stale, flash, redirect (PRG)."""
        if scopes:
            await self.invalidate(*scopes)
        self.flash(message, "success")
        await self.redirect_to(url)

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.setdefault("admin_section", "")
        namespace["error"] = None
        # What the signed-in user's role allows: the admin hides what it would refuse.
        acting = getattr(self, "actor", None)
        namespace["can"] = acting.can if acting is not None else (lambda capability: False)
        return namespace
