"""Counter flushes add up without double counting; every reader string has a translation."""

import csv
import datetime as dt
import re
from pathlib import Path

from sqlalchemy import select

from config import ROOT
from extends.counters import Pending, TodayStats
from model import Article, DailyStat
from service import stats
from service.demo import load_demo_site


def test_a_flush_adds_views_and_keeps_the_largest_visitor_count(db):
    load_demo_site(db)
    article = db.scalar(select(Article).where(Article.status == "published"))
    day = dt.date(2026, 3, 1)
    stats.flush_counters(
        db, Pending(page_views={day: 5}, visitors={day: {"a", "b"}}, article_views={article.id: 3})
    )
    stats.flush_counters(
        db, Pending(page_views={day: 2}, visitors={day: {"a"}}, article_views={article.id: 1})
    )
    db.expire_all()
    row = db.get(DailyStat, day)
    assert (row.pv, row.uv) == (7, 2)
    assert db.get(Article, article.id).view_count == 4
    stats.flush_counters(db, Pending(page_views={day: 1}, unique_visitors={day: 9}))
    db.expire_all()
    assert db.get(DailyStat, day).uv == 9


def test_live_counts_join_the_stored_ones():
    stored = stats.SiteStats(10, 4, 100, 40, 3, 2)
    live = stats.with_live_counts(stored, TodayStats(page_views=5, unique_visitors=6))
    assert (live.today_views, live.today_visitors) == (15, 6)
    assert (live.total_views, live.total_visitors) == (105, 42)


READER_FILES = [
    "template/base.html",
    "template/error.html",
    "template/home.html",
    "template/listing.html",
    "template/archive.html",
    "template/search.html",
    "template/article.html",
    *sorted(f"template/modules/{p.name}" for p in (ROOT / "template/modules").glob("*.html")),
    "controller/reader.py",
    "controller/article.py",
    "controller/reader_base.py",
]
MESSAGES = re.compile(r"""_\(\s*(["'])(.+?)\1""")
PLURALS = re.compile(r"""translate\(\s*(["'])(.+?)\1,\s*(["'])(.+?)\3""")
SERVICE_MESSAGES = re.compile(r"""(?:raise \w+\(|return (?:\d{3}, )?)"([A-Z][^"]+[.!])"\)?""")


def chinese() -> dict[str, str]:
    table: dict[str, str] = {}
    for path in sorted(Path(ROOT / "locale/zh_CN").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 2:
                    table[row[0]] = row[1]
    return table


def test_every_reader_string_has_a_chinese_translation():
    table = chinese()
    missing = []
    for name in READER_FILES:
        source = (ROOT / name).read_text(encoding="utf-8")
        wanted = [m.group(2) for m in MESSAGES.finditer(source)]
        for match in PLURALS.finditer(source):
            wanted += [match.group(2), match.group(4)]
        missing += [f"{name}: {text}" for text in wanted if text not in table]
    for name in ("service/comments.py", "service/search.py", "service/articles.py"):
        source = (ROOT / name).read_text(encoding="utf-8")
        missing += [
            f"{name}: {m.group(1)}"
            for m in SERVICE_MESSAGES.finditer(source)
            if m.group(1) not in table
        ]
    spam = (ROOT / "controller/article.py").read_text(encoding="utf-8")
    missing += [m for m in re.findall(r'return 4\d\d, "([^"]+)"', spam) if m not in table]
    assert missing == []
