"""Import speed and memory: generate a WXR file (default 10,000 posts, 100,000 comments),
import it into a fresh SQLite database, report posts/s and peak RSS.

    .venv/bin/python -m bench.import_bench [--posts N] [--comments M] [--database-url URL]

(``--posts 500 --comments 5000`` for a quick run.) posts/s is over the whole import, wall
time: both passes over the file, conversion, writes and the search index built at the end.
Peak RSS is the process's high-water mark (the file is generated in the same process, as a
stream). The issue's target on this machine: ≥ 200 posts/s with peak RSS under 300 MB. Not
run by the test suite (a timing is a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from commands import upgrade_database  # noqa: E402
from config import load_settings  # noqa: E402
from extends.database import make_engine, make_sessionmaker  # noqa: E402
from model import SearchDocument  # noqa: E402
from service.importers.run import import_file  # noqa: E402

WORDS = [
    "tornado",
    "python",
    "blog",
    "async",
    "redis",
    "nginx",
    "cache",
    "query",
    "index",
    "stream",
    "comment",
    "reply",
]
HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Bench</title><link>https://bench.example.com</link>
<wp:wxr_version>1.2</wp:wxr_version><wp:base_site_url>https://bench.example.com</wp:base_site_url>
<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[bench]]></wp:author_login>
<wp:author_email><![CDATA[bench@example.com]]></wp:author_email>
<wp:author_display_name><![CDATA[Bench]]></wp:author_display_name></wp:author>
<wp:category><wp:term_id>2</wp:term_id><wp:category_nicename><![CDATA[news]]></wp:category_nicename>
<wp:category_parent><![CDATA[]]></wp:category_parent><wp:cat_name><![CDATA[News]]></wp:cat_name></wp:category>
"""


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def generate(path: Path, posts: int, comments: int, seed: int = 12) -> None:
    """A WXR file shaped like WordPress's: block comments, categories, tags, threads."""
    rng = random.Random(seed)
    per_post = comments // max(posts, 1)
    comment_id = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for post_id in range(1, posts + 1):
            day = 1 + post_id % 28
            body = "".join(
                f"<!-- wp:paragraph --><p>{_text(rng, 40)}</p><!-- /wp:paragraph -->\n"
                for _ in range(5)
            )
            out.write(
                f"<item><title><![CDATA[Post {post_id} {_text(rng, 4)}]]></title>"
                f"<link>https://bench.example.com/2024/01/{day:02d}/post-{post_id}/</link>"
                "<dc:creator><![CDATA[bench]]></dc:creator>"
                f'<guid isPermaLink="false">https://bench.example.com/?p={post_id}</guid>'
                f"<content:encoded><![CDATA[{body}]]></content:encoded>"
                "<excerpt:encoded><![CDATA[]]></excerpt:encoded>"
                f"<wp:post_id>{post_id}</wp:post_id>"
                f"<wp:post_date><![CDATA[2024-01-{day:02d} 10:00:00]]></wp:post_date>"
                f"<wp:post_date_gmt><![CDATA[2024-01-{day:02d} 09:00:00]]></wp:post_date_gmt>"
                f"<wp:post_name><![CDATA[post-{post_id}]]></wp:post_name>"
                "<wp:status><![CDATA[publish]]></wp:status>"
                "<wp:post_type><![CDATA[post]]></wp:post_type>"
                '<category domain="category" nicename="news"><![CDATA[News]]></category>'
                f'<category domain="post_tag" nicename="t{post_id % 50}">'
                f"<![CDATA[t{post_id % 50}]]></category>"
            )
            first = comment_id + 1
            for n in range(per_post):
                comment_id += 1
                parent = first if n and n % 3 == 0 else 0
                out.write(
                    f"<wp:comment><wp:comment_id>{comment_id}</wp:comment_id>"
                    f"<wp:comment_author><![CDATA[Reader {n}]]></wp:comment_author>"
                    "<wp:comment_author_email><![CDATA[r@example.org]]></wp:comment_author_email>"
                    f"<wp:comment_date_gmt><![CDATA[2024-01-{day:02d} 1{n % 10}:{n % 60:02d}:00]]>"
                    "</wp:comment_date_gmt>"
                    f"<wp:comment_content><![CDATA[{_text(rng, 12)}]]></wp:comment_content>"
                    "<wp:comment_approved><![CDATA[1]]></wp:comment_approved>"
                    "<wp:comment_type><![CDATA[comment]]></wp:comment_type>"
                    f"<wp:comment_parent>{parent}</wp:comment_parent>"
                    "<wp:comment_user_id>0</wp:comment_user_id></wp:comment>"
                )
            out.write("</item>\n")
        out.write("</channel></rss>\n")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inkwell-import-bench-") as tmp:
        folder = Path(tmp)
        wxr = folder / "bench.xml"
        generate(wxr, args.posts, args.comments)
        url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
        settings = load_settings(config_file=None, environ={"BLOG_DATABASE_URL": url}, overrides={})
        upgrade_database(settings)
        engine = make_engine(url, pool_size=1)
        before_mb = _peak_rss_mb()
        started = time.perf_counter()
        with make_sessionmaker(engine)() as session:
            summary = import_file(session, None, wxr, fetch_urls=False)
            indexed = session.scalar(select(func.count()).select_from(SearchDocument))
        elapsed = time.perf_counter() - started
        engine.dispose()
        size_mb = wxr.stat().st_size / 1e6
    peak_mb = _peak_rss_mb()
    posts = summary.created["articles"]
    print(f"file: {size_mb:.1f} MB, {posts} posts, {summary.created['comments']} comments")
    print(f"import: {elapsed:.1f} s, {posts / elapsed:.0f} posts/s (target >= 200)")
    print(f"search index: {indexed} articles")
    print(f"peak RSS: {peak_mb:.0f} MB (target < 300; {before_mb:.0f} MB before the import)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
