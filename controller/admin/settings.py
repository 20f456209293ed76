"""Site settings."""

from __future__ import annotations

import dataclasses

from controller.admin.base import AdminHandler, FormError
from controller.audit_log import changed_fields, record_event
from service import settings_admin
from service.settings_admin import SettingsForm

FIELDS = [field.name for field in dataclasses.fields(SettingsForm)]


class SettingsHandler(AdminHandler):
    async def get(self) -> None:
        self.show(SettingsForm.from_settings(self.site))

    async def post(self) -> None:
        form = SettingsForm(**{name: self.get_argument(name, "") for name in FIELDS})
        try:
            saved = await self.run_form(settings_admin.save_settings, form)
        except FormError as error:
            self.show(form, error)
            return
        await record_event(self, "settings_changed", changed_fields(self.site, saved, FIELDS))
        # Title, language, page size... every reader page may change.
        await self.done(self._("The settings are saved."), "/admin/settings", "all")

    def show(self, form: SettingsForm, error: FormError | None = None) -> None:
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/settings.html",
            admin_section="settings",
            form=form,
            languages=settings_admin.LANGUAGES,
            error=error.message if error else None,
        )


routes = [(r"/admin/settings", SettingsHandler)]
