"""Site settings: title, comments, language, time zone and look (logo, accent, custom CSS),
and the administrator's header/footer code."""

from __future__ import annotations

import dataclasses

from controller.admin.base import AdminHandler, FormError
from controller.audit_log import changed_fields, record_event
from service import media, settings_admin, timezones
from service.settings_admin import SettingsForm

FIELDS = [field.name for field in dataclasses.fields(SettingsForm)]
KEPT_WHEN_MISSING = (
    "time_zone",
    "accent_color",
    "logo_url",
    "custom_css",
    "header_code",
    "footer_code",
)


class SettingsHandler(AdminHandler):
    async def get(self) -> None:
        await self.show(SettingsForm.from_settings(self.site))

    async def post(self) -> None:
        current = SettingsForm.from_settings(self.site)
        # A field the post leaves out keeps its value (a checkbox left out is unticked).
        form = SettingsForm(
            **{
                name: self.get_argument(
                    name, getattr(current, name) if name in KEPT_WHEN_MISSING else ""
                )
                for name in FIELDS
            }
        )
        may_edit_code = self.is_administrator()
        if not may_edit_code:
            form.header_code, form.footer_code = self.site.header_code, self.site.footer_code
        try:
            logos = self.request.files.get("logo_file") or []
            if logos and logos[0].body:
                logo = logos[0]
                # A new logo uploaded here goes to the media library like any image.
                item = await self.run_form(
                    media.store_upload,
                    self.application.media,
                    logo.filename,
                    logo.body,
                    self.application.config.upload_max_bytes,
                    self.user.id,
                )
                form.logo_url = f"/media/{item.filename}"
            saved = await self.run_form(settings_admin.save_settings, form, may_edit_code)
        except FormError as error:
            await self.show(form, error)
            return
        await record_event(self, "settings_changed", changed_fields(self.site, saved, FIELDS))
        # Title, language, page size, time zone, look... every reader page may change.
        await self.done(self._("The settings are saved."), "/admin/settings", "all")

    async def show(self, form: SettingsForm, error: FormError | None = None) -> None:
        if error is not None:
            self.set_status(error.status_code)
        images, _pager = await self.run(media.list_media, 1)
        self.render(
            "admin/settings.html",
            admin_section="settings",
            form=form,
            languages=settings_admin.LANGUAGES,
            time_zones=timezones.available_zones(),
            images=images,
            may_edit_code=self.is_administrator(),
            error=error.message if error else None,
        )


routes = [(r"/admin/settings", SettingsHandler)]
