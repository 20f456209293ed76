"""The editor's service on SQLite and MariaDB: saving, revisions, scheduling, tags, slugs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from model import Article, ArticleRevision, Tag
from service import editor, slugs
from service.editor import ArticleForm
from service.errors import Invalid
from service.rendering import RENDERER_VERSION

NOW = dt.datetime(2030, 5, 1, 12, 0, 0)


def test_slugs_from_titles_are_readable_and_typed_slugs_keep_their_script():
    assert slugs.slug_from_title("Hello, World!  Again") == "hello-world-again"
    assert slugs.slug_from_title("你好 世界") == "ni-hao-shi-jie"
    assert slugs.slug_from_title("???") == ""
    assert slugs.clean_slug("你好 世界") == "你好-世界"
    assert slugs.clean_slug(" My Page ") == "my-page"


def test_tag_names_are_trimmed_and_deduplicated():
    assert editor.parse_tag_names(" Python, python ,web，数据库、 ,") == ["Python", "web", "数据库"]
    with pytest.raises(Invalid):
        editor.parse_tag_names("x" * 65)


def test_publish_times_become_naive_utc():
    assert editor.parse_publish_at("2030-01-31T09:30") == dt.datetime(2030, 1, 31, 9, 30)
    assert editor.parse_publish_at("2030-01-31T09:30:00Z") == dt.datetime(2030, 1, 31, 9, 30)
    assert editor.parse_publish_at("2030-01-31T17:30+08:00") == dt.datetime(2030, 1, 31, 9, 30)
    with pytest.raises(Invalid):
        editor.parse_publish_at("tomorrow")


def test_save_renders_and_creates_tags_on_the_fly(db):
    article = editor.save_article(
        db, None, ArticleForm(title="First", content="Hello *world*", tags="a, b"), now=NOW
    )
    assert article.content_html.strip() == "<p>Hello <em>world</em></p>"
    assert article.renderer_version == RENDERER_VERSION
    assert article.summary == "Hello world"
    assert [t.name for t in article.tags] == ["a", "b"]
    assert article.status == "draft" and article.publish_at is None
    again = editor.save_article(
        db, None, ArticleForm(title="Second", content="x", tags="A, c"), now=NOW
    )
    assert sorted(t.name for t in again.tags) == ["a", "c"]  # "A" found the existing "a"
    assert sorted(db.scalars(select(Tag.name))) == ["a", "b", "c"]


def test_revisions_are_kept_only_for_changes_to_published_articles(db):
    draft = editor.save_article(db, None, ArticleForm(title="T", content="one"), now=NOW)
    editor.save_article(db, draft.id, ArticleForm(title="T", content="two"), now=NOW)
    assert db.scalars(select(ArticleRevision)).all() == []  # drafts keep no history
    editor.save_article(
        db, draft.id, ArticleForm(title="T", content="two", status="published"), now=NOW
    )
    editor.save_article(
        db, draft.id, ArticleForm(title="T", content="three", status="published"), now=NOW
    )
    editor.save_article(
        db, draft.id, ArticleForm(title="T", content="three", status="published"), now=NOW
    )
    revisions = db.scalars(select(ArticleRevision)).all()
    assert [r.content for r in revisions] == ["two"]

    restored = editor.restore_revision(db, draft.id, revisions[0].id)
    assert restored.content == "two"
    contents = sorted(r.content for r in db.scalars(select(ArticleRevision)))
    assert contents == ["three", "two"]
    view = editor.revision_diff(db, draft.id, revisions[0].id)
    assert view.lines == []  # the restored text is the revision's text


def test_publishing_keeps_the_first_publication_time(db):
    article = editor.save_article(
        db, None, ArticleForm(title="T", content="x", status="published"), now=NOW
    )
    assert article.publish_at == NOW
    later = NOW + dt.timedelta(days=3)
    form = ArticleForm.from_article(article)
    form.content = "edited"
    edited = editor.save_article(db, article.id, form, now=later)
    assert edited.publish_at == NOW


def test_scheduling(db):
    future = "2030-05-02T08:00"
    article = editor.save_article(
        db, None, ArticleForm(title="T", status="scheduled", publish_at=future), now=NOW
    )
    assert article.status == "scheduled"
    assert editor.publish_scheduled_articles(db, NOW) == []
    assert editor.publish_scheduled_articles(db, dt.datetime(2030, 5, 2, 8, 0)) == [article.id]
    db.expire_all()
    assert db.get(Article, article.id).status == "published"
    assert editor.publish_scheduled_articles(db, dt.datetime(2030, 5, 3)) == []
    past = editor.save_article(
        db, None, ArticleForm(title="P", status="scheduled", publish_at="2020-01-01T00:00"), now=NOW
    )
    assert past.status == "published" and past.publish_at == dt.datetime(2020, 1, 1)
    with pytest.raises(Invalid):
        editor.save_article(db, None, ArticleForm(title="T", status="scheduled"), now=NOW)


def test_list_filters(db):
    editor.save_article(db, None, ArticleForm(title="Alpha draft", tags="x"), now=NOW)
    editor.save_article(
        db, None, ArticleForm(title="Beta", content="alpha inside", status="published"), now=NOW
    )
    by_status, _ = editor.list_articles(db, editor.ArticleFilter(status="published"))
    assert [a.title for a in by_status] == ["Beta"]
    by_tag, _ = editor.list_articles(db, editor.ArticleFilter(tag="X"))
    assert [a.title for a in by_tag] == ["Alpha draft"]
    by_text, pager = editor.list_articles(db, editor.ArticleFilter(text="alpha"))
    assert sorted(a.title for a in by_text) == ["Alpha draft", "Beta"] and pager.total == 2
