"""Images as services see them (SQLite and MariaDB): resized copies and WebP on upload,
metadata gone, every file deleted with the row; Markdown images with srcset and sizes;
reading time; which articles use an image; the job that measures older uploads."""

from __future__ import annotations

import io
import os
import re
from html.parser import HTMLParser

import pytest
from PIL import Image
from sqlalchemy import select, update

from extends.storage import LocalMediaStore
from model import Article, Media
from service import editor, media
from service.editor import ArticleForm
from service.images import ImageInfo
from service.rendering import RENDERER_VERSION, reading_minutes, render_markdown

MAX = 20 * 1024 * 1024


def photo(width: int, height: int, orientation: int = 1, kind: str = "JPEG") -> bytes:
    """A photo as a phone writes it: EXIF with the maker, a GPS position and an orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 60, 20)).save(out, kind, exif=exif)
    return out.getvalue()


@pytest.fixture
def media_dir(tmp_path):
    """The media directory (apart from the SQLite file the database fixture keeps here)."""
    return tmp_path / "media"


def stored(directory) -> list[str]:
    return sorted(os.listdir(directory))


def test_an_upload_gets_its_dimensions_resized_copies_and_webp(db, media_dir):
    item = media.store_upload(
        db, LocalMediaStore(media_dir), "Sunset at sea.jpg", photo(2000, 1000), MAX
    )
    assert (item.width, item.height) == (2000, 1000)
    assert item.variant_widths == "480,960,1600"
    assert item.alt_text == "Sunset at sea"
    stem = item.filename.removesuffix(".jpg")
    assert stored(media_dir) == sorted(
        [f"{stem}.jpg"]
        + [f"{stem}-{w}.jpg" for w in (480, 960, 1600)]
        + [f"{stem}-{w}.webp" for w in (480, 960, 1600, 2000)]
    )
    for width in (480, 960, 1600):
        with Image.open(media_dir / f"{stem}-{width}.jpg") as copy:
            assert copy.format == "JPEG" and copy.size == (width, width // 2)
            assert not copy.getexif()
        with Image.open(media_dir / f"{stem}-{width}.webp") as copy:
            assert copy.format == "WEBP" and copy.size == (width, width // 2)
    for name in stored(media_dir):
        data = (media_dir / name).read_bytes()
        assert b"PhoneMaker" not in data and b"Exif" not in data, name


def test_only_copies_narrower_than_the_original_are_made(db, media_dir):
    item = media.store_upload(
        db, LocalMediaStore(media_dir), "small.png", photo(700, 350, kind="PNG"), MAX
    )
    assert item.variant_widths == "480" and item.webp_widths == "480,700"
    stem = item.filename.removesuffix(".png")
    assert stored(media_dir) == sorted(
        [f"{stem}.png", f"{stem}-480.png", f"{stem}-480.webp", f"{stem}-700.webp"]
    )


def test_the_orientation_is_applied_before_measuring(db, media_dir):
    # Orientation 6: the camera held sideways; the stored pixels stand upright.
    item = media.store_upload(
        db, LocalMediaStore(media_dir), "tall.jpg", photo(1000, 500, orientation=6), MAX
    )
    assert (item.width, item.height) == (500, 1000)
    with Image.open(media_dir / item.filename.replace(".jpg", "-480.jpg")) as copy:
        assert copy.size == (480, 960)


def test_deleting_removes_the_original_and_every_copy(db, media_dir):
    kept = media.store_upload(db, LocalMediaStore(media_dir), "kept.jpg", photo(1200, 600), MAX)
    gone = media.store_upload(db, LocalMediaStore(media_dir), "gone.jpg", photo(1200, 600), MAX)
    gone_stem = gone.filename.removesuffix(".jpg")
    assert any(name.startswith(gone_stem) for name in stored(media_dir))
    media.delete_media(db, LocalMediaStore(media_dir), gone.id)
    assert not any(name.startswith(gone_stem) for name in stored(media_dir))
    assert (media_dir / kept.filename).exists()
    assert db.scalar(select(Media).where(Media.id == gone.id)) is None


# --- rendering -------------------------------------------------------------------------


class ImageTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.sources: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "source":
            self.sources.append(dict(attrs))


def tags_of(html: str) -> ImageTags:
    parser = ImageTags()
    parser.feed(html)
    return parser


LIBRARY = ImageInfo(
    id=7,
    filename="ab" * 16 + ".jpg",
    content_type="image/jpeg",
    size=12345,
    width=2000,
    height=1000,
    variant_widths=(480, 960, 1600),
    webp_widths=(480, 960, 1600, 2000),
)


def test_a_library_image_renders_with_srcset_sizes_and_its_size():
    html = render_markdown(f"![A red sea]({LIBRARY.url})", {LIBRARY.url: LIBRARY}).html
    found = tags_of(html)
    (image,) = found.images
    stem = "ab" * 16
    assert image["src"] == LIBRARY.url and image["alt"] == "A red sea"
    assert image["srcset"] == (
        f"/media/{stem}-480.jpg 480w, /media/{stem}-960.jpg 960w, "
        f"/media/{stem}-1600.jpg 1600w, /media/{stem}.jpg 2000w"
    )
    assert image["sizes"] and "44rem" in image["sizes"]
    assert (image["width"], image["height"]) == ("2000", "1000")
    assert (image["loading"], image["decoding"]) == ("lazy", "async")
    (webp,) = found.sources
    assert webp["type"] == "image/webp"
    assert webp["srcset"].endswith(f"/media/{stem}-2000.webp 2000w")
    assert "<picture>" in html


def test_an_outside_image_gets_lazy_loading_only():
    html = render_markdown("![Elsewhere](https://example.org/cat.png)", {}).html
    (image,) = tags_of(html).images
    assert image == {
        "src": "https://example.org/cat.png",
        "alt": "Elsewhere",
        "loading": "lazy",
        "decoding": "async",
    }


def test_an_image_not_in_the_lookup_is_rendered_plainly_and_scripts_stay_out():
    html = render_markdown(
        f'![x" onerror="alert(1)]({LIBRARY.url})\n\n![y](javascript:alert(1))', {}
    ).html
    images = tags_of(html).images
    assert [image["src"] for image in images] == [LIBRARY.url]
    assert all(set(image) == {"src", "alt", "loading", "decoding"} for image in images)


def test_rendering_is_a_pure_function_of_its_inputs():
    text = f"Before\n\n![A red sea]({LIBRARY.url})\n\nAfter"
    assert render_markdown(text, {LIBRARY.url: LIBRARY}) == render_markdown(
        text, {LIBRARY.url: LIBRARY}
    )
    assert render_markdown(text, {}) != render_markdown(text, {LIBRARY.url: LIBRARY})


def test_saving_an_article_uses_the_library_for_its_images(db, media_dir):
    item = media.store_upload(db, LocalMediaStore(media_dir), "sea.jpg", photo(1000, 500), MAX)
    content = f"Look:\n\n![The sea](/media/{item.filename})\n"
    article = editor.save_article(db, None, ArticleForm(title="Sea", content=content))
    (image,) = tags_of(article.content_html).images
    assert image["width"] == "1000" and image["height"] == "500"
    assert "-480.jpg 480w" in (image["srcset"] or "")
    assert article.renderer_version == RENDERER_VERSION


# --- reading time ----------------------------------------------------------------------


def test_reading_time_counts_english_words():
    assert reading_minutes("") == 1
    assert reading_minutes("word " * 265) == 1
    assert reading_minutes("word " * 266) == 2
    assert reading_minutes("<p>" + "It's a word. " * 530 + "</p>") == 6


def test_reading_time_counts_chinese_characters():
    assert reading_minutes("汉" * 400) == 1
    assert reading_minutes("汉" * 1200) == 3
    # Mixed: 800 characters (2 min) and 265 words (1 min).
    assert reading_minutes("汉" * 800 + " word" * 265) == 3


# --- usage and the delete warning ------------------------------------------------------


def test_usage_lists_articles_showing_an_image_in_their_text_or_as_featured(db, media_dir):
    shown = media.store_upload(
        db, LocalMediaStore(media_dir), "shown.png", photo(10, 10, kind="PNG"), MAX
    )
    unused = media.store_upload(
        db, LocalMediaStore(media_dir), "unused.png", photo(10, 10, kind="PNG"), MAX
    )
    in_text = editor.save_article(
        db, None, ArticleForm(title="In text", content=f"![a](/media/{shown.filename})")
    )
    featured = editor.save_article(
        db, None, ArticleForm(title="Featured", content="No image", featured_image=str(shown.id))
    )
    editor.save_article(db, None, ArticleForm(title="Other", content="/media/ is a path"))
    item = media.get_media_item(db, shown.id)
    assert {(use.title, use.featured) for use in item.uses} == {
        ("In text", False),
        ("Featured", True),
    }
    assert {use.edit_url for use in item.uses} == {
        f"/admin/articles/{in_text.id}/edit",
        f"/admin/articles/{featured.id}/edit",
    }
    assert media.get_media_item(db, unused.id).uses == []
    items, _pager = media.list_media(db, 1)
    assert {i.media.original_name: len(i.uses) for i in items} == {"shown.png": 2, "unused.png": 0}


def test_deleting_a_used_image_clears_the_featured_image_and_names_the_articles(db, media_dir):
    shown = media.store_upload(
        db, LocalMediaStore(media_dir), "shown.png", photo(10, 10, kind="PNG"), MAX
    )
    article = editor.save_article(
        db, None, ArticleForm(title="Featured", content="text", featured_image=str(shown.id))
    )
    affected = media.delete_media(db, LocalMediaStore(media_dir), shown.id)
    assert affected == [article.id]
    db.expire_all()
    assert db.get(Article, article.id).featured_image_id is None


def test_search_finds_names_alt_texts_and_captions(db, media_dir):
    first = media.store_upload(
        db, LocalMediaStore(media_dir), "harbour.png", photo(10, 10, kind="PNG"), MAX
    )
    media.store_upload(
        db, LocalMediaStore(media_dir), "mountain.png", photo(10, 10, kind="PNG"), MAX
    )
    media.update_media(db, first.id, "Boats at dawn", "Taken from the pier")
    assert [i.media.id for i in media.list_media(db, 1, "harb")[0]] == [first.id]
    assert [i.media.id for i in media.list_media(db, 1, "boats")[0]] == [first.id]
    assert [i.media.id for i in media.list_media(db, 1, "pier")[0]] == [first.id]
    assert media.list_media(db, 1, "desert")[0] == []
    assert (
        media.get_media_item(db, first.id).markdown == f"![Boats at dawn](/media/{first.filename})"
    )


def test_older_uploads_are_measured_and_their_articles_re_rendered(db, media_dir):
    item = media.store_upload(db, LocalMediaStore(media_dir), "old.jpg", photo(1000, 500), MAX)
    missing = media.store_upload(db, LocalMediaStore(media_dir), "missing.jpg", photo(10, 10), MAX)
    article = editor.save_article(
        db, None, ArticleForm(title="Old", content=f"![old](/media/{item.filename})")
    )
    # As a row from before this feature: no size, no copies on disk.
    for name in os.listdir(media_dir):
        if re.search(r"-[0-9]+\.", name):
            os.remove(media_dir / name)
    os.remove(media_dir / missing.filename)
    db.execute(update(Media).values(width=None, height=None, variant_widths="", webp_widths=""))
    db.commit()
    assert media.measure_old_media(db, LocalMediaStore(media_dir)) == 2
    db.expire_all()
    assert (db.get(Media, item.id).width, db.get(Media, item.id).variant_widths) == (
        1000,
        "480,960",
    )
    assert db.get(Media, missing.id).width == 0  # the file is gone: not tried again
    assert (media_dir / item.filename.replace(".jpg", "-960.webp")).exists()
    assert db.get(Article, article.id).renderer_version == ""
    assert media.measure_old_media(db, LocalMediaStore(media_dir)) == 0
