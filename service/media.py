"""Uploaded images: checked by their bytes, re-encoded, stored under random names.

Every upload is decoded with Pillow as the type its first bytes claim and written again
in that format: what is stored is only the pixels (and the colour profile, transparency
and animation timing), never the uploaded bytes. Metadata (EXIF with its GPS position,
XMP, text chunks, comments) is dropped, the EXIF orientation is applied to the pixels
first, and anything riding along in the file (HTML in a PNG+HTML polyglot, data after
the end marker) is gone. Animated GIF, PNG and WebP are re-encoded frame by frame too.

A still image also gets resized copies (service/images.py names them) for ``srcset``:
480, 960 and 1,600 px wide when the original is wider, each in the original's format
and as WebP. Every file read, write and delete goes through the three small functions
at the end (``read_media_file``, ``write_media_file``, ``delete_media_files``).
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from extends.storage import MediaStore
from model import Article, Media
from model.pager import Pager
from service import roles
from service.errors import Forbidden, Invalid, NotFound
from service.images import (
    MEDIA_FILE_NAME,
    MEDIA_URL,
    VARIANT_WIDTHS,
    ImageInfo,
    format_widths,
    parse_widths,
    scaled_height,
    variant_extension,
)

log = logging.getLogger("blog.media")

PAGE_SIZE = 40
MAX_ORIGINAL_NAME = 255
# A stored name is always ours: 32 hex digits and the extension of the detected type.
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|gif|webp)$")


# Decoding is refused above this many pixels (all frames of an animation together): a
# small file that unpacks into gigabytes (a "decompression bomb") is a 400, not an OOM.
MAX_IMAGE_PIXELS = 50_000_000
# Pillow's own guard, for anything decoded elsewhere in the process.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
JPEG_QUALITY = 90
WEBP_QUALITY = 90
# Resized copies are for screens: a little more compression than the original.
VARIANT_JPEG_QUALITY = 85
VARIANT_WEBP_QUALITY = 80
MAX_ALT = 255
MAX_CAPTION = 500
# How many unmeasured rows (older than the variants) one run of the job works off.
BACKFILL_BATCH = 20
# What is kept of a decoded image's info when it is written again.
_KEPT_INFO = ("transparency", "icc_profile", "duration", "loop", "background", "disposal")


@dataclass(frozen=True)
class ImageType:
    extension: str
    content_type: str
    pillow_format: str
    label: str


PNG = ImageType("png", "image/png", "PNG", "PNG")
JPEG = ImageType("jpg", "image/jpeg", "JPEG", "JPEG")
GIF = ImageType("gif", "image/gif", "GIF", "GIF")
WEBP = ImageType("webp", "image/webp", "WEBP", "WebP")


def sniff_image(data: bytes) -> ImageType | None:
    """The image type from the file's first bytes; None for anything else.

    The name and the browser's Content-Type are ignored: both are the uploader's say-so.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def reencode_image(data: bytes, kind: ImageType) -> bytes:
    """The image decoded as ``kind`` and written again without its metadata.

    Raises Invalid when it does not decode as that type or is too large to decode.
    """
    try:
        with Image.open(io.BytesIO(data), formats=[kind.pillow_format]) as image:
            frames = int(getattr(image, "n_frames", 1) or 1)
            if image.width * image.height * frames > MAX_IMAGE_PIXELS:
                raise _too_many_pixels()
            image.load()
            return _encode(image, kind, animated=frames > 1)
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError):
        raise Invalid("The file is not a valid {kind} image.", kind=kind.label) from None


