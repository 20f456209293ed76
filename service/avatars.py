"""A user's avatar: an uploaded picture (cropped square, stored in the media store) or, by
default, the identicon drawn from their address; and the markup that shows either one."""

from __future__ import annotations

import html
import io
import secrets

from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from extends.storage import MediaStore
from model import User
from service.account import get_account
from service.identicon import identicon_svg
from service.images import MEDIA_FILE_NAME
from service.media import checked_image, delete_media_files, write_media_file

# Shown at 24–64 CSS pixels; twice that for sharp screens.
AVATAR_PIXELS = 128
MAX_AVATAR_BYTES = 2 * 1024 * 1024
AVATAR_WEBP_QUALITY = 85


def avatar_html(avatar: str | None, seed: str, size: int = 40) -> str:
    """The avatar's markup: the uploaded picture, or the identicon of ``seed``."""
    if avatar and MEDIA_FILE_NAME.match(avatar):
        return (
            f'<img class="avatar" src="/media/{html.escape(avatar)}" width="{size}" '
            f'height="{size}" alt="" loading="lazy">'
        )
    return identicon_svg(seed, size)


def identicon_seed(user: User) -> str:
    """What a user's identicon is drawn from (the address, as for their comments)."""
    return user.email or user.username


def user_avatar_html(user: User, size: int = 40) -> str:
    return avatar_html(user.avatar, identicon_seed(user), size)


def square_avatar(data: bytes, max_bytes: int = MAX_AVATAR_BYTES) -> bytes:
    """An upload made into the avatar's picture: a centred square, WebP, metadata dropped.

    Raises Invalid for an empty, too large or unreadable file, or one that is not an image.
    """
    # Decoded once by the media pipeline first: the same checks (pixels, bombs, bad data).
    clean, _kind = checked_image(data, max_bytes)
    with Image.open(io.BytesIO(clean)) as image:
        image.seek(0)
        square = ImageOps.fit(
            image.convert("RGBA"),
            (AVATAR_PIXELS, AVATAR_PIXELS),
            Image.Resampling.LANCZOS,
            centering=(0.5, 0.4),
        )
    out = io.BytesIO()
    square.save(out, "WEBP", quality=AVATAR_WEBP_QUALITY)
    return out.getvalue()


def set_avatar(
    session: Session, store: MediaStore, user_id: int, data: bytes, max_bytes: int
) -> User:
    """Use an uploaded picture as this user's avatar (the previous one is deleted)."""
    user = get_account(session, user_id)
    picture = square_avatar(data, max_bytes)
    filename = f"{secrets.token_hex(16)}.webp"
    write_media_file(store, filename, picture)
    previous = user.avatar
    user.avatar = filename
    try:
        session.commit()
    except Exception:
        delete_media_files(store, [filename])
        raise
    if previous:
        delete_media_files(store, [previous])
    return user


def use_identicon(session: Session, store: MediaStore, user_id: int) -> User:
    """Go back to the identicon (an uploaded picture is deleted)."""
    user = get_account(session, user_id)
    previous = user.avatar
    user.avatar = None
    session.commit()
    if previous:
        delete_media_files(store, [previous])
    return user
