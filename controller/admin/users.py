"""People: the list, invitations by email, roles, disabling and deleting (administrators),
and the page where an invited person chooses a user name and password."""

from __future__ import annotations

import datetime as dt
import logging

from controller.admin.base import AdminHandler, FormError
from controller.audit_log import record_event
from controller.base import BaseHandler, PageError, user_scope
from controller.mail_content import render_mail
from extends.errors import Unavailable
from extends.mailer import InvalidAddress, normalize_address
from service import invitations, passwords, roles, users
from service.errors import ServiceError
from service.invitations import DEAD_INVITATION, INVITATION_SECONDS, InvitationLink

log = logging.getLogger("blog.auth")

MAX_EMAIL = 255


def clock_now(handler: BaseHandler) -> dt.datetime:
    """The application clock's now, as the naive UTC the database stores."""
    return dt.datetime.fromtimestamp(handler.application.clock.time(), dt.UTC).replace(tzinfo=None)


def invitation_key(handler: BaseHandler) -> bytes:
    return invitations.invitation_key(handler.application.config.cookie_secret)


class UsersHandler(AdminHandler):
    """GET: every account and the open invitations; POST: invite an address with a role."""

    async def get(self) -> None:
        await self.show()

    async def show(self, error: FormError | None = None, email: str = "", role: str = "") -> None:
        people = await self.run(users.list_users)
        pending = await self.run(invitations.open_invitations, clock_now(self))
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/users.html",
            admin_section="users",
            people=people,
            invitations=pending,
            role_names=roles.ROLE_NAMES,
            email=email,
            chosen_role=role or roles.AUTHOR,
            invitation_hours=INVITATION_SECONDS // 3600,
            error=error.message if error else None,
        )

    async def post(self) -> None:
        address = self.get_argument("email", "").strip()[:MAX_EMAIL]
        role = self.get_argument("role", "")
        try:
            try:
                normalized = normalize_address(address)
            except InvalidAddress:
                raise FormError(self._("Please enter a valid email address.")) from None
            link = await self.run_form(
                invitations.invite,
                normalized,
                role,
                self.user.id,
                invitation_key(self),
                clock_now(self),
            )
        except FormError as error:
            await self.show(error, address, role)
            return
        await self._send(link)
        await record_event(self, "user_invited", f"{link.email} ({link.role})")
        await self.done(
            self._("The invitation is on its way to %(email)s.") % {"email": link.email},
            "/admin/users",
        )

    async def _send(self, link: InvitationLink) -> None:
        url = f"{self.public_base_url()}/auth/invite/{link.token}"
        site_name = self.site.title
        content = render_mail(
            "invitation",
            self._("You are invited to write for %(site)s") % {"site": site_name},
            self.locale,
            inviter=self.user.shown_name,
            role=self._(roles.ROLE_NAMES[link.role]),
            site_name=site_name,
            link=url,
            hours=INVITATION_SECONDS // 3600,
        )
        try:
            await self.application.mailer.send(content, link.email, site_name)
        except (Unavailable, InvalidAddress) as exc:
            log.error("invitation mail not queued: %s", exc)
            raise PageError(503, self._("The invitation could not be sent. Please retry.")) from exc


class UserRoleHandler(AdminHandler):
    async def post(self, user_id: str) -> None:
        user = await self.run(users.change_role, int(user_id), self.get_argument("role", ""))
        await record_event(self, "role_changed", f"{user.username}: {user.role}")
        await self.done(
            self._("%(name)s is now: %(role)s")
            % {"name": user.username, "role": self._(roles.ROLE_NAMES[user.role])},
            "/admin/users",
            user_scope(user.id),
        )


class UserDisableHandler(AdminHandler):
    async def post(self, user_id: str, action: str) -> None:
        disabled = action == "disable"
        user = await self.run(users.set_disabled, int(user_id), disabled)
        await record_event(self, "user_disabled" if disabled else "user_enabled", user.username)
        message = (
            self._("%(name)s is disabled and signed out everywhere.")
            if disabled
            else self._("%(name)s can sign in again.")
        )
        # Every instance drops the user's cached state: the next request reads "disabled".
        await self.done(message % {"name": user.username}, "/admin/users", user_scope(user.id))


class UserDeleteHandler(AdminHandler):
    """GET: the confirmation, with whom to give the articles to; POST: delete."""

    async def get(self, user_id: str) -> None:
        people = await self.run(users.list_users)
        user = next((person for person in people if person.id == int(user_id)), None)
        if user is None:
            raise PageError(404, self._("There is no such user."))
        self.render(
            "admin/user_delete.html",
            admin_section="users",
            user=user,
            heirs=[person for person in people if person.id != user.id],
        )

    async def post(self, user_id: str) -> None:
        heir_id = self.optional_int("reassign_to")
        if heir_id is None:
            raise PageError(400, self._("Please choose another user to give the articles to."))
        user, heir, moved = await self.run(users.delete_user, int(user_id), heir_id)
        await record_event(self, "user_deleted", f"{user.username} → {heir.username} ({moved})")
        await self.done(
            self._("%(name)s is deleted; the articles now belong to %(heir)s.")
            % {"name": user.username, "heir": heir.username},
            "/admin/users",
            "articles",
            "pages",
            user_scope(user.id),
        )


class AcceptInvitationHandler(BaseHandler):
    """/auth/invite/<token>: choose a user name and password, then sign in."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # The token is in the URL: never send it onwards, never keep the page.
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    async def get(self, token: str) -> None:
        invitation = await self.run(
            invitations.invitation_for_token, token, invitation_key(self), clock_now(self)
        )
        self._render_form(invitation.email, "")

    async def post(self, token: str) -> None:
        self.require_session_store()
        username = self.get_argument("username", "").strip()
        try:
            user = await self.application.run_service(
                invitations.accept,
                token,
                invitation_key(self),
                clock_now(self),
                username,
                self.get_argument("new_password", ""),
                self.get_argument("confirm_password", ""),
            )
        except ServiceError as exc:
            if exc.message == DEAD_INVITATION or exc.status_code != 400:
                raise PageError(exc.status_code, self.service_message(exc)) from exc
            invitation = await self.run(
                invitations.invitation_for_token, token, invitation_key(self), clock_now(self)
            )
            hints = exc.hints if isinstance(exc, passwords.WeakPassword) else []
            self.set_status(400)
            self._render_form(
                invitation.email, username, self.service_message(exc), [self._(h) for h in hints]
            )
            return
        await record_event(self, "invitation_accepted", f"{user.username} ({user.role})")
        if self.current_user:
            await self.sign_out()
        self.flash(self._("Your account is ready. Please sign in."), "success")
        await self.redirect_to("/auth/login")

    def _render_form(
        self, email: str, username: str, error: str | None = None, hints: list[str] | None = None
    ) -> None:
        self.render(
            "auth/invitation.html",
            email=email,
            username=username,
            error=error,
            password_minimum=passwords.MIN_PASSWORD_LENGTH,
            password_hints=hints or [],
        )


ID = r"([0-9]{1,18})"

routes = [
    (r"/admin/users", UsersHandler),
    (rf"/admin/users/{ID}/role", UserRoleHandler),
    (rf"/admin/users/{ID}/(disable|enable)", UserDisableHandler),
    (rf"/admin/users/{ID}/delete", UserDeleteHandler),
    (r"/auth/invite/([A-Za-z0-9_.\-]{1,200})", AcceptInvitationHandler),
]
