"""Export the whole site as one archive; import an archive into an empty blog, or a WordPress
or Ghost export as a background job with a progress page."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.admin.base import AdminHandler, FormError
from controller.audit_log import record_event
from model.base import utcnow
from service import transfer
from service.errors import ServiceError
from service.importers import jobs
from service.importers.run import import_file

log = logging.getLogger("blog.import")


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
            if files[0].body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"<", b"{"):
                # WordPress or Ghost: checked and written in the background.
                job_id = await self.run(jobs.create_job)
                path = await self.run(_spool, files[0].body)
                await record_event(self, "import_run", "started " + files[0].filename[:100])
                # The report is written in the language of the admin who started it.
                report = _run_import(self.application, job_id, path, self.locale.translate)
                self.application.spawn(report)
                await self.redirect_to(f"/admin/export/import/{job_id}")
                return
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


class ImportProgressHandler(AdminHandler):
    """The progress of a background import; the page reloads itself until it is over."""

    async def get(self, job_id: str) -> None:
        job = await self.run(jobs.get_job, job_id)
        self.render("admin/import_progress.html", admin_section="export", job=job)


def _spool(_session: Any, data: bytes) -> Path:
    """The upload in a temporary file, for the streaming parser."""
    with tempfile.NamedTemporaryFile(prefix="inkwell-import-", delete=False) as handle:
        handle.write(data)
    return Path(handle.name)


async def _run_import(application: Any, job_id: str, path: Path, _: Callable[[str], str]) -> None:
    def progress(done: int, total: int, between: bool) -> None:
        # On the import's executor thread, between two batches: a session of its own.
        if between:
            with application.db() as session:
                jobs.record_progress(session, job_id, done, total)

    try:
        summary = await application.run_service(
            import_file,
            application.media,
            path,
            max_media_bytes=application.config.upload_max_bytes,
            progress=progress,
        )
        await application.run_service(jobs.finish_job, job_id, summary.lines(_), False)
    except ServiceError as exc:
        lines = [exc.filled(_(exc.message)), _("Nothing was written: the blog is as it was.")]
        await application.run_service(jobs.finish_job, job_id, lines, True)
    except Exception:
        log.exception("import %s failed", job_id)
        lines = [_("The import stopped on an error; run it again to resume (see the log).")]
        await application.run_service(jobs.finish_job, job_id, lines, True)
    finally:
        path.unlink(missing_ok=True)
        await application.invalidate("all")


routes = [
    (r"/admin/export", ExportHandler),
    (r"/admin/export/download", DownloadHandler),
    (r"/admin/export/import", ImportHandler),
    (r"/admin/export/import/([0-9a-f]{32})", ImportProgressHandler),
]
