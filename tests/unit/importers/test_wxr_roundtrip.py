"""Inkwell → WXR → a fresh Inkwell loses nothing Inkwell had; the file is what WordPress reads."""

import datetime as dt
import io
import re
from pathlib import Path

from defusedxml.ElementTree import fromstring
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from commands import upgrade_database
from extends.database import make_engine, make_sessionmaker
from extends.storage import LocalMediaStore
from model import Article, Category, Comment
from service.importers.run import import_file
from service.importers.wxr_export import export_wxr
from service.rendering import render_markdown
from tests.support.live import make_settings

WXR = Path(__file__).resolve().parents[2] / "fixtures" / "wxr" / "wordpress6.xml"
UPLOADS = WXR.parent / "uploads"


def _visible(markdown):
    return re.sub(r"<[^>]+>", " ", render_markdown(markdown).html)


def _comment(c, floors):
    return (
        c.floor,
        c.author_name,
        c.author_email,
        c.content,
        c.created_at,
        c.status,
        c.is_author,
        floors.get(c.reply_to_id),
    )


def snapshot(session):
    articles = session.scalars(
        select(Article).options(selectinload(Article.tags)).order_by(Article.kind, Article.slug)
    ).all()
    categories = {c.id: c.name for c in session.scalars(select(Category))}
    out = []
    for article in articles:
        comments = session.scalars(
            select(Comment).where(Comment.article_id == article.id).order_by(Comment.floor)
        ).all()
        floors = {c.id: c.floor for c in comments}
        out.append(
            {
                "kind": article.kind,
                "title": article.title,
                "slug": article.slug,
                "status": article.status,
                "publish_at": article.publish_at,
                "summary": article.summary,
                "words": re.findall(
                    r"\w+", re.sub(r"<[^>]+>", " ", render_markdown(article.content).html)
                ),
                "category": categories.get(article.category_id),
                "tags": sorted(t.name for t in article.tags),
                "comments": [
                    (
                        c.floor,
                        c.author_name,
                        c.author_email,
                        c.content,
                        c.created_at,
                        c.status,
                        c.is_author,
                        floors.get(c.reply_to_id),
                    )
                    for c in comments
                ],
            }
        )
    return out


def test_round_trip_through_wxr_loses_nothing(db, tmp_path):
    import_file(db, LocalMediaStore(tmp_path / "a"), WXR, uploads=UPLOADS, fetch_urls=False)
    db.add(
        Article(
            title="Émoji & <b>marks</b> ]]> end",
            slug="edge",
            content="Text with ]]> inside\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
            status="published",
            publish_at=dt.datetime(2025, 3, 1, 12, 30),
        )
    )
    db.commit()
    before = snapshot(db)

    out = io.StringIO()
    assert export_wxr(db, out, "https://blog.example.com", "My blog") == 6
    text = out.getvalue()
    root = fromstring(text.encode())  # well-formed, and no DTD
    assert root.tag == "rss"
    assert 'xmlns:wp="http://wordpress.org/export/1.2/"' in text
    assert "<wp:comment_parent>" in text and "<wp:post_type>page</wp:post_type>" in text

    second = tmp_path / "second.wxr"
    second.write_text(text)
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade_database(make_settings(tmp_path, url))
    engine = make_engine(url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as fresh:
            import_file(fresh, LocalMediaStore(tmp_path / "b"), second, fetch_urls=False)
            after = snapshot(fresh)
    finally:
        engine.dispose()
    assert after == before


def test_the_export_command_writes_a_wxr_file(tmp_path, sqlite_url):
    from tests.unit.test_commands import run_main

    assert (
        run_main(tmp_path, sqlite_url, "import", str(WXR), "--uploads", str(UPLOADS)).returncode
        == 0
    )
    target = tmp_path / "out.xml"
    result = run_main(tmp_path, sqlite_url, "export", "--format", "wxr", str(target))
    assert result.returncode == 0, result.stderr
    assert "Wrote 5 posts and pages" in result.stdout
    assert "<wp:wxr_version>1.2</wp:wxr_version>" in target.read_text()
