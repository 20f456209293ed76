"""The author's own account: display name, email, password."""

from __future__ import annotations

from controller.admin.base import AdminHandler, FormError
from controller.audit_log import record_event
from controller.base import FINGERPRINT_KEY, user_scope
from service import account, avatars, passwords, roles
from service.account import ProfileForm


class AccountHandler(AdminHandler):
    capability = roles.READ_ADMIN

    async def get(self) -> None:
        await self.show()

    async def show(
        self,
        error: FormError | None = None,
        profile: ProfileForm | None = None,
        password_hints: list[str] | None = None,
    ) -> None:
        user = await self.run(account.get_account, self.user.id)
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/account.html",
            admin_section="account",
            user=user,
            profile=profile or ProfileForm(user.display_name, user.email, user.bio or ""),
            error=error.message if error else None,
            password_minimum=passwords.MIN_PASSWORD_LENGTH,
            password_hints=password_hints or [],
            may_review=self.actor.can(roles.EDIT_OTHERS),
            avatar_max_mb=str(
                round(
                    min(avatars.MAX_AVATAR_BYTES, self.application.config.upload_max_bytes)
                    / (1024 * 1024),
                    1,
                )
            ),
        )

    async def post(self) -> None:
        profile = ProfileForm(
            display_name=self.get_argument("display_name", ""),
            email=self.get_argument("email", ""),
            bio=self.get_argument("bio", ""),
        )
        try:
            user = await self.run_form(account.update_profile, self.user.id, profile)
        except FormError as error:
            await self.show(error, profile)
            return
        # The session carries the shown name (the navigation greets the author with it).
        self.session["user"] = {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
        }
        await self.done(self._("Your profile is saved."), "/admin/account", "pages")


class PasswordHandler(AccountHandler):
    async def post(self) -> None:
        try:
            fingerprint = await self.run_form(
                account.change_password,
                self.user.id,
                self.get_argument("current_password", ""),
                self.get_argument("new_password", ""),
                self.get_argument("confirm_password", ""),
            )
        except FormError as error:
            await self.show(error, password_hints=self.weak_password_hints(error))
            return
        # This session stays signed in; every other session of this user is signed out on
        # its next request, reader pages included (its fingerprint no longer matches).
        self.session.rotate()
        self.session[FINGERPRINT_KEY] = fingerprint
        await record_event(self, "password_changed")
        await self.done(
            self._("Your password is changed."), "/admin/account", user_scope(self.user.id)
        )

    def weak_password_hints(self, error: FormError) -> list[str]:
        """What would make a refused password stronger, in the visitor's language."""
        cause = error.__cause__
        return (
            [self._(hint) for hint in cause.hints]
            if isinstance(cause, passwords.WeakPassword)
            else []
        )


class AvatarHandler(AccountHandler):
    """POST /admin/account/avatar: upload a picture (``avatar_file``), or go back to the
    identicon (``identicon=1``)."""

    async def post(self) -> None:
        media = self.application.media
        if self.get_argument("identicon", "") == "1":
            await self.run(avatars.use_identicon, media, self.user.id)
            await self.done(self._("Your avatar is the identicon again."), "/admin/account", "all")
            return
        files = self.request.files.get("avatar_file") or []
        upload = files[0].body if files else b""
        limit = min(avatars.MAX_AVATAR_BYTES, self.application.config.upload_max_bytes)
        try:
            await self.run_form(avatars.set_avatar, media, self.user.id, upload, limit)
        except FormError as error:
            await self.show(error)
            return
        # Bylines, author pages and comments show it: cached pages are dropped.
        await self.done(self._("Your avatar is saved."), "/admin/account", "all")


routes = [
    (r"/admin/account", AccountHandler),
    (r"/admin/account/avatar", AvatarHandler),
    (r"/admin/account/password", PasswordHandler),
]
