"""The bench site: enough realistic content that list, archive and search queries do real work.

2,000 articles of 600–1,500 words drawn from a Zipf-like distribution (a few words very
common, most rare, as in real prose), some with code blocks and some in Chinese; 30
categories, 200 tags, 20,000 comments. Everything goes through the same services the
editor and the comment form use, so slugs, rendered HTML and counts are what a real site
would hold. Loading is idempotent: a second run finds the site complete and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from model import Article, Category, Comment, Tag
from model.blog import article_tags
from service import search, taxonomy
from service.comments import CommentForm, post_comment
from service.editor import ArticleForm, delete_article, save_article
from service.moderation import refresh_comment_count

# Words at the head of the distribution: the most frequent English words, then the
# vocabulary of a programming blog. The tail is made of pronounceable invented words.
HEAD_WORDS = (  # noqa: SIM905 (a sentence is easier to read than a list)
    "the of and to in is that for it with as was on be by this are at from or an "
    "have not but which can one all their we more when there has will so if about "
    "would what out up into them some time only other like these then two could "
    "first any new most over also server request database cache python query "
    "instance network latency memory process thread function module release version "
    "deploy config index table column session error "
).split()
SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "su", "vo", "zel", "qui", "mar", "dor", "pha", "nex")
CHINESE = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把"
    "性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质"
)
# A word that occurs in exactly one article: the "rare" search of the bench.
RARE_WORD = "quokkarium"
COMMON_WORD = "server"
# What the harness itself writes through the site while it measures, marked so that a run
# (or the next one, after an interrupted run) removes it: the bench site stays as loaded.
BENCH_COMMENT_AUTHOR = "wrk bench"
PUBLISH_TITLE = "Bench publish"
CODE_SNIPPETS = (
    "```python\nasync def handler(request):\n    rows = await db.fetch(query)\n"
    "    return render(rows)\n```",
    "```sql\nSELECT id, title FROM articles WHERE status = 'published'\n"
    "ORDER BY publish_at DESC LIMIT 10;\n```",
    "```bash\nmake cluster N=3\ncurl -s http://127.0.0.1:8080/healthz | jq .\n```",
)


@dataclass(frozen=True)
class BenchShape:
    articles: int = 2000
    categories: int = 30
    tags: int = 200
    comments: int = 20000
    seed: int = 20261122


class Vocabulary:
    """Words with Zipf-like frequencies (weight 1/rank)."""

    def __init__(self, rng: random.Random, size: int = 6000) -> None:
        tail: list[str] = []
        while len(HEAD_WORDS) + len(tail) < size:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            if word not in tail and word != RARE_WORD:
                tail.append(word)
        self.words = [*HEAD_WORDS, *tail]
        self.cumulative = list(itertools.accumulate(1 / rank for rank in range(1, size + 1)))
        self.chinese_cumulative = list(
            itertools.accumulate(1 / rank for rank in range(1, len(CHINESE) + 1))
        )

    def english(self, rng: random.Random, count: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=count)

    def chinese(self, rng: random.Random, count: int) -> str:
        return "".join(rng.choices(CHINESE, cum_weights=self.chinese_cumulative, k=count))


def _english_body(rng: random.Random, vocabulary: Vocabulary, words: int) -> str:
    paragraphs: list[str] = []
    left = words
    while left > 0:
        size = min(left, rng.randint(40, 120))
        sentence = vocabulary.english(rng, size)
        sentence[0] = sentence[0].capitalize()
        paragraphs.append(" ".join(sentence) + ".")
        left -= size
        if rng.random() < 0.15:
            paragraphs.append("## " + " ".join(vocabulary.english(rng, 4)).capitalize())
        if rng.random() < 0.08:
            paragraphs.append(rng.choice(CODE_SNIPPETS))
    return "\n\n".join(paragraphs)


def _chinese_body(rng: random.Random, vocabulary: Vocabulary, characters: int) -> str:
    paragraphs = []
    left = characters
    while left > 0:
        size = min(left, rng.randint(80, 200))
        paragraphs.append(vocabulary.chinese(rng, size) + "。")
        left -= size
    return "\n\n".join(paragraphs)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def load_bench_site(
    session: Session, shape: BenchShape = BenchShape(), progress: Callable[[str], None] = print
) -> int:
    """Fill the site up to ``shape`` (idempotent); returns how many items were created."""
    rng = random.Random(shape.seed)
    vocabulary = Vocabulary(rng)
    created = 0

    categories = session.scalars(select(Category).order_by(Category.id)).all()
    for number in range(len(categories), shape.categories):
        taxonomy.create_category(session, f"Bench category {number + 1}")
        created += 1
    session.commit()
    category_ids = [c.id for c in session.scalars(select(Category).order_by(Category.id))]
    tag_names = [f"topic-{number + 1}" for number in range(shape.tags)]
    tag_weights = list(itertools.accumulate(1 / rank for rank in range(1, shape.tags + 1)))

    existing = _count(session, Article)
    start = dt.datetime(2021, 1, 1, 8, 0)
    step = dt.timedelta(hours=(5 * 365 * 24) // max(shape.articles, 1))
    for number in range(shape.articles):
        # The random stream advances for every article, so a resumed load stays identical.
        chinese = rng.random() < 0.1
        length = rng.randint(600, 1500)
        words = vocabulary.english(rng, 8)
        # A few tags are on many articles, most on few (weights 1/rank, as for words).
        tags = list(dict.fromkeys(rng.choices(tag_names, cum_weights=tag_weights, k=4)))
        category = category_ids[int(rng.paretovariate(1.2)) % len(category_ids)]
        if number < existing:
            continue
        if chinese:
            title = vocabulary.chinese(rng, rng.randint(6, 14))
            body = _chinese_body(rng, vocabulary, length)
        else:
            title = " ".join(words[: rng.randint(4, 8)]).capitalize()
            body = _english_body(rng, vocabulary, length)
        if number == shape.articles // 2:
            body += f"\n\nThe {RARE_WORD} appears in this article only."
        form = ArticleForm(
            title=f"{title} {number + 1}",
            content=body,
            category_id=str(category),
            tags=", ".join(tags),
            status="published",
        )
        save_article(session, None, form, now=start + step * number)
        created += 1
        if (number + 1) % 200 == 0:
            progress(f"bench site: {number + 1} of {shape.articles} articles")

    article_ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    have = _count(session, Comment)
    comment_weights = list(
        itertools.accumulate(1 / (rank + 20) for rank in range(1, len(article_ids) + 1))
    )
    for number in range(have, shape.comments):
        # Popular articles collect more comments (weights 1/(rank + 20): the busiest has
        # about 200, a typical one a handful).
        article_id = rng.choices(article_ids, cum_weights=comment_weights)[0]
        form = CommentForm(
            author_name=f"reader{number % 500}",
            author_email="",
            content=" ".join(vocabulary.english(rng, rng.randint(8, 60))),
        )
        post_comment(session, article_id, form, "open", False, "bench")
        created += 1
        if (number + 1) % 2000 == 0:
            progress(f"bench site: {number + 1} of {shape.comments} comments")
    progress("bench site: building the search index")
    search.refresh_index(session)
    session.commit()
    return created


@dataclass(frozen=True)
class BenchPaths:
    """The URLs the bench loads: an article, and the longest listings of each kind."""

    article: str
    category: str
    category_pages: int
    tag: str
    tag_pages: int
    archive: str
    archive_pages: int
    comment_article: str  # where the comment POST row posts (not the measured article)


def bench_paths(session: Session, per_page: int) -> BenchPaths:
    """An article with many comments, the busiest category, tag and month (unslugged URLs:
    the harness follows any redirect to the current address)."""
    article_id = session.scalar(
        select(Article.id)
        .where(Article.status == "published")
        .order_by(Article.comment_count.desc(), Article.id)
        .limit(1)
    )
    category_id, in_category = session.execute(
        select(Article.category_id, func.count())
        .where(Article.category_id.is_not(None), Article.status == "published")
        .group_by(Article.category_id)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    tag, tagged = session.execute(
        select(Tag.name, func.count(article_tags.c.article_id))
        .join(article_tags, article_tags.c.tag_id == Tag.id)
        .group_by(Tag.name)
        .order_by(func.count(article_tags.c.article_id).desc())
        .limit(1)
    ).one()
    quiet_article_id = session.scalar(
        select(Article.id)
        .where(Article.status == "published", Article.kind == "article")
        .order_by(Article.comment_count, Article.id)
        .limit(1)
    )
    dates = session.scalars(select(Article.publish_at).where(Article.status == "published"))
    months = Counter((d.year, d.month) for d in dates if d is not None)
    (year, month), in_month = months.most_common(1)[0]

    def pages(count: int) -> int:
        return max(1, -(-count // per_page))

    return BenchPaths(
        article=f"/article/{article_id}",
        category=f"/category/{category_id}",
        category_pages=pages(in_category),
        tag=f"/tag/{tag}",
        tag_pages=pages(tagged),
        archive=f"/archive/{year:04d}/{month:02d}",
        archive_pages=pages(in_month),
        comment_article=f"/article/{quiet_article_id}",
    )


def remove_bench_writes(session: Session) -> tuple[int, int]:
    """Delete the comments and articles the harness posted (``BENCH_COMMENT_AUTHOR``,
    ``PUBLISH_TITLE``); returns (comments, articles) removed."""
    ours = Comment.author_name == BENCH_COMMENT_AUTHOR
    touched = list(session.scalars(select(Comment.article_id).where(ours).distinct()))
    comments = session.scalar(select(func.count()).select_from(Comment).where(ours)) or 0
    if touched:
        session.execute(delete(Comment).where(ours))
        for article_id in touched:
            refresh_comment_count(session, article_id)
        session.commit()
    published = list(
        session.scalars(select(Article.id).where(Article.title.startswith(PUBLISH_TITLE + " ")))
    )
    for article_id in published:
        delete_article(session, article_id)
    return comments, len(published)
