"""Search finds English words and Chinese words in the middle of a sentence, on both engines."""

import datetime as dt

import pytest
from sqlalchemy import event, func, select, update

from model import Article, SearchTerm
from model.base import utcnow
from service import editor, search
from service.demo import load_demo_site
from service.errors import Invalid, NotFound


def titles(results):
    return [hit.article.title for hit in results.hits]


def test_terms_split_words_and_chinese_bigrams():
    assert search.terms("Hello, 中文搜索!") == [
        "hello",
        "中",
        "文",
        "搜",
        "索",
        "中文",
        "文搜",
        "搜索",
    ]
    assert search.terms("ＴＯＲＮＡＤＯ snake_case") == ["tornado", "snake", "case"]


def test_an_english_word_is_found_and_highlighted(db):
    load_demo_site(db)
    results = search.search_articles(db, "nginx", 1, 10)
    assert "How sessions survive behind nginx" in titles(results)
    assert "Passwords with argon2id" not in titles(results)  # a draft never shows
    first = results.hits[0]
    assert "<mark>nginx</mark>" in first.title_html + first.snippet_html


def test_a_prefix_finds_longer_words(db):
    load_demo_site(db)
    assert "How sessions survive behind nginx" in titles(search.search_articles(db, "sess", 1, 10))


def test_a_two_character_chinese_word_in_the_middle_of_a_sentence(db):
    load_demo_site(db)
    # "线程池" and "博客" sit inside longer runs of Chinese text with no spaces around them.
    results = search.search_articles(db, "博客", 1, 10)
    assert "用 Tornado 写博客" in titles(results)
    assert "<mark>博客</mark>" in results.hits[0].snippet_html + results.hits[0].title_html
    assert "用 Tornado 写博客" in titles(search.search_articles(db, "线程池", 1, 10))


def test_a_chinese_phrase_must_be_contiguous(db):
    load_demo_site(db)
    # Both bigrams "线程" and "程池" exist in the article, but "池线程" does not.
    assert titles(search.search_articles(db, "池线程", 1, 10)) == []


def test_several_words_must_all_match_and_title_matches_rank_first(db):
    load_demo_site(db)
    results = search.search_articles(db, "redis lease", 1, 10)
    assert titles(results)[0] == "One leader, many instances: the Redis lease"
    assert all("<mark>" in hit.snippet_html + hit.title_html for hit in results.hits)


def test_an_article_is_found_as_soon_as_it_is_published(db):
    load_demo_site(db)
    saved = editor.save_article(
        db, None, editor.ArticleForm(title="Zeppelin notes", content="Airships.", status="draft")
    )
    assert titles(search.search_articles(db, "zeppelin", 1, 10)) == []  # a draft never shows
    form = editor.ArticleForm.from_article(saved)
    form.status = "published"
    editor.save_article(db, saved.id, form)
    assert titles(search.search_articles(db, "zeppelin", 1, 10)) == ["Zeppelin notes"]
    form = editor.ArticleForm.from_article(editor.load_article(db, saved.id))
    form.title, form.status = "Airship notes", "draft"
    editor.save_article(db, saved.id, form)
    assert titles(search.search_articles(db, "zeppelin", 1, 10)) == []
    assert titles(search.search_articles(db, "airships", 1, 10)) == []  # unpublished
    editor.delete_article(db, saved.id)
    assert db.scalar(select(func.count()).where(SearchTerm.article_id == saved.id)) == 0


def test_a_search_never_writes(db):
    load_demo_site(db)
    written = []

    def count_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            written.append(statement)

    # Even with an article changed behind the editor's back: the job indexes it, not a reader.
    db.execute(update(Article).values(updated_at=utcnow() + dt.timedelta(minutes=1)))
    db.commit()
    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", count_writes)
    try:
        for query in ("nginx", "redis lease", "博客", "线程池", "sess", "qwertyuiop"):
            search.search_articles(db, query, 1, 10)
    finally:
        event.remove(engine, "before_cursor_execute", count_writes)
    assert written == []


def test_the_job_indexes_what_changed_behind_the_editor(db):
    load_demo_site(db)
    article = db.scalar(select(Article).where(Article.slug == "welcome-to-inkwell"))
    article.title = "Welcome to Inkwell, zeppelin edition"
    article.updated_at = utcnow()
    db.commit()
    assert search.refresh_index(db) == 1
    assert titles(search.search_articles(db, "zeppelin", 1, 10)) == [article.title]
    # The editor's saves index themselves: nothing is left for the job.
    editor.save_article(
        db, article.id, editor.ArticleForm.from_article(editor.load_article(db, article.id))
    )
    assert search.refresh_index(db) == 0


def test_queries_with_the_same_words_share_a_cache_key():
    assert search.cache_key("  Server\tNGINX ", 1, 10) == search.cache_key("server nginx!", 1, 10)
    assert search.cache_key("ＳＥＲＶＥＲ", 2, 10) == search.cache_key("server", 2, 10)
    assert search.cache_key("server", 1, 10) != search.cache_key("server", 2, 10)
    assert search.cache_key("server nginx", 1, 10) != search.cache_key("nginx server", 1, 10)


def test_a_common_word_is_ranked_and_paged_in_the_database(db):
    load_demo_site(db)
    everything = search.search_articles(db, "the", 1, 100)
    assert everything.pager.total == len(everything.hits) > 3
    paged = [
        hit.article.id
        for page in range(1, everything.pager.total // 2 + 2)
        for hit in search.search_articles(db, "the", page, 2).hits
    ]
    assert paged == [hit.article.id for hit in everything.hits]


@pytest.mark.parametrize("query", ["", "   ", "x" * 101, "!!! ???"])
def test_unsearchable_queries_are_refused_with_a_reason(db, query):
    assert search.query_refusal(query) is not None
    with pytest.raises(Invalid):
        search.search_articles(db, query, 1, 10)


def test_pages_past_the_end_are_not_found(db):
    load_demo_site(db)
    with pytest.raises(NotFound):
        search.search_articles(db, "nginx", 99, 10)
    assert search.search_articles(db, "qwertyuiop", 1, 10).hits == []
