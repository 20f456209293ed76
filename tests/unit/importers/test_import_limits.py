"""Scale and bad input: a generated export in bulk, fields too large for memory, comments
with broken statuses or dates, an import stopped half way and resumed."""

import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.import_bench import generate
from extends.storage import LocalMediaStore
from model import Article, Comment, ImportedItem, Redirect, SearchDocument, User
from service import search
from service.importers import common, wxr
from service.importers import run as import_run
from service.importers.common import MAX_FIELD, ImportRefused
from service.importers.run import import_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
WXR = FIXTURES / "wxr" / "wordpress6.xml"
GHOST = FIXTURES / "ghost" / "ghost5.json"


def run(db, tmp_path, path=WXR, **options):
    options.setdefault("uploads", FIXTURES / "wxr" / "uploads")
    options.setdefault("fetch_urls", False)
    return import_file(db, LocalMediaStore(tmp_path / "media"), path, **options)


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def blog_as_it_was(db):
    db.rollback()
    return (count(db, Article), count(db, User), count(db, Redirect), count(db, ImportedItem)) == (
        1,
        0,
        0,
        0,
    )


@pytest.fixture
def blog_with_one_post(db):
    db.add(Article(title="Mine", slug="mine", status="published", content="x"))
    db.commit()
    return db


def test_a_generated_export_arrives_whole_with_its_threads_and_search_index(db, tmp_path):
    path = tmp_path / "generated.xml"
    generate(path, posts=30, comments=300)
    summary = run(db, tmp_path, path=path)
    assert summary.created["articles"] == 30 and summary.created["comments"] == 300
    assert count(db, Comment) == 300 and count(db, SearchDocument) == 30
    post = db.scalar(select(Article).where(Article.slug == "post-7"))
    comments = db.scalars(
        select(Comment).where(Comment.article_id == post.id).order_by(Comment.floor)
    ).all()
    assert [c.floor for c in comments] == list(range(1, 11)) and post.comment_count == 10
    # The generator makes every third comment a reply to the post's first one.
    replies = [c for c in comments if c.reply_to_id is not None]
    assert len(replies) == 3 and {c.reply_to_id for c in replies} == {comments[0].id}
    assert [hit.article.id for hit in search.search_articles(db, "Post 7", 1, 10).hits] == [post.id]
    again = run(db, tmp_path, path=path)
    assert again.created == {} and again.updated["articles"] == 30
    assert count(db, Comment) == 300 and count(db, Article) == 30


