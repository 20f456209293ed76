"""Uploaded images: checked by their bytes, stored under random names in the media directory."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from model import Media
from model.pager import Pager
from service.errors import Invalid, NotFound

PAGE_SIZE = 40
MAX_ORIGINAL_NAME = 255
# A stored name is always ours: 32 hex digits and the extension of the detected type.
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|gif|webp)$")


@dataclass(frozen=True)
class ImageType:
    extension: str
    content_type: str


PNG = ImageType("png", "image/png")
JPEG = ImageType("jpg", "image/jpeg")
GIF = ImageType("gif", "image/gif")
WEBP = ImageType("webp", "image/webp")


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


def check_original_name(name: str) -> str:
    """The name the uploader gave, refused when it carries a path."""
    name = (name or "").strip()
    if not name:
        raise Invalid("The file has no name.")
    if "/" in name or "\\" in name or ".." in name or any(ord(c) < 32 for c in name):
        raise Invalid("The file name must not contain a path.")
    return name[:MAX_ORIGINAL_NAME]


def store_upload(
    session: Session, media_dir: str, original_name: str, data: bytes, max_bytes: int
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
    directory = Path(media_dir)
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"{secrets.token_hex(16)}.{kind.extension}"
    write_media_file(directory, filename, data)
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
        (directory / filename).unlink(missing_ok=True)
        raise
    return media


def write_media_file(directory: Path, filename: str, data: bytes) -> None:
    """Write a file atomically, refusing any name that is not one of ours."""
    if not STORED_NAME.match(filename):
        raise Invalid("Bad media file name.")
    temporary = directory / f".{filename}.{secrets.token_hex(4)}.part"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, directory / filename)


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


def delete_media(session: Session, media_dir: str, media_id: int) -> None:
    """Forget an upload and remove its file (articles that show it will show a broken image)."""
    media = session.get(Media, media_id)
    if media is None:
        raise NotFound("There is no such file.")
    filename = media.filename
    session.execute(delete(Media).where(Media.id == media_id))
    session.commit()
    if STORED_NAME.match(filename):
        (Path(media_dir) / filename).unlink(missing_ok=True)
