"""Search finds English words and Chinese words in the middle of a sentence, on both engines."""

import pytest
from sqlalchemy import select

from model import Article
from model.base import utcnow
from service import search
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


def test_edits_are_indexed_again(db):
    load_demo_site(db)
    search.search_articles(db, "nginx", 1, 10)
    article = db.scalar(select(Article).where(Article.slug == "welcome-to-inkwell"))
    article.title = "Welcome to Inkwell, zeppelin edition"
    article.updated_at = utcnow()
    db.commit()
    assert titles(search.search_articles(db, "zeppelin", 1, 10)) == [article.title]


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
