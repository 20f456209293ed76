"""Export the whole site as one archive; import an archive into an empty blog."""

from __future__ import annotations

from controller.admin.base import AdminHandler, FormError
from controller.audit_log import record_event
from model.base import utcnow
from service import transfer


class ExportHandler(AdminHandler):
    async def get(self) -> None:
        empty = await self.run(transfer.is_empty)
        self.render("admin/export.html", admin_section="export", empty=empty)


class DownloadHandler(AdminHandler):
    async def get(self) -> None:
        archive = await self.run(transfer.export_site, self.application.media)
        await record_event(self, "export_downloaded", f"{len(archive)} bytes")
        name = f"inkwell-export-{utcnow().strftime('%Y%m%d-%H%M%S')}.zip"
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(archive)


class ImportHandler(AdminHandler):
    async def post(self) -> None:
        files = self.request.files.get("archive") or []
        try:
            if not files:
                raise FormError(self._("Please choose an export archive."))
            counts = await self.run_form(
                transfer.import_site, self.application.media, files[0].body
            )
        except FormError as error:
            empty = await self.run(transfer.is_empty)
            self.set_status(error.status_code)
            self.render(
                "admin/export.html", admin_section="export", empty=empty, error=error.message
            )
            return
        await record_event(self, "import_run", ", ".join(f"{k}={v}" for k, v in counts.items()))
        message = self._("Imported %(articles)d articles and %(comments)d comments.") % {
            "articles": counts.get("articles", 0),
            "comments": counts.get("comments", 0),
        }
        await self.done(message, "/admin", "all")


routes = [
    (r"/admin/export", ExportHandler),
    (r"/admin/export/download", DownloadHandler),
    (r"/admin/export/import", ImportHandler),
]