def _too_many_pixels() -> Invalid:
    return Invalid(
        "The image has too many pixels (at most {megapixels} megapixels).",
        megapixels=str(MAX_IMAGE_PIXELS // 1_000_000),
    )


def _encode(image: Image.Image, kind: ImageType, animated: bool) -> bytes:
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if animated:
        # Each frame is decoded and written again (Pillow walks the frames itself); only
        # timing, looping and disposal are carried over.
        options["save_all"] = True
        clean = image
        kept = {key: image.info[key] for key in _KEPT_INFO if key in image.info}
    else:
        # The orientation becomes the pixels' own, then the EXIF that said it goes.
        clean = ImageOps.exif_transpose(image) or image
        kept = {key: clean.info[key] for key in _KEPT_INFO if key in clean.info}
    if kind is JPEG:
        if clean.mode not in ("L", "RGB", "CMYK"):
            clean = clean.convert("RGB")
        options.update(quality=JPEG_QUALITY, optimize=True)
    elif kind is WEBP:
        options.update(quality=WEBP_QUALITY)
    elif kind is GIF:
        options["comment"] = b""
    for key in ("transparency", "icc_profile", "duration", "loop", "background", "disposal"):
        if key in kept and key not in options:
            options[key] = kept[key]
    if kind is JPEG or kind is WEBP:
        options.pop("transparency", None)
        options.pop("disposal", None)
    # Nothing else of the original's info (exif, xmp, text, comments) may be written back.
    clean.info = {}
    # Explicitly empty: a save never copies metadata from elsewhere.
    options.update(exif=b"")
    if kind is not GIF:
        options["xmp"] = b""
    clean.save(out, kind.pillow_format, **options)
    return out.getvalue()


@dataclass(frozen=True)
class ProcessedImage:
    """An original's size and its resized copies, by file name."""

    width: int
    height: int
    variant_widths: tuple[int, ...] = ()
    webp_widths: tuple[int, ...] = ()
    files: dict[str, bytes] = field(default_factory=dict)


def make_variants(filename: str, data: bytes) -> ProcessedImage:
    """Measure a stored original and make its resized copies (none for an animation).

    ``data`` is what ``reencode_image`` wrote: already oriented and without metadata.
    """
    stem, extension = filename.rsplit(".", 1)
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if int(getattr(image, "n_frames", 1) or 1) > 1:
            # Resizing would drop the animation; the original is shown as it is.
            return ProcessedImage(width, height)
        image.load()
        profile = image.info.get("icc_profile")
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        pixels = image.convert("RGBA" if has_alpha else "RGB")
    files: dict[str, bytes] = {}
    variant_widths = tuple(w for w in VARIANT_WIDTHS if w < width)
    for target in variant_widths:
        resized = pixels.resize(
            (target, scaled_height(width, height, target)), Image.Resampling.LANCZOS
        )
        files[f"{stem}-{target}.{variant_extension(extension)}"] = _encode_copy(
            resized, variant_extension(extension), profile
        )
        files[f"{stem}-{target}.webp"] = _encode_copy(resized, "webp", profile)
    webp_widths = variant_widths
    if extension != "webp":
        # The full size as WebP too, so the WebP srcset reaches as wide as the original.
        files[f"{stem}-{width}.webp"] = _encode_copy(pixels, "webp", profile)
        webp_widths = (*variant_widths, width)
    return ProcessedImage(width, height, variant_widths, webp_widths, files)


def _encode_copy(image: Image.Image, extension: str, profile: bytes | None) -> bytes:
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if profile:
        options["icc_profile"] = profile
    if extension == "jpg":
        image.convert("RGB").save(
            out, "JPEG", quality=VARIANT_JPEG_QUALITY, optimize=True, **options
        )
    elif extension == "webp":
        image.save(out, "WEBP", quality=VARIANT_WEBP_QUALITY, **options)
    else:
        image.save(out, "PNG", optimize=True, **options)
    return out.getvalue()


def check_original_name(name: str) -> str:
    """The name the uploader gave, refused when it carries a path."""
    name = (name or "").strip()
    if not name:
        raise Invalid("The file has no name.")
    if "/" in name or "\\" in name or ".." in name or any(ord(c) < 32 for c in name):
        raise Invalid("The file name must not contain a path.")
    return name[:MAX_ORIGINAL_NAME]


def default_alt_text(original_name: str) -> str:
    """A new image's alt text until the author writes one: its name without the extension."""
    stem = original_name.rsplit(".", 1)[0] if "." in original_name else original_name
    return stem.replace("[", "").replace("]", "").strip()[:MAX_ALT]


def image_info(media: Media) -> ImageInfo | None:
    """What pages show of a library image; None until it is measured (or its file is gone)."""
    if not media.width or not media.height:
        return None
    return ImageInfo(
        id=media.id,
        filename=media.filename,
        content_type=media.content_type,
        size=media.size,
        width=media.width,
        height=media.height,
        variant_widths=parse_widths(media.variant_widths),
        webp_widths=parse_widths(media.webp_widths),
        alt=media.alt_text,
        caption=media.caption,
    )


def stored_file_names(media: Media) -> list[str]:
    """The original and every resized copy of a media row."""
    info = image_info(media)
    return info.file_names() if info else [media.filename]


def checked_image(data: bytes, max_bytes: int) -> tuple[bytes, ImageType]:
    """An uploaded image decoded and written again by Pillow, with its kind.

    Raises Invalid for an empty, too large or unreadable file, or one that is not an image.
    Only what Pillow decoded is kept: metadata and anything riding along are dropped.
    """
    if not data:
        raise Invalid("The file is empty.")
    if len(data) > max_bytes:
        # Written as the upload form writes it ("5.0"), so the two always agree.
        max_mb = str(round(max_bytes / (1024 * 1024), 1))
        raise Invalid("The file is too large (at most {max_mb} MB).", max_mb=max_mb)
    kind = sniff_image(data)
    if kind is None:
        raise Invalid("Only PNG, JPEG, GIF and WebP images can be uploaded.")
    return reencode_image(data, kind), kind


def store_upload(
    session: Session,
    store: MediaStore,
    original_name: str,
    data: bytes,
    max_bytes: int,
    uploaded_by: int | None = None,
) -> Media:
    """Validate an upload and store it with its resized copies; returns the new Media row
    (``uploaded_by``: the user who uploaded it, who may edit its details)."""
    original = check_original_name(original_name)
    data, kind = checked_image(data, max_bytes)
    filename = f"{secrets.token_hex(16)}.{kind.extension}"
    processed = make_variants(filename, data)
    written = [filename, *processed.files]
    try:
        write_media_file(store, filename, data)
        for name, copy in processed.files.items():
            write_media_file(store, name, copy)
        media = Media(
            filename=filename,
            original_name=original,
            content_type=kind.content_type,
            size=len(data),
            width=processed.width,
            height=processed.height,
            variant_widths=format_widths(processed.variant_widths),
            webp_widths=format_widths(processed.webp_widths),
            alt_text=default_alt_text(original),
            caption="",
            uploaded_by=uploaded_by,
        )
        session.add(media)
        session.commit()
    except Exception:
        delete_media_files(store, written)
        raise
    return media


@dataclass(frozen=True)
class MediaUse:
    """An article (or page) that shows an image, in its text or as its featured image."""

    id: int
    title: str
    status: str
    featured: bool

    @property
    def edit_url(self) -> str:
        return f"/admin/articles/{self.id}/edit"


@dataclass(frozen=True)
class MediaItem:
    media: Media
    uses: list[MediaUse]

    @property
    def url(self) -> str:
        return f"/media/{self.media.filename}"

    @property
    def thumbnail(self) -> str:
        info = image_info(self.media)
        return info.smallest().url if info else self.url

    @property
    def markdown(self) -> str:
        return image_markdown(self.media)


def image_markdown(media: Media) -> str:
    """What the editor inserts for an image: its alt text, never the file name."""
    alt = media.alt_text.replace("[", "").replace("]", "").replace("\n", " ")
    return f"![{alt}](/media/{media.filename})"


def media_usage(session: Session, media: list[Media]) -> dict[int, list[MediaUse]]:
    """Which articles show each image, found by scanning their text for its URL.

    Scanning (rather than a table kept on save) is always right, whatever wrote the text:
    the editor, a revision restored, an import, a page; at a blog's size it is one query.
    """
    if not media:
        return {}
    by_name = {item.filename: item.id for item in media}
    ids = list(by_name.values())
    rows = session.execute(
        select(
            Article.id, Article.title, Article.status, Article.content, Article.featured_image_id
        )
        .where(or_(Article.content.like("%/media/%"), Article.featured_image_id.in_(ids)))
        .order_by(Article.id.desc())
    ).all()
    uses: dict[int, list[MediaUse]] = {media_id: [] for media_id in ids}
    for article_id, title, status, content, featured_id in rows:
        shown = {by_name[name] for name in MEDIA_URL.findall(content or "") if name in by_name}
        if featured_id in uses:
            shown.add(featured_id)
        for media_id in shown:
            uses[media_id].append(
                MediaUse(article_id, title, status, featured=featured_id == media_id)
            )
    return uses


def list_media(session: Session, page: int, query: str = "") -> tuple[list[MediaItem], Pager]:
    """One page of the library, newest first; ``query`` searches names, alt text and captions."""
    conditions = []
    text = query.strip()[:100]
    if text:
        pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        conditions.append(
            or_(
                Media.original_name.like(pattern),
                Media.alt_text.like(pattern),
                Media.caption.like(pattern),
            )
        )
    total = session.scalar(select(func.count()).select_from(Media).where(*conditions)) or 0
    pager = Pager(page=max(1, page), per_page=PAGE_SIZE, total=total)
    if pager.page > pager.pages:
        raise NotFound("There is no such page.")
    items = list(
        session.scalars(
            select(Media)
            .where(*conditions)
            .order_by(Media.created_at.desc(), Media.id.desc())
            .offset(pager.offset)
            .limit(pager.per_page)
        )
    )
    uses = media_usage(session, items)
    return [MediaItem(item, uses[item.id]) for item in items], pager


def get_media_item(session: Session, media_id: int) -> MediaItem:
    """One image with the articles that show it (the edit and delete pages)."""
    media = session.get(Media, media_id)
    if media is None:
        raise NotFound("There is no such file.")
    return MediaItem(media, media_usage(session, [media])[media.id])


def may_edit_media(acting: roles.Actor | None, media: Media) -> bool:
    """Editors and administrators edit any upload's details; an author only their own."""
    if acting is None or acting.can(roles.MANAGE_MEDIA):
        return True
    return acting.can(roles.UPLOAD_MEDIA) and media.uploaded_by == acting.id


def editable_media_item(
    session: Session, media_id: int, acting: roles.Actor | None = None
) -> MediaItem:
    """One image for its edit page, if ``acting`` may edit it (else Forbidden)."""
    item = get_media_item(session, media_id)
    if not may_edit_media(acting, item.media):
        raise Forbidden("Your role does not allow changing this file.")
    return item


def update_media(
    session: Session,
    media_id: int,
    alt_text: str,
    caption: str,
    acting: roles.Actor | None = None,
) -> Media:
    """Change an image's alt text and caption (``acting``: who asks; None is the system)."""
    media = session.get(Media, media_id)
    if media is None:
        raise NotFound("There is no such file.")
    if not may_edit_media(acting, media):
        raise Forbidden("Your role does not allow changing this file.")
    alt = " ".join(alt_text.split())
    text = caption.strip()
    if len(alt) > MAX_ALT:
        raise Invalid("The alt text must be at most {limit} characters long.", limit=MAX_ALT)
    if len(text) > MAX_CAPTION:
        raise Invalid("The caption must be at most {limit} characters long.", limit=MAX_CAPTION)
    media.alt_text = alt
    media.caption = text
    session.commit()
    return media


def recent_images(session: Session, limit: int, include: int | None = None) -> list[Media]:
    """The newest images (the editor's featured image choice), plus ``include`` if older."""
    items = list(
        session.scalars(
            select(Media).order_by(Media.created_at.desc(), Media.id.desc()).limit(limit)
        )
    )
    if include is not None and all(item.id != include for item in items):
        chosen = session.get(Media, include)
        if chosen is not None:
            items.insert(0, chosen)
    return items


def media_lookup(session: Session, content: str) -> dict[str, ImageInfo]:
    """The measured library images a Markdown text shows, by URL (the renderer's input)."""
    names = sorted(set(MEDIA_URL.findall(content or "")))
    if not names:
        return {}
    found = session.scalars(select(Media).where(Media.filename.in_(names)))
    lookup = {}
    for media in found:
        info = image_info(media)
        if info is not None:
            lookup[info.url] = info
    return lookup


def delete_media(session: Session, store: MediaStore, media_id: int) -> list[int]:
    """Forget an upload and remove its files; returns the articles that showed it.

    Their featured image is cleared by the foreign key; an image in their text shows broken.
    """
    media = session.get(Media, media_id)
    if media is None:
        raise NotFound("There is no such file.")
    names = stored_file_names(media)
    affected = [use.id for use in media_usage(session, [media])[media.id]]
    session.execute(
        update(Article)
        .where(Article.featured_image_id == media_id)
        .values(featured_image_id=None, updated_at=Article.updated_at)
    )
    session.execute(delete(Media).where(Media.id == media_id))
    session.commit()
    delete_media_files(store, names)
    return affected


def measure_old_media(session: Session, store: MediaStore, limit: int = BACKFILL_BATCH) -> int:
    """Measure media stored before variants existed and make their copies; returns how many.

    A missing or unreadable file is marked 0×0 so it is not tried again; the articles that
    show a measured image are marked for a re-render (their srcset and sizes change).
    """
    rows = list(session.scalars(select(Media).where(Media.width.is_(None)).limit(limit)))
    for media in rows:
        data = read_media_file(store, media.filename)
        try:
            processed = make_variants(media.filename, data) if data else None
        except (UnidentifiedImageError, OSError, ValueError) as error:
            log.warning("media %s could not be measured: %s", media.filename, error)
            processed = None
        if processed is None:
            media.width = media.height = 0
            continue
        for name, copy in processed.files.items():
            write_media_file(store, name, copy)
        media.width, media.height = processed.width, processed.height
        media.variant_widths = format_widths(processed.variant_widths)
        media.webp_widths = format_widths(processed.webp_widths)
        session.execute(
            update(Article)
            .where(Article.content.like(f"%/media/{media.filename}%"))
            .values(renderer_version="", updated_at=Article.updated_at)
        )
    session.commit()
    return len(rows)


# --- the files themselves (the one place that touches the media store) ----------------


def read_media_file(store: MediaStore, filename: str) -> bytes | None:
    """A stored file's bytes; None when it is missing or the name is not one of ours."""
    if not MEDIA_FILE_NAME.match(filename):
        return None
    return store.get(filename)


def write_media_file(store: MediaStore, filename: str, data: bytes) -> None:
    """Store a file (atomically), refusing any name that is not one of ours."""
    if not MEDIA_FILE_NAME.match(filename):
        raise Invalid("Bad media file name.")
    kind = sniff_image(data)
    store.put(filename, data, kind.content_type if kind else "application/octet-stream")


def delete_media_files(store: MediaStore, filenames: Iterable[str]) -> None:
    """Remove stored files (those already gone are fine); names not ours are skipped."""
    for filename in filenames:
        if MEDIA_FILE_NAME.match(filename):
            store.delete(filename)
