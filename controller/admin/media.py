"""Uploaded images: upload (form or the editor's button, drop and paste), list, delete, serve."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import tornado.web

from controller.admin.base import AdminHandler, FormError
from controller.origin import MEDIA_CONTENT_SECURITY_POLICY, set_security_headers
from extends.storage import MediaStoreUnavailable
from service import media

# A stored name is random and never reused: its bytes never change.
MEDIA_MAX_AGE_SECONDS = 365 * 24 * 3600

if TYPE_CHECKING:
    from main import Application


class MediaHandler(AdminHandler):
    async def get(self) -> None:
        await self.show()

    async def show(self, error: FormError | None = None) -> None:
        items, pager = await self.run(media.list_media, self.get_int_argument("page", 1))
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/media.html",
            admin_section="media",
            items=items,
            pager=pager,
            pager_base="/admin/media?",
            max_mb=round(self.application.config.upload_max_bytes / (1024 * 1024), 1),
            error=error.message if error else None,
        )

    async def post(self) -> None:
        files = self.request.files.get("file") or []
        wants_json = self.request.headers.get("X-Requested-With") == "XMLHttpRequest"
        try:
            if not files:
                raise FormError(self._("Please choose a file."))
            upload = files[0]
            item = await self.run_form(
                media.store_upload,
                self.application.media,
                upload.filename,
                upload.body,
                self.application.config.upload_max_bytes,
            )
        except FormError as error:
            if wants_json:
                self.set_status(error.status_code)
                self.finish({"error": error.message})
                return
            await self.show(error)
            return
        url = f"/media/{item.filename}"
        if wants_json:
            alt = item.original_name.rsplit(".", 1)[0].replace("]", "").replace("[", "")
            self.finish({"url": url, "name": item.filename, "markdown": f"![{alt}]({url})"})
            return
        await self.done(self._("The image is uploaded."), "/admin/media")


class MediaDeleteHandler(AdminHandler):
    async def post(self, media_id: str) -> None:
        await self.run(media.delete_media, self.application.media, int(media_id))
        await self.done(self._("The file is deleted."), "/admin/media", "pages")


class MediaFileHandler(tornado.web.StaticFileHandler):
    """Uploaded files: from ``media_dir`` (in a cluster nginx serves /media/ itself), or
    streamed from the S3 store, with headers that let nginx and browsers keep them (a
    stored name never changes content); 503 with a clear message while the store is down.
    """

    async def get(self, path: str, include_body: bool = True) -> None:
        store = cast("Application", self.application).media
        if store.local_directory is not None:
            await super().get(path, include_body)
            return
        loop = asyncio.get_running_loop()
        app = cast("Application", self.application)
        try:
            data = await loop.run_in_executor(app.executor, media.read_media_file, store, path)
        except MediaStoreUnavailable as exc:
            self.set_status(503)
            self.set_header("Retry-After", str(exc.retry_after))
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(self.locale.translate(exc.user_message))
            return
        if data is None:
            raise tornado.web.HTTPError(404)
        kind = media.sniff_image(data)
        self.set_header("Content-Type", kind.content_type if kind else "application/octet-stream")
        self.set_header("Cache-Control", f"public, max-age={MEDIA_MAX_AGE_SECONDS}, immutable")
        self.set_header("Content-Length", str(len(data)))
        if include_body:
            self.finish(data)
        else:
            self.finish()

    def initialize(
        self,
        path: str = "",
        default_filename: str | None = None,
        allowed_symlink_directory: str | list[str] | None = None,
    ) -> None:
        # The route names no path: the media directory is the running instance's setting.
        app = cast("Application", self.application)
        super().initialize(
            path or app.config.media_dir, default_filename, allowed_symlink_directory
        )

    def compute_etag(self) -> str | None:
        if cast("Application", self.application).media.local_directory is None:
            return None  # a stored name never changes content: max-age says it all
        return super().compute_etag()

    def set_default_headers(self) -> None:
        set_security_headers(self)
        # Served as the image type we detected, never sniffed into HTML, never a document
        # that runs anything (also on its 404 and 304 answers).
        self.set_header("Content-Security-Policy", MEDIA_CONTENT_SECURITY_POLICY)


routes = [
    (r"/admin/media", MediaHandler),
    (r"/admin/media/([0-9]{1,18})/delete", MediaDeleteHandler),
    (r"/media/([0-9a-f]{32}\.(?:png|jpg|gif|webp))", MediaFileHandler),
]
