"""Avatars: an upload becomes a small square picture in the media store, replacing the
previous one; the identicon again deletes it; bad files are refused with a clear message."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from extends.storage import LocalMediaStore
from service import avatars, users
from service.errors import Invalid

PASSWORD = "violet-harbour-lantern-42"


def jpeg_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def test_an_upload_becomes_a_square_avatar_that_replaces_the_last(db, tmp_path):
    store = LocalMediaStore(tmp_path / "media")
    ada = users.create_admin(db, "ada", PASSWORD, "Ada", "ada@example.org")
    first = avatars.set_avatar(db, store, ada.id, jpeg_bytes(600, 300), 1_000_000).avatar
    assert first is not None and first.endswith(".webp")
    with Image.open(io.BytesIO(store.get(first) or b"")) as picture:
        assert picture.size == (avatars.AVATAR_PIXELS, avatars.AVATAR_PIXELS)
    second = avatars.set_avatar(db, store, ada.id, jpeg_bytes(50, 80), 1_000_000).avatar
    assert second != first and store.get(first) is None and store.get(second or "")
    assert f'src="/media/{second}"' in avatars.user_avatar_html(db.get(type(ada), ada.id))

    avatars.use_identicon(db, store, ada.id)
    assert store.get(second or "") is None
    user = db.get(type(ada), ada.id)
    assert user.avatar is None and avatars.user_avatar_html(user).startswith("<svg")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"%PDF-1.4 not a picture", "Only PNG, JPEG, GIF and WebP images can be uploaded."),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "The file is not a valid {kind} image."),
        (jpeg_bytes(40, 40) + b"\x00" * 3000, "The file is too large (at most {max_mb} MB)."),
    ],
)
def test_bad_files_are_refused_and_the_avatar_stays(db, tmp_path, data, message):
    store = LocalMediaStore(tmp_path / "media")
    ada = users.create_admin(db, "ada", PASSWORD)
    with pytest.raises(Invalid) as refused:
        avatars.set_avatar(db, store, ada.id, data, 3000)
    assert refused.value.message == message
    assert db.get(type(ada), ada.id).avatar is None
    assert not (tmp_path / "media").exists() or list((tmp_path / "media").iterdir()) == []
