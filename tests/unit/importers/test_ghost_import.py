"""Importing a Ghost 5 export: posts, pages, tags, authors, images, re-import, bad files."""

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extends.storage import LocalMediaStore
from model import Article, Media, Redirect, Tag, User
from service.importers.common import ImportRefused
from service.importers.run import import_file

GHOST = Path(__file__).resolve().parents[2] / "fixtures" / "ghost" / "ghost5.json"
IMAGES = GHOST.parent / "images"


def run(db, tmp_path, path=GHOST, **options):
    options.setdefault("uploads", IMAGES)
    options.setdefault("fetch_urls", False)
    return import_file(db, LocalMediaStore(tmp_path / "media"), path, **options)


def article(db, slug):
    return db.scalar(select(Article).where(Article.slug == slug))


def test_a_ghost_export_arrives_with_its_images_and_old_urls(db, tmp_path):
    summary = run(db, tmp_path)
    assert summary.created["articles"] == 3 and summary.created["pages"] == 1
    post = article(db, "sailing-with-ghost")
    assert post.status == "published" and post.publish_at == dt.datetime(2024, 2, 4, 9, 0)
    assert post.summary == "A morning at sea."
    assert "The harbour was *quiet* that morning." in post.content
    assert "```bash\ntie --bowline" in post.content
    media = db.get(Media, post.featured_image_id)
    assert f"/media/{media.filename}" in post.content and "__GHOST_URL__" not in post.content
    assert [t.name for t in db.scalars(select(Tag))] == ["Sailing"]  # #internal tags left out
    assert article(db, "uber-uns").kind == "page"
    assert article(db, "next-voyage").status == "scheduled"
    assert article(db, "half-written").status == "draft"
    sam = db.scalar(select(User).where(User.username == "sam"))
    assert sam.display_name == "Sam Sailor" and post.author_id == sam.id
    table = dict(db.execute(select(Redirect.path, Redirect.target)).all())
    assert table["/sailing-with-ghost"] == f"/article/{post.id}/sailing-with-ghost"
    assert table["/rss"] == "/feed.rss" and table["/tag/sailing/rss"] == "/tag/Sailing/feed.rss"


def test_a_ghost_reimport_creates_nothing_new(db, tmp_path):
    run(db, tmp_path)
    before = db.scalar(select(func.count()).select_from(Article))
    summary = run(db, tmp_path)
    assert summary.created == {} and summary.updated["articles"] == 3
    assert db.scalar(select(func.count()).select_from(Article)) == before


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"status": "scheduled"', '"status": "exploded"', "the status exploded is unknown"),
        ('"2031-03-01T10:00:00.000Z"', '"yesterday"', "the date yesterday is not valid"),
        ('"posts_tags": [', '"posts_tags": 7, "x": [', "posts_tags section is damaged"),
    ],
)
def test_a_broken_ghost_export_is_refused_naming_the_item(db, tmp_path, old, new, message):
    bad = tmp_path / "bad.json"
    bad.write_text(GHOST.read_text().replace(old, new, 1))
    with pytest.raises(ImportRefused, match=message):
        run(db, tmp_path, path=bad)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Article)) == 0


def test_truncated_json_is_refused(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(GHOST.read_text()[:300])
    with pytest.raises(ImportRefused, match="not valid JSON"):
        run(db, tmp_path, path=bad)
