"""Writing on SQLite and MariaDB: the server autosave, edit conflicts, publication times in
the site's zone (across daylight-saving changes), and archive months in that zone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from model import Article, ArticleAutosave, User
from service import articles, autosave, editor
from service.autosave import AutosaveText
from service.editor import ArticleForm, EditConflict
from service.errors import Invalid, NotFound
from service.site import ensure_settings
from tests.support.clock import FakeClock

NOW = dt.datetime(2030, 5, 1, 12, 0, 0)


def make_user(db, name: str = "ada") -> int:
    user = User(username=name, password_hash="-", display_name=name)
    db.add(user)
    db.commit()
    return user.id


def use_zone(db, name: str) -> None:
    settings = ensure_settings(db)
    settings.time_zone = name
    db.commit()


# --- autosave ---------------------------------------------------------------------------


def test_autosave_is_kept_per_article_and_author_and_changes_nothing_else(db):
    ada, bob = make_user(db, "ada"), make_user(db, "bob")
    article = editor.save_article(
        db, None, ArticleForm(title="Stored", content="stored text", status="published"), ada, NOW
    )
    later = NOW + dt.timedelta(minutes=5)
    autosave.save_autosave(db, article.id, ada, AutosaveText("Typing", "half a thought", ""), later)
    autosave.save_autosave(
        db, article.id, ada, AutosaveText("Typing", "a whole thought", ""), later
    )
    autosave.save_autosave(db, article.id, bob, AutosaveText("Bob's", "his text", ""), later)
    autosave.save_autosave(db, None, ada, AutosaveText("New one", "not saved yet", ""), later)

    pending = autosave.pending_autosave(db, article.id, ada)
    assert pending is not None and pending.content == "a whole thought"
    assert autosave.pending_autosave(db, article.id, bob).content == "his text"
    assert autosave.pending_autosave(db, None, ada).title == "New one"
    assert autosave.pending_autosave(db, None, bob) is None
    # One row per author and article; the article itself is untouched.
    assert len(list(db.scalars(select(ArticleAutosave)))) == 3
    db.expire_all()
    assert editor.load_article(db, article.id).content == "stored text"

    # Saving for real spends the author's autosave of that article, not anyone else's.
    form = ArticleForm.from_article(editor.load_article(db, article.id))
    form.content = "a whole thought"
    editor.save_article(db, article.id, form, ada, later + dt.timedelta(minutes=1))
    assert autosave.pending_autosave(db, article.id, ada) is None
    kept = db.scalars(
        select(ArticleAutosave.author_id).where(ArticleAutosave.article_id == article.id)
    )
    assert list(kept) == [bob]
    # Bob's text is older than the save now: it is no longer offered over it.
    assert autosave.pending_autosave(db, article.id, bob) is None
    # A new article's save spends the "new" autosave.
    editor.save_article(db, None, ArticleForm(title="New one"), ada, later)
    assert autosave.pending_autosave(db, None, ada) is None


def test_an_autosave_older_than_the_article_or_the_same_is_not_offered(db):
    ada = make_user(db)
    article = editor.save_article(db, None, ArticleForm(title="T", content="x"), ada, NOW)
    autosave.save_autosave(db, article.id, ada, AutosaveText("T", "older", ""), NOW)
    db.execute(
        Article.__table__.update()
        .where(Article.id == article.id)
        .values(updated_at=NOW + dt.timedelta(minutes=1))
    )
    db.commit()
    db.expire_all()
    assert autosave.pending_autosave(db, article.id, ada) is None
    autosave.save_autosave(
        db, article.id, ada, AutosaveText("T", "x", ""), NOW + dt.timedelta(minutes=2)
    )
    assert autosave.pending_autosave(db, article.id, ada) is None  # same text as stored
    autosave.discard_autosave(db, article.id, ada)
    assert db.scalars(select(ArticleAutosave)).first() is None


def test_autosave_refuses_bad_input(db):
    ada = make_user(db)
    with pytest.raises(Invalid):
        autosave.save_autosave(db, None, ada, AutosaveText("t" * 201, "", ""))
    with pytest.raises(Invalid):
        autosave.save_autosave(
            db, None, ada, AutosaveText("", "x" * (autosave.MAX_CONTENT + 1), "")
        )
    with pytest.raises(NotFound):
        autosave.save_autosave(db, 999_999, ada, AutosaveText("t", "x", ""))


# --- edit conflicts -----------------------------------------------------------------------


def test_a_save_from_an_older_version_is_refused_with_the_difference(db):
    article = editor.save_article(db, None, ArticleForm(title="T", content="one\ntwo"), now=NOW)
    assert article.version == 1
    tab_a = ArticleForm.from_article(article)
    tab_b = ArticleForm.from_article(article)
    tab_a.content = "one\nTWO from A"
    saved = editor.save_article(db, article.id, tab_a, now=NOW)
    assert saved.version == 2

    tab_b.content = "one\ntwo and B"
    conflict = editor.edit_conflict(db, article.id, tab_b)
    assert conflict is not None
    assert ("remove", "TWO from A") in [(line.kind, line.text) for line in conflict.lines]
    assert ("add", "two and B") in [(line.kind, line.text) for line in conflict.lines]
    with pytest.raises(EditConflict) as refused:
        editor.save_article(db, article.id, tab_b, now=NOW)
    assert refused.value.status_code == 409
    db.expire_all()
    assert editor.load_article(db, article.id).content == "one\nTWO from A"

    # Saving again from the current version (the conflict page's "save mine") works.
    tab_b.version = str(saved.version)
    assert editor.edit_conflict(db, article.id, tab_b) is None
    assert editor.save_article(db, article.id, tab_b, now=NOW).content == "one\ntwo and B"


def test_a_form_without_a_version_is_not_checked_and_a_bad_one_is_refused(db):
    article = editor.save_article(db, None, ArticleForm(title="T"), now=NOW)
    editor.save_article(db, article.id, ArticleForm(title="T2"), now=NOW)
    assert editor.load_article(db, article.id).version == 2
    with pytest.raises(Invalid):
        editor.save_article(db, article.id, ArticleForm(title="T3", version="abc"), now=NOW)


# --- times in the site's zone ---------------------------------------------------------------


def test_the_editor_reads_and_shows_publication_times_in_the_site_zone(db):
    use_zone(db, "Europe/Berlin")
    article = editor.save_article(
        db,
        None,
        ArticleForm(title="T", status="scheduled", publish_at="2030-07-01T09:30"),
        now=NOW,
    )
    assert article.publish_at == dt.datetime(2030, 7, 1, 7, 30)  # 09:30 CEST
    assert ArticleForm.from_article(article, "Europe/Berlin").publish_at == "2030-07-01T09:30"
    # An explicit offset wins over the zone.
    again = editor.save_article(
        db,
        article.id,
        ArticleForm(title="T", status="scheduled", publish_at="2030-07-01T09:30+00:00"),
        now=NOW,
    )
    assert again.publish_at == dt.datetime(2030, 7, 1, 9, 30)


def test_a_publication_time_in_the_spring_gap_is_refused(db):
    use_zone(db, "America/New_York")
    with pytest.raises(Invalid) as refused:
        editor.save_article(
            db,
            None,
            ArticleForm(title="T", status="scheduled", publish_at="2030-03-10T02:30"),
            now=NOW.replace(year=2029),
        )
    assert "does not exist" in str(refused.value)


def test_scheduled_articles_publish_at_the_right_moment_across_daylight_saving(db):
    """New York, 2030: clocks spring forward on 10 March and fall back on 3 November."""
    use_zone(db, "America/New_York")
    clock = FakeClock(start=dt.datetime(2030, 3, 9, 12, 0, tzinfo=dt.UTC).timestamp())

    def now() -> dt.datetime:
        return dt.datetime.fromtimestamp(clock.time(), dt.UTC).replace(tzinfo=None)

    # 02:30 the day after the spring-forward is EDT: 06:30 UTC (it would be 07:30 in EST).
    spring = editor.save_article(
        db,
        None,
        ArticleForm(title="Spring", status="scheduled", publish_at="2030-03-11T02:30"),
        now=now(),
    )
    assert spring.publish_at == dt.datetime(2030, 3, 11, 6, 30)
    clock.advance((dt.datetime(2030, 3, 11, 6, 29, 59) - now()).total_seconds())
    assert editor.publish_scheduled_articles(db, now()) == []
    clock.advance(1)
    assert editor.publish_scheduled_articles(db, now()) == [spring.id]

    # 01:30 on the fall-back day happens twice: the first, EDT, is 05:30 UTC.
    fall = editor.save_article(
        db,
        None,
        ArticleForm(title="Fall", status="scheduled", publish_at="2030-11-03T01:30"),
        now=now(),
    )
    assert fall.publish_at == dt.datetime(2030, 11, 3, 5, 30)
    clock.advance((dt.datetime(2030, 11, 3, 5, 29) - now()).total_seconds())
    assert editor.publish_scheduled_articles(db, now()) == []
    clock.advance(60)
    assert editor.publish_scheduled_articles(db, now()) == [fall.id]


def test_archive_months_follow_the_site_zone(db):
    def published(title: str, when: dt.datetime) -> None:
        article = editor.save_article(db, None, ArticleForm(title=title), now=when)
        article.status, article.publish_at = "published", when
        db.commit()

    published("Late January in UTC", dt.datetime(2020, 1, 31, 23, 30))
    published("Mid January", dt.datetime(2020, 1, 15, 12, 0))
    assert [(m.year, m.month, m.count) for m in articles.archive_months(db)] == [(2020, 1, 2)]
    listing = articles.month_listing(db, 2020, 1, 1, 10)
    assert listing.pager.total == 2

    use_zone(db, "Asia/Shanghai")  # 23:30 UTC on 31 January is 07:30 on 1 February there
    assert [(m.year, m.month, m.count) for m in articles.archive_months(db)] == [
        (2020, 2, 1),
        (2020, 1, 1),
    ]
    assert [item.title for item in articles.month_listing(db, 2020, 2, 1, 10).items] == [
        "Late January in UTC"
    ]
    assert [item.title for item in articles.month_listing(db, 2020, 1, 1, 10).items] == [
        "Mid January"
    ]
