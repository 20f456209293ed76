"""The author's two-step verification: set it up, new recovery codes, turn it off."""

from __future__ import annotations

import segno

from controller.admin.base import AdminHandler, FormError
from controller.audit_log import record_event
from controller.twofactor import PASSED_KEY, SETUP_URL, mark_two_factor_passed
from service import roles, twofactor

# The secret being set up waits in the session until a code from the app confirms it.
SETUP_KEY = "two_factor_setup"
MAX_INPUT = 1024


class TwoFactorHandler(AdminHandler):
    capability = roles.READ_ADMIN
    # Reachable while the site requires two-step verification and the user has none yet.
    open_without_two_factor = True

    async def get(self) -> None:
        await self.show()

    async def show(
        self, error: FormError | None = None, recovery_codes: list[str] | None = None
    ) -> None:
        status = await self.run(twofactor.two_factor_status, self.user.id)
        secret = qr_svg = None
        if not status.enabled:
            secret = self.session.get(SETUP_KEY)
            if not secret:
                secret = twofactor.new_secret()
                self.session[SETUP_KEY] = secret
            uri = twofactor.provisioning_uri(secret, self.user.username, self.site.title)
            qr_svg = segno.make(uri, error="m").svg_inline(
                scale=4, border=2, dark="#000", light="#fff", title=self._("Set-up code")
            )
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/two_factor.html",
            admin_section="account",
            status=status,
            secret=twofactor.readable_secret(secret) if secret else None,
            qr_svg=qr_svg,
            recovery_codes=recovery_codes,
            error=error.message if error else None,
        )

    async def post(self) -> None:
        """Turn it on with the first code the app shows."""
        secret = self.session.get(SETUP_KEY, "")
        try:
            codes = await self.run_form(
                twofactor.enable,
                self.user.id,
                secret,
                self.get_argument("code", "")[:MAX_INPUT],
                self.application.clock.time(),
            )
        except FormError as error:
            await self.show(error)
            return
        self.session.pop(SETUP_KEY)
        # This session just proved the code: it counts as having passed the second step.
        mark_two_factor_passed(self, self.user.id)
        await record_event(self, "two_factor_changed", "enabled")
        self.flash(self._("Two-step verification is on."), "success")
        await self.show(recovery_codes=codes)

    def proof(self) -> str:
        return self.get_argument("proof", "")[:MAX_INPUT]


class RecoveryCodesHandler(TwoFactorHandler):
    async def post(self) -> None:
        try:
            codes = await self.run_form(
                twofactor.regenerate_recovery_codes,
                self.user.id,
                self.proof(),
                self.application.clock.time(),
            )
        except FormError as error:
            await self.show(error)
            return
        await record_event(self, "two_factor_changed", "new recovery codes")
        self.flash(self._("New recovery codes are made; the old ones no longer work."), "success")
        await self.show(recovery_codes=codes)


class DisableTwoFactorHandler(TwoFactorHandler):
    async def post(self) -> None:
        try:
            await self.run_form(
                twofactor.disable, self.user.id, self.proof(), self.application.clock.time()
            )
        except FormError as error:
            await self.show(error)
            return
        self.session.pop(PASSED_KEY)
        await record_event(self, "two_factor_changed", "disabled")
        await self.done(self._("Two-step verification is off."), SETUP_URL)


routes = [
    (r"/admin/account/two-factor", TwoFactorHandler),
    (r"/admin/account/two-factor/recovery-codes", RecoveryCodesHandler),
    (r"/admin/account/two-factor/disable", DisableTwoFactorHandler),
]
