"""Full-text search for Chinese and English, the same on SQLite and MariaDB.

The index is Inkwell's own (model/search.py): text is split into terms —
lower-cased words for alphabetic scripts, single characters and character
pairs (bigrams) for Chinese, Japanese and Korean, which have no spaces — and
each (term, article) row carries a weight (a title counts more than the body).
A query is split the same way; every query word must match (an English word
also matches as a prefix: "sess" finds "sessions"); results are ranked by
weight times how rare the term is, and a phrase of three or more CJK characters
is confirmed against the text so its bigrams must really be adjacent.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    Table,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from model import Article, SearchDocument, SearchTerm
from model.base import utcnow
from model.pager import Pager
from service.articles import ArticleSummary, searchable, summarize, summary_options
from service.errors import Invalid, NotFound
from service.rendering import RENDERER_VERSION, render_markdown

# Bump when terms() changes: the search-index job indexes every article again.
TOKENIZER_VERSION = "1"

MAX_QUERY_LENGTH = 100
MAX_QUERY_WORDS = 8
MAX_TERM_LENGTH = 32
TITLE_WEIGHT = 8
SUMMARY_WEIGHT = 3
SNIPPET_LENGTH = 180
_ONE_SECOND = dt.timedelta(seconds=1)
# Cached result pages are dropped with these invalidation scopes (any article or page saved,
# published, deleted, commented on, recategorised), or after the TTL at the latest.
CACHE_SCOPES = ("articles", "pages")
CACHE_TTL_SECONDS = 300

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# A CJK run, or a run of other letters and digits (\w without "_" and without CJK).
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_SPACES = re.compile(r"\s+")
# Sorts after every character a term can continue with: the end of a prefix range.
_AFTER_EVERYTHING = "\U0010ffff"


@dataclass(frozen=True)
class QueryWord:
    """One word of a query and the index terms that must all be present for it."""

    text: str
    terms: tuple[str, ...]
    prefix: bool  # an alphabetic word also matches longer words that start with it
    phrase: bool  # three or more CJK characters: confirm they are adjacent


@dataclass(frozen=True)
class SearchHit:
    article: ArticleSummary
    title_html: str
    snippet_html: str


@dataclass(frozen=True)
class SearchResults:
    query: str
    hits: list[SearchHit]
    pager: Pager


def normalize(text: str) -> str:
    """Fold width and case so "Ｔｏｒｎａｄｏ" and "tornado" are the same word."""
    return unicodedata.normalize("NFKC", text).casefold()


def terms(text: str) -> list[str]:
    """Index terms of a text: words, plus CJK characters and bigrams."""
    found: list[str] = []
    for token in _TOKEN.findall(normalize(text)):
        if _IS_CJK.match(token):
            found.extend(token)
            found.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            found.append(token[:MAX_TERM_LENGTH])
    return found


def query_refusal(query: str) -> Invalid | None:
    """Why a query cannot be searched, as the error ``search_articles`` raises, or None."""
    if not query.strip():
        return Invalid("Type a word to search for.")
    if len(query) > MAX_QUERY_LENGTH:
        return Invalid("A search can be at most {limit} characters long.", limit=MAX_QUERY_LENGTH)
    if not parse_query(query):
        return Invalid("Type at least one letter, digit or character to search for.")
    return None


def parse_query(query: str) -> list[QueryWord]:
    words: list[QueryWord] = []
    for token in dict.fromkeys(_TOKEN.findall(normalize(query))):
        if _IS_CJK.match(token):
            pairs = tuple(token[i : i + 2] for i in range(len(token) - 1)) or (token,)
            words.append(QueryWord(token, tuple(dict.fromkeys(pairs)), False, len(token) > 2))
        else:
            words.append(QueryWord(token, (token[:MAX_TERM_LENGTH],), True, False))
    return words[:MAX_QUERY_WORDS]


class _ReadableText(HTMLParser):
    """The text of rendered HTML as a reader reads it: no tags, no heading anchors ("#")."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0  # depth inside a heading's "#" permalink

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._skipping or (tag == "a" and "header-anchor" in classes):
            self._skipping += 1
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            self._skipping -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def readable_text(fragment: str) -> str:
    """Rendered HTML as plain words (what search snippets are cut from)."""
    parser = _ReadableText()
    parser.feed(fragment)
    parser.close()
    return _SPACES.sub(" ", "".join(parser.parts)).strip()


