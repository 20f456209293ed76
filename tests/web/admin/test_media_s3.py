"""Media in an S3-compatible store (SeaweedFS, started once for the module).

Uploads become objects in the bucket and are served through the instance with caching
headers; a delete removes the object; an export and an import carry them. While the
store is down, pages still answer, an image answers 503 with a clear message and an
upload is refused with a 503, never a 500; when it is back everything works again
without a restart.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from commands import upgrade_database
from model import Media
from service import users
from tests.cluster.conftest import poll
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, AuthActions
from tests.support.live import BlogClient, LiveApp, make_settings
from tests.support.servers import SeaweedFSServer
from tests.web.admin.conftest import png_bytes
from tests.web.admin.test_media import XHR, upload

BUCKET = "inkwell-media"


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSServer]:
    server = SeaweedFSServer(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    server.create_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture
def prefix(seaweedfs: SeaweedFSServer) -> str:
    """Each test's own prefix in the module's bucket."""
    if seaweedfs.process is None:
        seaweedfs.start()  # a test that stopped it must not break the next one
    return f"blog-{secrets.token_hex(4)}/media"


@pytest.fixture
def s3_app(
    start_app: Callable[..., LiveApp], sqlite_url: str, seaweedfs: SeaweedFSServer, prefix: str
) -> LiveApp:
    return start_app(
        sqlite_url,
        media_storage=seaweedfs.storage_url(BUCKET, prefix=prefix),
        s3_access_key=SeaweedFSServer.ACCESS_KEY,
        s3_secret_key=SeaweedFSServer.SECRET_KEY,
    )


@pytest.fixture
def author(s3_app: LiveApp) -> BlogClient:
    s3_app.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    client = BlogClient(s3_app.url)
    assert AuthActions(client).login().status_code == 302
    return client


def media_ids(app: LiveApp) -> list[int]:
    return app.service(lambda session: list(session.scalars(select(Media.id))))


def test_an_upload_is_an_object_in_the_bucket_served_with_caching_headers(
    s3_app: LiveApp, author: BlogClient, seaweedfs: SeaweedFSServer, prefix: str
) -> None:
    response = upload(author, "photo.png", png_bytes(), headers=XHR)
    assert response.status_code == 200, response.text
    url = response.json()["url"]
    name = url.rsplit("/", 1)[1]
    stem = name.split(".")[0]
    # The original and its WebP copy (a 2-pixel image gets no narrower copies).
    assert seaweedfs.keys(BUCKET, prefix) == sorted([f"{prefix}/{name}", f"{prefix}/{stem}-2.webp"])
    assert not (s3_app.settings.media_dir and _listing(s3_app.settings.media_dir))

    reader = BlogClient(s3_app.url)
    served = reader.get(url)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    stored = seaweedfs.client().get_object(Bucket=BUCKET, Key=f"{prefix}/{name}")
    assert served.content == stored["Body"].read()
    assert reader.get(f"/media/{stem}-2.webp").headers["Content-Type"] == "image/webp"
    assert reader.get("/media/" + "0" * 32 + ".png").status_code == 404

    (media_id,) = media_ids(s3_app)
    deleted = author.post_form(f"/admin/media/{media_id}/delete")
    assert deleted.status_code == 302
    assert seaweedfs.keys(BUCKET, prefix) == []
    assert reader.get(url).status_code == 404


def test_export_and_import_carry_the_stored_images(
    s3_app: LiveApp,
    author: BlogClient,
    seaweedfs: SeaweedFSServer,
    start_app: Callable[..., LiveApp],
    tmp_path: Any,
) -> None:
    name = upload(author, "photo.png", png_bytes(), headers=XHR).json()["url"].rsplit("/", 1)[1]
    exported = author.get("/admin/export/download")
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert f"media/{name}" in archive.namelist()

    # Another blog, its own bucket: the import writes the image there.
    other_prefix = f"other-{secrets.token_hex(4)}"
    database = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    upgrade_database(make_settings(tmp_path, database))
    other = start_app(
        database,
        media_storage=seaweedfs.storage_url(BUCKET, prefix=other_prefix),
        s3_access_key=SeaweedFSServer.ACCESS_KEY,
        s3_secret_key=SeaweedFSServer.SECRET_KEY,
    )
    other.service(users.create_admin, ADMIN_USERNAME, ADMIN_PASSWORD, "Ada Admin", "")
    client = BlogClient(other.url)
    assert AuthActions(client).login().status_code == 302
    imported = client.post(
        "/admin/export/import",
        data={"_xsrf": client.xsrf_token},
        files={"archive": ("site.zip", exported.content, "application/zip")},
    )
    assert imported.status_code == 302, imported.text[-1500:]
    assert seaweedfs.keys(BUCKET, other_prefix) == [f"{other_prefix}/{name}"]
    assert BlogClient(other.url).get(f"/media/{name}").status_code == 200


def test_while_the_store_is_down_pages_work_and_media_answer_503(
    s3_app: LiveApp, author: BlogClient, seaweedfs: SeaweedFSServer
) -> None:
    url = upload(author, "photo.png", png_bytes(), headers=XHR).json()["url"]
    reader = BlogClient(s3_app.url)
    seaweedfs.stop()
    try:
        assert reader.get("/").status_code == 200
        assert author.get("/admin/media").status_code == 200
        image = reader.get(url)
        assert image.status_code == 503
        assert "Images are unavailable for a moment" in image.text
        assert image.headers["Retry-After"]
        refused = upload(author, "another.png", png_bytes(), headers=XHR)
        assert refused.status_code == 503
        assert "Images are unavailable for a moment" in refused.text
        assert len(media_ids(s3_app)) == 1  # the refused upload left no row behind
    finally:
        seaweedfs.start()
    # Back: the same instance serves and stores again as soon as SeaweedFS has its volumes.
    assert poll(lambda: reader.get(url).status_code == 200, timeout=30, interval=0.2)
    assert upload(author, "another.png", png_bytes(), headers=XHR).status_code == 200


def _listing(directory: str) -> list[Any]:
    import os

    return os.listdir(directory) if os.path.isdir(directory) else []
