"""Uploaded images: checked by their bytes, re-encoded, stored under random names.

Every upload is decoded with Pillow as the type its first bytes claim and written again
in that format: what is stored is only the pixels (and the colour profile, transparency
and animation timing), never the uploaded bytes. Metadata (EXIF with its GPS position,
XMP, text chunks, comments) is dropped, the EXIF orientation is applied to the pixels
first, and anything riding along in the file (HTML in a PNG+HTML polyglot, data after
the end marker) is gone. Animated GIF, PNG and WebP are re-encoded frame by frame too.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from extends.storage import MediaStore
from model import Media
from model.pager import Pager
from service.errors import Invalid, NotFound

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


def check_original_name(name: str) -> str:
    """The name the uploader gave, refused when it carries a path."""
    name = (name or "").strip()
    if not name:
        raise Invalid("The file has no name.")
    if "/" in name or "\\" in name or ".." in name or any(ord(c) < 32 for c in name):
        raise Invalid("The file name must not contain a path.")
    return name[:MAX_ORIGINAL_NAME]


def store_upload(
    session: Session, store: MediaStore, original_name: str, data: bytes, max_bytes: int
) -> Media:
    """Validate an upload and store it; returns the new Media row."""
    original = check_original_name(original_name)
    if not data:
        raise Invalid("The file is empty.")
    if len(data) > max_bytes:
        # Written as the upload form writes it ("5.0"), so the two always agree.
        max_mb = str(round(max_bytes / (1024 * 1024), 1))
        raise Invalid("The file is too large (at most {max_mb} MB).", max_mb=max_mb)
    kind = sniff_image(data)
    if kind is None:
        raise Invalid("Only PNG, JPEG, GIF and WebP images can be uploaded.")
    # Only what Pillow decoded is stored: metadata and anything riding along are dropped.
    data = reencode_image(data, kind)
    filename = f"{secrets.token_hex(16)}.{kind.extension}"
    write_media_file(store, filename, data)
    media = Media(
        filename=filename,
        original_name=original,
        content_type=kind.content_type,
        size=len(data),
    )
    session.add(media)
    try:
        session.commit()
    except Exception:
        store.delete(filename)
        raise
    return media


def write_media_file(store: MediaStore, filename: str, data: bytes) -> None:
    """Store a file (atomically), refusing any name that is not one of ours."""
    if not STORED_NAME.match(filename):
        raise Invalid("Bad media file name.")
    kind = sniff_image(data)
    store.put(filename, data, kind.content_type if kind else "application/octet-stream")


def read_media_file(store: MediaStore, filename: str) -> bytes | None:
    """A stored file's bytes (None when missing or not one of our names)."""
    if not STORED_NAME.match(filename):
        return None
    return store.get(filename)


def list_media(session: Session, page: int) -> tuple[list[Media], Pager]:
    total = session.scalar(select(func.count()).select_from(Media)) or 0
    pager = Pager(page=max(1, page), per_page=PAGE_SIZE, total=total)
    if pager.page > pager.pages:
        raise NotFound("There is no such page.")
    items = session.scalars(
        select(Media)
        .order_by(Media.created_at.desc(), Media.id.desc())
        .offset(pager.offset)
        .limit(pager.per_page)
    )
    return list(items), pager


def delete_media(session: Session, store: MediaStore, media_id: int) -> None:
    """Forget an upload and remove its file (articles that show it will show a broken image)."""
    media = session.get(Media, media_id)
    if media is None:
        raise NotFound("There is no such file.")
    filename = media.filename
    session.execute(delete(Media).where(Media.id == media_id))
    session.commit()
    if STORED_NAME.match(filename):
        store.delete(filename)