def plain_text(article: Article) -> str:
    """The words a reader sees in an article's body: the rendered text, so no Markdown
    syntax (``#``, ``**``) and no heading anchors."""
    body = article.content_html
    if article.renderer_version != RENDERER_VERSION or not body:
        body = render_markdown(article.content).html
    return readable_text(body)


def _weights(article: Article) -> Counter[str]:
    weights: Counter[str] = Counter()
    for term in terms(article.title):
        weights[term] += TITLE_WEIGHT
    for term in terms(article.summary):
        weights[term] += SUMMARY_WEIGHT
    for term in terms(plain_text(article)):
        weights[term] += 1
    return weights


def index_article(session: Session, article: Article, with_save: bool = False) -> None:
    """Replace what the index holds for one article (the caller commits).

    ``with_save``: the caller saves the article in this same transaction (the editor), so
    the index is exactly that save's text: it is dated past the save's second, and the job,
    which re-indexes anything saved in or after the second it was indexed, leaves it alone.
    """
    index_articles(session, [article], with_save=with_save)


def index_articles(session: Session, articles: Sequence[Article], with_save: bool = False) -> None:
    """Replace what the index holds for these articles, in a few bulk statements (the
    caller commits)."""
    ids = [article.id for article in articles]
    session.execute(delete(SearchTerm).where(SearchTerm.article_id.in_(ids)))
    session.execute(delete(SearchDocument).where(SearchDocument.article_id.in_(ids)))
    rows = [
        {"term": term, "article_id": article.id, "weight": weight}
        for article in articles
        for term, weight in _weights(article).items()
    ]
    # On the Core tables: the ORM's per-row bookkeeping would cost more than the inserts.
    if rows:
        session.execute(insert(cast(Table, SearchTerm.__table__)), rows)
    now = utcnow()
    session.execute(
        insert(cast(Table, SearchDocument.__table__)),
        [
            {
                "article_id": article.id,
                "indexed_at": (
                    max(now, article.updated_at).replace(microsecond=0) + _ONE_SECOND
                    if with_save
                    else now.replace(microsecond=0)
                ),
                "tokenizer_version": TOKENIZER_VERSION,
            }
            for article in articles
        ],
    )


# Articles indexed per transaction by refresh_index.
INDEX_BATCH = 200


def refresh_index(session: Session) -> int:
    """Index every article that is new, saved since it was indexed, or indexed by an older
    tokenizer; returns how many. Safe to run from several places at once."""
    stale = session.scalars(
        select(Article.id)
        .outerjoin(SearchDocument, SearchDocument.article_id == Article.id)
        .where(
            or_(
                SearchDocument.article_id.is_(None),
                Article.updated_at >= SearchDocument.indexed_at,
                SearchDocument.tokenizer_version != TOKENIZER_VERSION,
            )
        )
        .order_by(Article.id)
    ).all()
    done = 0
    for start in range(0, len(stale), INDEX_BATCH):
        articles = session.scalars(
            select(Article).where(Article.id.in_(stale[start : start + INDEX_BATCH]))
        ).all()
        try:
            index_articles(session, articles)
            session.commit()
            done += len(articles)
        except (IntegrityError, OperationalError):
            # Another request is indexing some of these right now: one by one, the others.
            session.rollback()
            done += _index_one_by_one(session, articles)
    session.rollback()
    return done


def _index_one_by_one(session: Session, articles: Sequence[Article]) -> int:
    done = 0
    for article in articles:
        try:
            index_article(session, article)
            session.commit()
            done += 1
        except (IntegrityError, OperationalError):
            # Another request is indexing the same article right now; its result will do.
            session.rollback()
    return done


def drop_from_index(session: Session, article_id: int) -> None:
    """Forget what the index holds for one article (it is being deleted; the caller commits)."""
    session.execute(delete(SearchTerm).where(SearchTerm.article_id == article_id))
    session.execute(delete(SearchDocument).where(SearchDocument.article_id == article_id))


def cache_key(query: str, page: int, per_page: int) -> str:
    """The result cache's key: queries that split into the same words share one entry
    ("Server", " server  " and "SERVER!" are one search)."""
    return f"search:{per_page}:{page}:{canonical_query(query)}"


def canonical_query(query: str) -> str:
    """The query as the index sees it: its words, case-folded, one space apart."""
    return " ".join(word.text for word in parse_query(query))


