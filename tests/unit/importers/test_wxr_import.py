"""Importing a WordPress 6 export: what arrives, re-import, dry run, merge, hostile files."""

import datetime as dt
import html
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extends.storage import LocalMediaStore
from model import Article, Category, Comment, ImportedItem, Media, Redirect, Tag, User
from service import users
from service.importers.common import ImportRefused
from service.importers.run import import_file
from service.rendering import render_markdown

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wxr"
WXR = FIXTURES / "wordpress6.xml"
UPLOADS = FIXTURES / "uploads"


def run(db, tmp_path, path=WXR, **options):
    options.setdefault("uploads", UPLOADS)
    options.setdefault("fetch_urls", False)
    return import_file(db, LocalMediaStore(tmp_path / "media"), path, **options)


def count(db, model):
    return db.scalar(select(func.count()).select_from(model))


def article(db, slug):
    return db.scalar(select(Article).where(Article.slug == slug))


def test_posts_pages_statuses_dates_and_authors_arrive(db, tmp_path):
    summary = run(db, tmp_path)
    assert summary.created["articles"] == 4 and summary.created["pages"] == 1
    hello = article(db, "hello-tornado")
    assert hello.status == "published" and hello.kind == "article"
    assert hello.publish_at == dt.datetime(2024, 1, 15, 9, 0)  # the GMT field
    assert hello.summary == "A first look at Tornado."
    assert article(db, "coming-soon").status == "scheduled"
    assert article(db, "coming-soon").publish_at == dt.datetime(2030, 6, 1, 9, 0)
    draft = article(db, "café-notes")  # percent-encoded non-ASCII slug, 0000-00-00 date
    assert draft.status == "draft" and draft.publish_at is None
    assert article(db, "private-thoughts").status == "draft"
    about = article(db, "about")
    assert about.kind == "page" and about.status == "published"
    alice = db.scalar(select(User).where(User.username == "alice"))
    assert alice.display_name == "Alice Writer" and hello.author_id == alice.id
    assert summary.skipped == {
        "posts in status trash": 1,
        "nav_menu_item items (not posts or pages)": 1,
        "comments marked spam": 1,
    }


def test_an_imported_author_cannot_sign_in_until_a_password_is_set(db, tmp_path):
    run(db, tmp_path)
    assert users.authenticate(db, "alice", "") is None
    assert users.authenticate(db, "alice", "anything") is None


def test_categories_are_flattened_and_named_tags_kept(db, tmp_path):
    summary = run(db, tmp_path)
    hello = article(db, "hello-tornado")
    assert db.get(Category, hello.category_id).name == "Python"
    assert any("Tech › Python" in note for note in summary.notes)
    tags = db.scalars(select(Tag.name)).all()
    assert tags == ["tornado"]


def test_comments_keep_threads_status_and_the_authors_mark(db, tmp_path):
    run(db, tmp_path)
    hello = article(db, "hello-tornado")
    comments = db.scalars(
        select(Comment).where(Comment.article_id == hello.id).order_by(Comment.floor)
    ).all()
    assert [(c.floor, c.author_name, c.status) for c in comments] == [
        (1, "Bob", "visible"),
        (2, "Alice Writer", "visible"),
        (3, "Carol", "pending"),
    ]
    assert comments[1].reply_to_id == comments[0].id and comments[1].is_author
    assert not comments[0].is_author
    assert hello.comment_count == 2


def test_content_becomes_markdown_and_images_are_stored(db, tmp_path):
    summary = run(db, tmp_path)
    hello = article(db, "hello-tornado")
    assert "wp:paragraph" not in hello.content and "[caption" not in hello.content
    assert "```python\nimport tornado" in hello.content
    assert "## Install it" in hello.content and "- fast" in hello.content
    media = db.get(Media, hello.featured_image_id)
    assert f"/media/{media.filename}" in hello.content  # the resized copy's URL rewritten
    assert (tmp_path / "media" / media.filename).is_file()
    assert any("missing.jpg" in warning for warning in summary.warnings)


def _visible_words(markup):
    text = html.unescape(re.sub(r"<[^>]+>|\[/?caption[^\]]*\]", " ", markup))
    return re.findall(r"\w+", text)


def test_no_word_is_lost(db, tmp_path):
    run(db, tmp_path)
    source = WXR.read_text()
    for article_row in db.scalars(select(Article)):
        match = re.search(
            r"<title><!\[CDATA\[" + re.escape(article_row.title) + r"\]\]></title>.*?"
            r"<content:encoded><!\[CDATA\[(.*?)\]\]></content:encoded>",
            source,
            re.S,
        )
        words = _visible_words(match.group(1))
        rendered = " ".join(_visible_words(render_markdown(article_row.content).html))
        for word in words:
            assert word in rendered, (article_row.title, word)


def test_reimport_updates_in_place(db, tmp_path):
    run(db, tmp_path)
    before = {model: count(db, model) for model in (Article, Comment, Category, Tag, User, Media)}
    summary = run(db, tmp_path)
    assert {model: count(db, model) for model in before} == before
    assert summary.created == {} and summary.updated["articles"] == 4


