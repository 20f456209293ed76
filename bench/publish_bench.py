"""Publish → visible: how long after a publish every instance serves the new article.

The author publishes through the admin (``POST /admin/articles/new``, through nginx as a
browser would); as soon as the answer arrives, one poller per instance asks that instance
DIRECTLY (its own port, not nginx) for the home page until it lists the article, then for
the article's URL until it answers 200. The time of a publish is the slowest instance's.
Each article is deleted through the admin right after it was seen (and any left by an
interrupted run by ``remove_bench_writes`` at the next load), so the site stays as loaded.
"""

from __future__ import annotations

import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser

import requests

from bench.site_data import PUBLISH_TITLE

TIMEOUT_SECONDS = 5.0
GOAL_P99_MS = 100.0


@dataclass
class PublishResult:
    count: int
    visible_ms: list[float]  # per publish: until every instance served it (inf: never)
    post_ms: list[float]  # per publish: the admin's answer to the publish POST

    @staticmethod
    def percentile(values: list[float], level: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(level / 100 * (len(ordered) - 1)))]

    @property
    def p50(self) -> float:
        return self.percentile(self.visible_ms, 50)

    @property
    def p99(self) -> float:
        return self.percentile(self.visible_ms, 99)

    @property
    def passed(self) -> bool:
        return len(self.visible_ms) == self.count and self.p99 <= GOAL_P99_MS

    def line(self) -> str:
        missing = sum(1 for value in self.visible_ms if value == float("inf"))
        return (
            f"over {self.count} publishes: p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms "
            f"(publish POST p50 {statistics.median(self.post_ms):.1f} ms"
            + (f"; {missing} never seen within {TIMEOUT_SECONDS:g} s" if missing else "")
            + ")"
        )


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields.setdefault(values["name"], values.get("value", ""))


def _xsrf(author: requests.Session, url: str) -> str:
    page = author.get(url, timeout=30)
    page.raise_for_status()
    parser = _HiddenInputs()
    parser.feed(page.text)
    return parser.fields.get("_xsrf") or author.cookies.get("_xsrf") or ""


def _wait_visible(instance: str, article_id: int, started: float) -> float:
    """Milliseconds from ``started`` until ``instance`` lists and serves the article."""
    reader = requests.Session()
    listed = re.compile(rf'href="[^"]*/article/{article_id}["/]')
    deadline = started + TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        reader.cookies.clear()  # an anonymous reader, as the page cache sees one
        try:
            home = reader.get(instance + "/", timeout=TIMEOUT_SECONDS)
            if home.status_code == 200 and listed.search(home.text):
                article = reader.get(f"{instance}/article/{article_id}", timeout=TIMEOUT_SECONDS)
                if article.status_code == 200:
                    return (time.perf_counter() - started) * 1000
        except requests.RequestException:
            pass
    return float("inf")


def measure_publishes(
    base: str, instances: list[str], cookies: dict[str, str], count: int = 100
) -> PublishResult:
    """Publish ``count`` articles one after another as the signed-in author (``cookies``)."""
    author = requests.Session()
    author.cookies.update(cookies)
    token = _xsrf(author, base + "/admin/articles/new")
    visible: list[float] = []
    posted: list[float] = []
    run_mark = time.strftime("%H%M%S")
    with ThreadPoolExecutor(len(instances)) as pool:
        for number in range(count):
            # Every instance has the home page in its cache before the publish.
            list(pool.map(lambda instance: requests.get(instance + "/", timeout=30), instances))
            sent = time.perf_counter()
            response = author.post(
                base + "/admin/articles/new",
                data={
                    "_xsrf": token,
                    "title": f"{PUBLISH_TITLE} {run_mark}-{number + 1}",
                    "content": "Published by the benchmark, deleted right after it was seen.",
                    "status": "published",
                },
                allow_redirects=False,
                timeout=30,
            )
            answered = time.perf_counter()
            found = re.search(r"/admin/articles/(\d+)/edit", response.headers.get("Location", ""))
            if response.status_code not in (302, 303) or found is None:
                raise SystemExit(f"bench: the publish POST answered {response.status_code}")
            article_id = int(found.group(1))
            posted.append((answered - sent) * 1000)
            times = list(
                pool.map(
                    _wait_visible,
                    instances,
                    [article_id] * len(instances),
                    [answered] * len(instances),
                )
            )
            visible.append(max(times))
            deleted = author.post(
                f"{base}/admin/articles/{article_id}/delete",
                data={"_xsrf": token},
                allow_redirects=False,
                timeout=30,
            )
            if deleted.status_code not in (302, 303):
                raise SystemExit(
                    f"bench: deleting article {article_id} answered {deleted.status_code}"
                )
    return PublishResult(count, visible, posted)
