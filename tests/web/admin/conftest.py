"""The author's side through HTTP: a signed-in client and helpers that read like the scenario."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import pytest
from sqlalchemy import select

from model import Article
from service.transfer import site_snapshot


@pytest.fixture
def signed_in(auth: Any) -> Any:
    """The test client, signed in as the administrator."""
    response = auth.login()
    assert response.status_code == 302, response.text
    return auth.client


def article_form(**fields: Any) -> dict[str, Any]:
    form = {
        "title": "A title",
        "content": "Some *Markdown*.",
        "summary": "",
        "category_id": "",
        "source_id": "",
        "tags": "",
        "status": "draft",
        "publish_at": "",
    }
    form.update(fields)
    return form


def save_article(client: Any, article_id: int | None = None, **fields: Any) -> int:
    """Post the editor's form; returns the article id from the redirect."""
    path = f"/admin/articles/{article_id}/edit" if article_id else "/admin/articles/new"
    response = client.post_form(path, article_form(**fields))
    assert response.status_code == 302, response.text[-2000:]
    match = re.fullmatch(r"/admin/articles/([0-9]+)/edit", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def article_titles(live: Any) -> list[str]:
    def query(session: Any) -> list[str]:
        return list(session.scalars(select(Article.title).order_by(Article.id)))

    return live.service(query)


def snapshot(live: Any) -> dict[str, Any]:
    """Everything the site holds, to check that a refused request changed nothing."""
    return live.service(site_snapshot)


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real, valid PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