def test_dry_run_changes_nothing(db, tmp_path):
    summary = run(db, tmp_path, dry_run=True)
    assert summary.created["articles"] == 4
    db.rollback()
    assert count(db, Article) == 0 and count(db, ImportedItem) == 0 and count(db, Redirect) == 0


def test_merge_into_a_blog_with_content_resolves_slug_collisions(db, tmp_path):
    db.add(Article(title="Mine", slug="about", kind="page", status="published", content="x"))
    db.add(Article(title="Mine", slug="hello-tornado", status="published", content="x"))
    db.commit()
    summary = run(db, tmp_path)
    assert article(db, "about-2").title == "About"
    assert article(db, "hello-tornado-2").title == "Hello, Tornado"
    assert any("'about'" in note and "'about-2'" in note for note in summary.notes)
    assert count(db, Article) == 7


def test_redirects_cover_the_old_url_forms(db, tmp_path):
    run(db, tmp_path)
    hello = article(db, "hello-tornado")
    table = dict(db.execute(select(Redirect.path, Redirect.target)).all())
    target = f"/article/{hello.id}/hello-tornado"
    for old in ("/?p=11", "/2024/01/15/hello-tornado", "/2024/01/hello-tornado", "/hello-tornado"):
        assert table[old] == target
    assert table["/?page_id=2"] == "/about"
    assert table["/category/tech/python"] == "/category/python"
    assert table["/feed"] == "/feed.rss" and table["/comments/feed"] == "/feed.rss"
    assert table["/wp-content/uploads/2024/01/sunrise.png"].startswith("/media/")


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<rss><channel><item><title>&lol2;</title></item></channel></rss>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><item><title>&xxe;</title></item></channel></rss>
"""


def _variant(tmp_path, old, new):
    path = tmp_path / "bad.xml"
    text = WXR.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: _write(tmp, BOMB), "DTD"),
        (lambda tmp: _write(tmp, EXTERNAL), "DTD"),
        (lambda tmp: _write(tmp, WXR.read_text()[:5000]), "not well-formed"),
        (
            lambda tmp: _variant(
                tmp, "<wp:status><![CDATA[future]]>", "<wp:status><![CDATA[weird]]>"
            ),
            "item 5 (post id 14, 'Coming soon'): the status weird is unknown",
        ),
        (
            lambda tmp: _variant(tmp, "2030-06-01 09:00:00", "2030-13-45 99:00:00"),
            "item 5 (post id 14, 'Coming soon'): the date 2030-13-45 99:00:00 is not valid",
        ),
        (lambda tmp: _write(tmp, "just some text"), "neither"),
    ],
)
def test_hostile_or_broken_files_are_refused_and_nothing_changes(db, tmp_path, make, message):
    db.add(Article(title="Mine", slug="mine", status="published", content="x"))
    db.commit()
    with pytest.raises(ImportRefused) as refused:
        run(db, tmp_path, path=make(tmp_path))
    assert message in str(refused.value)
    db.rollback()
    assert count(db, Article) == 1 and count(db, User) == 0 and count(db, Redirect) == 0


def _write(tmp_path, text):
    path = tmp_path / "bad.xml"
    path.write_text(text)
    return path


def test_zip_with_dot_dot_paths_or_a_bomb_is_refused(db, tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("site.json", "{}")
        archive.writestr("../../etc/cron.d/x", "boom")
    with pytest.raises(ImportRefused, match="outside its folder"):
        run(db, tmp_path, path=evil)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("site.json", "{}")
        archive.writestr("media/zeros", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(ImportRefused, match="zip bomb"):
        run(db, tmp_path, path=bomb)


def test_author_option_assigns_every_post(db, tmp_path):
    users.create_admin(db, "editor", "a long enough secret phrase", None, None)
    run(db, tmp_path, author="editor")
    editor = db.scalar(select(User).where(User.username == "editor"))
    assert {a.author_id for a in db.scalars(select(Article))} == {editor.id}
    with pytest.raises(ImportRefused, match="no user named nobody"):
        run(db, tmp_path, author="nobody")


def test_the_import_command_prints_a_summary_and_refuses_bad_files(tmp_path, sqlite_url):
    from tests.unit.test_commands import run_main

    result = run_main(
        tmp_path, sqlite_url, "import", str(WXR), "--uploads", str(UPLOADS), "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert "Dry run of the import" in result.stdout and "4 articles" in result.stdout
    result = run_main(tmp_path, sqlite_url, "import", str(WXR), "--uploads", str(UPLOADS))
    assert result.returncode == 0, result.stderr
    assert (
        "created: 4 articles" in result.stdout
        and "skipped: 1 comments marked spam" in result.stdout
    )
    bad = _write(tmp_path, BOMB)
    result = run_main(tmp_path, sqlite_url, "import", str(bad))
    assert result.returncode == 2
    assert "import refused" in result.stderr and "the blog is as it was" in result.stderr