def _wxr_with_big_content(path, size):
    """The fixture with one post's content grown to ``size`` characters, written in pieces."""
    head, tail = WXR.read_text().split("Scheduled words.", 1)
    with path.open("w") as out:
        out.write(head)
        piece = "word " * 200_000
        for _ in range(size // len(piece)):
            out.write(piece)
        out.write("w" * (size % len(piece)))
        out.write(tail)
    return path


def test_a_field_over_the_cap_is_refused_naming_the_item_and_the_field(
    blog_with_one_post, tmp_path
):
    db = blog_with_one_post
    path = _wxr_with_big_content(tmp_path / "big.xml", MAX_FIELD + 1000)
    with pytest.raises(ImportRefused) as refused:
        run(db, tmp_path, path=path)
    assert (
        "item 5 (guid https://old.example.com/?p=14, 'Coming soon'): "
        "the field content:encoded is too large (the limit is 16 MB)"
    ) in str(refused.value)
    assert blog_as_it_was(db)


def test_a_huge_field_is_refused_before_it_is_in_memory(blog_with_one_post, tmp_path, monkeypatch):
    db = blog_with_one_post
    # The cap made small, so a field far above it stays cheap to write.
    monkeypatch.setattr(wxr, "MAX_FIELD", 1024 * 1024)
    path = _wxr_with_big_content(tmp_path / "big.xml", 24 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(ImportRefused, match="content:encoded is too large"):
            run(db, tmp_path, path=path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # the 24 MB field was never held whole
    assert blog_as_it_was(db)


def test_a_field_just_under_the_cap_is_imported(db, tmp_path):
    path = _wxr_with_big_content(tmp_path / "big.xml", MAX_FIELD - 1000)
    assert wxr.scan(path).posts == 5


def test_a_tag_or_attribute_over_the_cap_is_refused(blog_with_one_post, tmp_path):
    db = blog_with_one_post
    head, tail = WXR.read_text().split('<category domain="post_tag"', 1)
    path = tmp_path / "attribute.xml"
    with path.open("w") as out:
        out.write(head + '<category domain="')
        for _ in range(MAX_FIELD // 1_000_000 + 2):
            out.write("x" * 1_000_000)
        out.write('"' + tail)
    with pytest.raises(ImportRefused, match="a tag, attribute or comment is too large"):
        run(db, tmp_path, path=path)
    assert blog_as_it_was(db)


def test_an_item_over_its_cap_is_refused(blog_with_one_post, tmp_path, monkeypatch):
    db = blog_with_one_post
    # Fields under their cap that add up to more than an item may hold (caps made small).
    monkeypatch.setattr(wxr, "MAX_FIELD", 1000)
    monkeypatch.setattr(wxr, "MAX_ITEM", 2500)
    comment = (
        "<wp:comment><wp:comment_id>{n}</wp:comment_id>"
        "<wp:comment_content><![CDATA[{text}]]></wp:comment_content></wp:comment>"
    )
    extra = "".join(comment.format(n=900 + n, text="y" * 900) for n in range(3))
    path = tmp_path / "item.xml"
    path.write_text(
        WXR.read_text()
        .replace("Scheduled words.", "Scheduled.")
        .replace("<wp:post_id>14</wp:post_id>", "<wp:post_id>14</wp:post_id>" + extra, 1)
    )
    with pytest.raises(ImportRefused, match=r"item 5 \(post id 14, 'Coming soon'\) is too large"):
        run(db, tmp_path, path=path)
    assert blog_as_it_was(db)


def _variant(tmp_path, old, new):
    text = WXR.read_text()
    assert old in text
    path = tmp_path / "bad.xml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "<wp:comment_approved><![CDATA[0]]>",
            "<wp:comment_approved><![CDATA[maybe]]>",
            "item 3 (post id 11, 'Hello, Tornado'), comment 23: the comment status maybe is "
            "unknown",
        ),
        (
            "<![CDATA[2024-01-15 11:00:00]]></wp:comment_date_gmt>",
            "<![CDATA[2024-02-30 11:00:00]]></wp:comment_date_gmt>",
            "item 3 (post id 11, 'Hello, Tornado'), comment 22: the date 2024-02-30 11:00:00 "
            "is not valid",
        ),
        (
            "<![CDATA[2030-06-01 09:00:00]]>",
            "<![CDATA[1 June 2030]]>",
            "item 5 (post id 14, 'Coming soon'): the date 1 June 2030 is not valid",
        ),
        ("<rss version", "<feed version", "not a WordPress export"),
    ],
)
def test_broken_comments_and_dates_are_refused_naming_the_item(
    blog_with_one_post, tmp_path, old, new, message
):
    db = blog_with_one_post
    with pytest.raises(ImportRefused) as refused:
        run(db, tmp_path, path=_variant(tmp_path, old, new))
    assert message in str(refused.value)
    assert blog_as_it_was(db)


def test_an_import_stopped_half_way_resumes_without_duplicates(db, tmp_path, monkeypatch):
    monkeypatch.setattr(common, "BATCH", 2)

    class Stopped(Exception):
        pass

    def stop_after_the_first_batch(done, total, between):
        if between:
            raise Stopped

    with pytest.raises(Stopped):
        run(db, tmp_path, progress=stop_after_the_first_batch)
    db.rollback()
    assert count(db, Article) == 2  # the first batch was committed, the rest not yet
    summary = run(db, tmp_path)
    assert summary.updated["articles"] == 2 and summary.created["articles"] == 2
    assert summary.created["pages"] == 1
    assert "run it again to resume" in summary.lines()[-1]
    identities = db.execute(select(ImportedItem.kind, ImportedItem.source_key)).all()
    assert len(identities) == len(set(identities))
    assert count(db, Article) == 5 and count(db, Comment) == 3
    assert count(db, SearchDocument) == 5


def _item(text, title):
    start = text.rindex("<item>", 0, text.index(f"<title><![CDATA[{title}]]>"))
    return start, text.index("</item>", start) + len("</item>")


def test_the_same_post_twice_in_one_file_is_imported_once(db, tmp_path):
    text = WXR.read_text()
    start, end = _item(text, "Hello, Tornado")
    path = tmp_path / "twice.xml"
    path.write_text(text[:end] + text[start:end] + text[end:])
    summary = run(db, tmp_path, path=path)
    assert summary.created["articles"] == 4 and summary.updated["articles"] == 1
    assert count(db, Article) == 5 and count(db, Comment) == 3


def test_the_same_comment_under_two_posts_is_imported_once(db, tmp_path):
    text = WXR.read_text()
    start, _end = _item(text, "Hello, Tornado")
    comment = text[text.index("<wp:comment>", start) : text.index("</wp:comment>", start)]
    path = tmp_path / "twice.xml"
    path.write_text(
        text.replace(
            "<wp:post_id>14</wp:post_id>", "<wp:post_id>14</wp:post_id>" + comment + "</wp:comment>"
        )
    )
    summary = run(db, tmp_path, path=path)
    assert summary.skipped["comments listed twice (same id)"] == 1
    assert count(db, Comment) == 3


def test_a_ghost_export_too_large_to_read_whole_is_refused(db, tmp_path, monkeypatch):
    monkeypatch.setattr(import_run, "MAX_GHOST_FILE", GHOST.stat().st_size - 1)
    with pytest.raises(ImportRefused, match="too large to read at once"):
        run(db, tmp_path, path=GHOST)
    db.rollback()
    assert count(db, Article) == 0
