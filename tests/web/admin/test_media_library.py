"""The media library over HTTP: alt text and caption, search, where an image is used, the
warning before deleting a used image, resized copies served with long caching, and the
editor's featured image (chosen, uploaded, saved, shown again)."""

from __future__ import annotations

import io
import os
import re

from PIL import Image

from tests.web.admin.conftest import save_article

XHR = {"X-Requested-With": "XMLHttpRequest"}


def jpeg(width: int = 1200, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def upload(client, name: str, data: bytes | None = None) -> dict:
    response = client.post(
        "/admin/media",
        data={"_xsrf": client.xsrf_token},
        files={"file": (name, data or jpeg(), "image/jpeg")},
        headers=XHR,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_alt_text_and_caption_are_edited_and_used_by_the_markdown(live, signed_in):
    image = upload(signed_in, "IMG_0042.jpg")
    assert image["markdown"] == f"![IMG_0042]({image['url']})"
    page = signed_in.get(f"/admin/media/{image['id']}")
    assert page.status_code == 200 and "IMG_0042.jpg" in page.text
    saved = signed_in.post_form(
        f"/admin/media/{image['id']}",
        {"alt_text": "  Two boats  in the harbour ", "caption": "Early morning."},
    )
    assert saved.status_code == 302
    shown = signed_in.follow(saved).text
    assert "The image details are saved." in shown
    assert 'value="Two boats in the harbour"' in shown and "Early morning." in shown
    assert f"![Two boats in the harbour]({image['url']})" in shown
    listing = signed_in.get("/admin/media").text
    assert f"![Two boats in the harbour]({image['url']})" in listing
    too_long = signed_in.post_form(
        f"/admin/media/{image['id']}", {"alt_text": "x" * 300, "caption": ""}
    )
    assert too_long.status_code == 400 and "at most 255 characters" in too_long.text


def test_the_library_is_searched_by_name(live, signed_in):
    upload(signed_in, "harbour.jpg")
    upload(signed_in, "mountain.jpg")
    found = signed_in.get("/admin/media?q=harb").text
    assert "harbour.jpg" in found and "mountain.jpg" not in found
    nothing = signed_in.get("/admin/media?q=desert")
    assert nothing.status_code == 200 and "No image matches" in nothing.text


def test_usage_and_the_warning_before_deleting_a_used_image(live, signed_in):
    image = upload(signed_in, "boats.jpg")
    article_id = save_article(
        signed_in, title="Harbour notes", content=f"Boats:\n\n![Boats]({image['url']})\n"
    )
    listing = signed_in.get("/admin/media").text
    assert "Used in 1 article" in listing
    detail = signed_in.get(f"/admin/media/{image['id']}").text
    assert f'href="/admin/articles/{article_id}/edit"' in detail and "Harbour notes" in detail
    warning = signed_in.get(f"/admin/media/{image['id']}/delete")
    assert warning.status_code == 200
    assert "This image is used in 1 article." in warning.text and "Harbour notes" in warning.text
    stem = image["name"].removesuffix(".jpg")
    assert len([n for n in os.listdir(live.settings.media_dir) if n.startswith(stem)]) > 1
    deleted = signed_in.post_form(f"/admin/media/{image['id']}/delete")
    assert deleted.status_code == 302
    assert "The file is deleted." in signed_in.follow(deleted).text
    assert not [n for n in os.listdir(live.settings.media_dir) if n.startswith(stem)]


def test_an_unused_image_asks_plainly(live, signed_in):
    image = upload(signed_in, "alone.jpg")
    warning = signed_in.get(f"/admin/media/{image['id']}/delete").text
    assert "No article shows this image." in warning and "is used in" not in warning


def test_resized_copies_are_served_with_long_caching_and_the_sandbox(live, signed_in):
    image = upload(signed_in, "wide.jpg", jpeg(1000, 500))
    stem = image["url"].removesuffix(".jpg")
    for url, kind, size in (
        (f"{stem}-480.jpg", "image/jpeg", (480, 240)),
        (f"{stem}-960.webp", "image/webp", (960, 480)),
        (f"{stem}-1000.webp", "image/webp", (1000, 500)),
    ):
        served = signed_in.get(url)
        assert served.status_code == 200, url
        assert served.headers["Content-Type"] == kind
        assert Image.open(io.BytesIO(served.content)).size == size
        assert "immutable" in served.headers["Cache-Control"]
        assert "max-age=31536000" in served.headers["Cache-Control"]
        assert "sandbox" in served.headers["Content-Security-Policy"]
    assert signed_in.get(f"{stem}-123.jpg").status_code == 404
    assert signed_in.get(f"{stem}-480.exe").status_code == 404


def test_the_featured_image_round_trips_through_the_editor(live, signed_in):
    image = upload(signed_in, "cover.jpg")
    signed_in.post_form(f"/admin/media/{image['id']}", {"alt_text": "A blue cover", "caption": ""})
    editor = signed_in.get("/admin/articles/new").text
    assert f'name="featured_image" value="{image["id"]}"' in editor
    article_id = save_article(
        signed_in, title="With a cover", status="published", featured_image=str(image["id"])
    )
    again = signed_in.get(f"/admin/articles/{article_id}/edit").text
    assert re.search(rf'name="featured_image" value="{image["id"]}" checked', again)
    page = signed_in.get(f"/article/{article_id}/with-a-cover").text
    assert 'class="featured-image"' in page and 'alt="A blue cover"' in page
    # Saved without it: no featured image any more.
    save_article(signed_in, article_id, title="With a cover", status="published")
    assert 'class="featured-image"' not in signed_in.get(f"/article/{article_id}/with-a-cover").text


def test_an_unknown_featured_image_is_refused_with_the_text_kept(live, signed_in):
    response = signed_in.post_form(
        "/admin/articles/new",
        {"title": "Kept", "content": "My text", "status": "draft", "featured_image": "999999"},
    )
    assert response.status_code == 400
    assert "There is no such image in the library." in response.text
    assert "My text" in response.text


def test_the_library_in_chinese(live, signed_in):
    image = upload(signed_in, "cover.jpg")
    headers = {"Accept-Language": "zh-CN"}
    signed_in.cookies.set("lang", "zh_CN", domain="127.0.0.1", path="/")
    listing = signed_in.get("/admin/media", headers=headers).text
    detail = signed_in.get(f"/admin/media/{image['id']}", headers=headers).text
    warning = signed_in.get(f"/admin/media/{image['id']}/delete", headers=headers).text
    assert "按名称、替代文字或说明搜索" in listing and "未被使用" in listing
    assert "使用位置" in detail and "替代文字" in detail
    assert "没有文章使用这张图片。" in warning
