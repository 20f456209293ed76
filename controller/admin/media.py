"""Uploaded images: upload (form or the editor's button, drop and paste), list and search,
edit alt text and caption, see where an image is used, delete (with a warning), serve."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import tornado.web

from controller.admin.base import AdminHandler, FormError, pager_base
from controller.origin import MEDIA_CONTENT_SECURITY_POLICY, set_security_headers
from extends.storage import MediaStoreUnavailable
from service import media, roles
from service.images import MEDIA_FILE_PATTERN

# Pages that may show an image (cards, article tops, shared-link tags) drop when it changes.
IMAGE_SCOPES = ("articles", "pages")
# A stored file's name is random and never reused for other bytes.
MEDIA_CACHE_SECONDS = 365 * 24 * 3600

if TYPE_CHECKING:
    from main import Application


class MediaHandler(AdminHandler):
    capability = roles.UPLOAD_MEDIA

    async def get(self) -> None:
        await self.show()

    async def show(self, error: FormError | None = None) -> None:
        query = self.get_argument("q", "").strip()[:100]
        items, pager = await self.run(media.list_media, self.get_int_argument("page", 1), query)
        if error is not None:
            self.set_status(error.status_code)
        self.render(
            "admin/media.html",
            admin_section="media",
            may_edit=partial(media.may_edit_media, self.actor),
            items=items,
            pager=pager,
            query=query,
            pager_base=pager_base("/admin/media", q=query),
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
                self.user.id,
            )
        except FormError as error:
            if wants_json:
                self.set_status(error.status_code)
                self.finish({"error": error.message})
                return
            await self.show(error)
            return
        if wants_json:
            shown = media.MediaItem(item, [])
            self.finish(
                {
                    "id": item.id,
                    "url": shown.url,
                    "name": item.filename,
                    "alt": item.alt_text,
                    "thumbnail": shown.thumbnail,
                    "markdown": shown.markdown,
                }
            )
            return
        await self.done(self._("The image is uploaded."), "/admin/media")


class MediaEditHandler(AdminHandler):
    """One image: its sizes, alt text and caption (editable), and the articles that show it."""

    # Authors too, for their own uploads (service.media.may_edit_media decides).
    capability = roles.UPLOAD_MEDIA

    async def get(self, media_id: str) -> None:
        item = await self.run(media.editable_media_item, int(media_id), self.actor)
        self.render(
            "admin/media_edit.html", admin_section="media", item=item, alt_text=None, caption=None
        )

    async def post(self, media_id: str) -> None:
        alt_text = self.get_argument("alt_text", "")
        caption = self.get_argument("caption", "")
        try:
            await self.run_form(media.update_media, int(media_id), alt_text, caption, self.actor)
        except FormError as error:
            item = await self.run(media.get_media_item, int(media_id))
            self.set_status(error.status_code)
            self.render(
                "admin/media_edit.html",
                admin_section="media",
                item=item,
                alt_text=alt_text,
                caption=caption,
                error=error.message,
            )
            return
        await self.done(
            self._("The image details are saved."), f"/admin/media/{media_id}", *IMAGE_SCOPES
        )


class MediaDeleteHandler(AdminHandler):
    """GET: the confirmation page, listing the articles that show the image; POST: delete."""

    capability = roles.MANAGE_MEDIA

    async def get(self, media_id: str) -> None:
        item = await self.run(media.get_media_item, int(media_id))
        self.render("admin/media_delete.html", admin_section="media", item=item)

    async def post(self, media_id: str) -> None:
        affected = await self.run(media.delete_media, self.application.media, int(media_id))
        await self.done(
            self._("The file is deleted."),
            "/admin/media",
            *IMAGE_SCOPES,
            *(f"article:{article_id}" for article_id in affected),
        )


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
        self.set_header("Cache-Control", f"public, max-age={MEDIA_CACHE_SECONDS}, immutable")
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

    def get_cache_time(self, path: str, modified: Any, mime_type: str) -> int:
        return MEDIA_CACHE_SECONDS

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", f"public, max-age={MEDIA_CACHE_SECONDS}, immutable")


routes = [
    (r"/admin/media", MediaHandler),
    (r"/admin/media/([0-9]{1,18})", MediaEditHandler),
    (r"/admin/media/([0-9]{1,18})/delete", MediaDeleteHandler),
    (rf"/media/({MEDIA_FILE_PATTERN})", MediaFileHandler),
]