def _word_weights(word: QueryWord) -> Subquery:
    """article_id → weight for the articles (and pages) holding every term of ``word``."""
    if word.prefix:
        term = word.terms[0]
        # One index range: "sess" finds "session" and "sessions" and adds their weights.
        return (
            select(SearchTerm.article_id, func.sum(SearchTerm.weight).label("weight"))
            .where(SearchTerm.term >= term, SearchTerm.term < term + _AFTER_EVERYTHING)
            .group_by(SearchTerm.article_id)
            .subquery()
        )
    # CJK: every character pair must be there; the rarest one's weight counts.
    return (
        select(SearchTerm.article_id, func.min(SearchTerm.weight).label("weight"))
        .where(SearchTerm.term.in_(word.terms))
        .group_by(SearchTerm.article_id)
        .having(func.count() == len(word.terms))
        .subquery()
    )


def _phrase_conditions(word: QueryWord) -> tuple[ColumnElement[bool], ...]:
    """A phrase of three or more CJK characters must really be in the text, in one piece."""
    if not word.phrase:
        return ()
    pattern = f"%{word.text}%"
    return (or_(Article.title.like(pattern), Article.content.like(pattern)),)


def search_articles(session: Session, query: str, page: int, per_page: int) -> SearchResults:
    """Searchable articles and pages matching every word of ``query``, best first, one page.

    Only reads: the index is kept by ``index_article`` when an article is saved (and by
    ``refresh_index``, the job's safety net). Ranking, counting and paging happen in SQL;
    only the page's articles are loaded, and only their snippets are cut.
    """
    refusal = query_refusal(query)
    if refusal is not None:
        raise refusal
    words = parse_query(query)
    weights = [_word_weights(word) for word in words]

    def matching(*chosen: int) -> Select[int]:
        # The searchable articles holding the chosen words (their indexes in ``words``).
        statement = select(Article.id)
        for index in chosen:
            subquery = weights[index]
            statement = statement.join(subquery, subquery.c.article_id == Article.id)
        phrases = [condition for index in chosen for condition in _phrase_conditions(words[index])]
        return statement.where(*searchable(), *phrases)

    every_word = range(len(words))
    counts = [
        session.scalar(select(func.count()).select_from(matching(index).subquery())) or 0
        for index in every_word
    ]
    if len(words) == 1 or 0 in counts:
        total = min(counts)
        score: ColumnElement[Any] = weights[0].c.weight
    else:
        # A word most articles contain says little: each word's weight counts by its rarity.
        everything = session.scalar(select(func.count()).select_from(Article).where(*searchable()))
        all_words = matching(*every_word).subquery()
        total = session.scalar(select(func.count()).select_from(all_words)) or 0
        score = sum(
            (
                subquery.c.weight * math.log(1 + (everything or 1) / count)
                for subquery, count in zip(weights, counts, strict=True)
            ),
            start=literal(0.0),
        )
    pager = Pager(page=page, per_page=per_page, total=total)
    if page < 1 or page > pager.pages:
        raise NotFound("There is no such page.")
    wanted = (
        list(
            session.scalars(
                matching(*every_word)
                .order_by(score.desc(), Article.id.desc())
                .offset(pager.offset)
                .limit(per_page)
            )
        )
        if total
        else []
    )
    loaded = {
        article.id: article
        for article in session.scalars(
            select(Article).where(Article.id.in_(wanted)).options(*summary_options())
        )
    }
    needles = [word.text for word in words]
    hits = [
        SearchHit(
            article=summarize(loaded[key]),
            title_html=highlight(loaded[key].title, needles),
            snippet_html=highlight(snippet(plain_text(loaded[key]), needles), needles),
        )
        for key in wanted
        if key in loaded
    ]
    return SearchResults(query=canonical_query(query), hits=hits, pager=pager)


def _needle_pattern(needles: list[str]) -> re.Pattern[str] | None:
    parts = sorted({needle for needle in needles if needle}, key=len, reverse=True)
    if not parts:
        return None
    return re.compile("|".join(re.escape(part) for part in parts), re.IGNORECASE)


def snippet(text: str, needles: list[str], length: int = SNIPPET_LENGTH) -> str:
    """About ``length`` characters of ``text`` around the first match."""
    text = unicodedata.normalize("NFKC", text)
    pattern = _needle_pattern(needles)
    match = pattern.search(text) if pattern else None
    start = max(0, match.start() - length // 3) if match else 0
    if start:
        space = text.find(" ", start, start + 20)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + length)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def highlight(text: str, needles: list[str]) -> str:
    """Escaped ``text`` with every match of a needle wrapped in <mark>."""
    text = unicodedata.normalize("NFKC", text)
    pattern = _needle_pattern(needles)
    if pattern is None:
        return html.escape(text)
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[position : match.start()]))
        out.append(f"<mark>{html.escape(match.group(0))}</mark>")
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)
