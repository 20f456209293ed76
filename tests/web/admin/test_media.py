"""Uploads: real images only (by their bytes), bounded size, random names, no path tricks."""

from __future__ import annotations

import io
import os
import re

from PIL import Image
from sqlalchemy import func, select

from model import Media
from tests.web.admin.conftest import png_bytes

XHR = {"X-Requested-With": "XMLHttpRequest"}


def upload(client, name, data, content_type="image/png", headers=None):
    return client.post(
        "/admin/media",
        data={"_xsrf": client.xsrf_token},
        files={"file": (name, data, content_type)},
        headers=headers or {},
    )


def media_count(live) -> int:
    return live.service(lambda s: s.scalar(select(func.count()).select_from(Media)))


def test_a_real_png_is_stored_under_a_random_name_and_served(live, signed_in):
    image = png_bytes()
    response = upload(signed_in, "holiday photo.png", image, headers=XHR)
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"/media/[0-9a-f]{32}\.png", body["url"])
    assert body["markdown"] == f"![holiday photo]({body['url']})"
    served = signed_in.get(body["url"])
    assert served.status_code == 200
    # Re-encoded (service.media): the same pixels, not the same bytes.
    decoded = Image.open(io.BytesIO(served.content))
    assert decoded.format == "PNG" and decoded.size == (2, 2)
    assert decoded.convert("RGB").getpixel((1, 1)) == (255, 0, 0)
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    stem = body["url"].rsplit("/", 1)[1].removesuffix(".png")
    # The original, and (too small for resized copies) its WebP twin at full size.
    assert sorted(os.listdir(live.settings.media_dir)) == [f"{stem}-2.webp", f"{stem}.png"]
    listing = signed_in.get("/admin/media")
    assert body["url"] in listing.text and "holiday photo.png" in listing.text


def test_the_form_upload_redirects_to_the_list(live, signed_in):
    response = upload(signed_in, "a.png", png_bytes())
    assert response.status_code == 302
    assert "The image is uploaded." in signed_in.follow(response).text


def test_a_renamed_text_file_is_refused(live, signed_in):
    response = upload(signed_in, "notes.png", b"just some text, not an image", headers=XHR)
    assert response.status_code == 400
    assert "PNG, JPEG, GIF and WebP" in response.json()["error"]
    form = upload(signed_in, "page.gif", b"<html><script>alert(1)</script></html>", "image/gif")
    assert form.status_code == 400 and "PNG, JPEG, GIF and WebP" in form.text
    assert media_count(live) == 0


def test_an_oversize_file_is_refused(live, signed_in):
    limit = live.settings.upload_max_bytes
    big = png_bytes() + b"\x00" * (limit + 1)
    response = upload(signed_in, "big.png", big, headers=XHR)
    assert response.status_code == 400
    assert "too large" in response.json()["error"]
    assert media_count(live) == 0


def test_a_path_in_the_file_name_is_refused(live, signed_in):
    for name in ("../../evil.png", "dir/evil.png", "..\\evil.png", "/etc/evil.png"):
        response = upload(signed_in, name, png_bytes(), headers=XHR)
        assert response.status_code == 400, name
        assert "path" in response.json()["error"], name
    assert media_count(live) == 0
    assert not os.path.exists(live.settings.media_dir) or os.listdir(live.settings.media_dir) == []


def test_media_urls_only_serve_our_names(live, signed_in):
    assert signed_in.get("/media/../config.py").status_code == 404
    assert signed_in.get("/media/" + "0" * 32 + ".png").status_code == 404


def test_deleting_an_upload_removes_the_file(live, signed_in):
    url = upload(signed_in, "a.png", png_bytes(), headers=XHR).json()["url"]
    media_id = live.service(lambda s: s.scalar(select(Media.id)))
    assert signed_in.post_form(f"/admin/media/{media_id}/delete").status_code == 302
    assert signed_in.get(url).status_code == 404
    assert media_count(live) == 0


def test_an_author_edits_the_details_of_their_own_uploads_only(live, signed_in):
    from service import roles, users
    from tests.support.live import BlogClient

    password = "violet-harbour-lantern-42"
    theirs = upload(signed_in, "admin.png", png_bytes(), headers=XHR).json()["id"]
    for name, role in (("ann", roles.AUTHOR), ("cole", roles.CONTRIBUTOR)):
        live.service(users.create_admin, name, password, name.title(), "", role)
    ann = BlogClient(live.url)
    ann.post_form("/auth/login", {"username": "ann", "password": password, "next": "/admin"})
    own = upload(ann, "mine.png", png_bytes(), headers=XHR).json()["id"]

    library = ann.get("/admin/media").text
    assert f'href="/admin/media/{own}"' in library
    assert f'href="/admin/media/{theirs}"' not in library  # no Edit link, and no Delete
    assert "/delete" not in library
    assert ann.get(f"/admin/media/{own}").status_code == 200
    saved = ann.post_form(f"/admin/media/{own}", {"alt_text": "My cat", "caption": "Asleep"})
    assert saved.status_code == 302
    assert live.service(lambda s: s.get(Media, own).alt_text) == "My cat"

    # Someone else's upload: refused in the service, nothing changes.
    assert ann.get(f"/admin/media/{theirs}").status_code == 403
    refused = ann.post_form(f"/admin/media/{theirs}", {"alt_text": "Mine now", "caption": ""})
    assert refused.status_code == 403
    assert live.service(lambda s: s.get(Media, theirs).alt_text) == "admin"
    # Deleting stays with editors, even for one's own upload.
    assert ann.post_form(f"/admin/media/{own}/delete").status_code == 403

    cole = BlogClient(live.url)
    cole.post_form("/auth/login", {"username": "cole", "password": password, "next": "/admin"})
    assert cole.post_form(f"/admin/media/{own}", {"alt_text": "x"}).status_code == 403
