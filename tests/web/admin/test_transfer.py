"""Export the whole site, import it into an empty blog: the same content comes back."""

from __future__ import annotations

import io
import json
import os
import zipfile

from PIL import Image

from commands import upgrade_database
from service import users
from service.demo import load_demo_site
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient, make_settings, page_text
from tests.web.admin.conftest import png_bytes, save_article


def download(client) -> bytes:
    response = client.get("/admin/export/download")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.content


def contents(archive: bytes) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        data = json.loads(zipped.read("site.json"))
        files = {n: zipped.read(n) for n in zipped.namelist() if n.startswith("media/")}
    return data, files


def second_database(request, tmp_path, database_url: str) -> str:
    """Another empty, migrated database on the same engine as the first blog."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    else:
        url = request.getfixturevalue("mariadb_server").new_database_url()
    upgrade_database(make_settings(tmp_path, url))
    return url


def test_export_import_export_round_trip(
    live, signed_in, start_app, database_url, request, tmp_path
):
    live.service(load_demo_site)
    article_id = save_article(signed_in, title="With revision", status="published", tags="kept")
    save_article(
        signed_in, article_id, title="With revision", content="Edited.", status="published"
    )
    image = png_bytes()
    signed_in.post(
        "/admin/media",
        data={"_xsrf": signed_in.xsrf_token},
        files={"file": ("p.png", image, "image/png")},
    )
    first = download(signed_in)
    data, files = contents(first)
    assert data["articles"] and data["revisions"] and data["comments"] and data["widgets"]
    # The stored upload is the re-encoded image (service.media): the same pixels.
    assert [Image.open(io.BytesIO(content)).size for content in files.values()] == [(2, 2)]
    assert "password_hash" not in json.dumps(data)

    # A second blog on the same engine, empty but for its administrator.
    other = start_app(second_database(request, tmp_path, database_url))
    other.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    client = BlogClient(other.url)
    assert AuthActions(client).login().status_code == 302
    imported = client.post(
        "/admin/export/import",
        data={"_xsrf": client.xsrf_token},
        files={"archive": ("site.zip", first, "application/zip")},
    )
    assert imported.status_code == 302, imported.text[-1500:]

    second = download(client)
    assert contents(second) == contents(first)
    # Readers of the new blog see the same articles, at the same addresses.
    reader = BlogClient(other.url)
    assert "Edited." in page_text(reader.get(f"/article/{article_id}", allow_redirects=True).text)
    image_url = "/media/" + next(iter(files)).split("/", 1)[1]
    assert reader.get(image_url).content == next(iter(files.values()))

    # A blog with content refuses a second import.
    again = client.post(
        "/admin/export/import",
        data={"_xsrf": client.xsrf_token},
        files={"archive": ("site.zip", first, "application/zip")},
    )
    assert again.status_code == 409 and "empty blog" in again.text


def test_a_file_that_is_not_an_archive_is_refused(live, signed_in):
    response = signed_in.post(
        "/admin/export/import",
        data={"_xsrf": signed_in.xsrf_token},
        files={"archive": ("site.zip", b"not a zip", "application/zip")},
    )
    assert response.status_code == 400
    assert "not an Inkwell export archive" in response.text


def test_archive_members_outside_media_are_ignored(live, signed_in):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("site.json", json.dumps(_empty_site()))
        archive.writestr("media/../../escape.png", png_bytes())
        archive.writestr("../escape.png", png_bytes())
    response = signed_in.post(
        "/admin/export/import",
        data={"_xsrf": signed_in.xsrf_token},
        files={"archive": ("site.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 302
    root = os.path.dirname(live.settings.media_dir)
    assert not any("escape" in name for _, _, found in os.walk(root) for name in found)


def _empty_site() -> dict:
    return {
        "format": "inkwell-export",
        "version": 1,
        "settings": None,
        "sources": [],
        **{
            name: []
            for name in (
                "menus",
                "categories",
                "tags",
                "articles",
                "revisions",
                "comments",
                "widgets",
                "daily_stats",
                "media",
            )
        },
    }


def test_imported_images_are_re_encoded_like_uploads(live, signed_in):
    name = "ab" * 16 + ".png"
    polyglot = png_bytes() + b"<html><script>window.x=1</script></html>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("site.json", json.dumps(_empty_site()))
        archive.writestr(f"media/{name}", polyglot)
    response = signed_in.post(
        "/admin/export/import",
        data={"_xsrf": signed_in.xsrf_token},
        files={"archive": ("site.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 302
    served = BlogClient(live.url).get(f"/media/{name}")
    assert served.status_code == 200 and b"<script" not in served.content
    assert Image.open(io.BytesIO(served.content)).size == (2, 2)


def test_an_archive_with_a_file_that_is_not_its_image_is_refused(live, signed_in):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("site.json", json.dumps(_empty_site()))
        archive.writestr("media/" + "cd" * 16 + ".png", b"<html>not an image</html>")
    response = signed_in.post(
        "/admin/export/import",
        data={"_xsrf": signed_in.xsrf_token},
        files={"archive": ("site.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 400 and "damaged" in response.text
