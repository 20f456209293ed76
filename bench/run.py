"""``make bench``: Inkwell's pages as ratios of reference points measured in the same run.

Absolute numbers depend on the machine; ratios do not (much). The harness starts
everything itself (bench/servers.py): a cluster of N instances (N = cores) behind the
launcher's nginx over the bench site (bench/site_data.py, loaded once), and two
references — N bare Tornado processes answering with the article's exact bytes behind
an nginx rendered from Inkwell's own template ("tornado"), and, for each page measured
with the micro-cache on, that nginx serving the page's own bytes as a static file
("static, cached home" and so on). Each page is loaded by wrk (Debian's package)
with 64 connections, three times after a warm-up; the median run is reported with its
p50/p99, errors and bytes, its ratio to the reference its goal names, and pass/fail.
Two rows post comments (bench/comment_form.py reads the form, bench/lua/comment_post.lua
posts it): from a new client address each time, and from one address (the per-IP limit).

A second table holds the goals that are not a page's ratio, each with pass/fail: the
comment rows' answers (429 share); each instance's RSS at the page mix's 10,000th and
100,000th request (``--rss-requests``); the start-up of a new instance (process start to
its first 200 on /healthz); publish → visible on every instance (bench/publish_bench.py,
``--publishes``); N pending QR long polls on one instance while the page mix runs on it
(bench/qr_longpoll_bench.py, ``--qr-polls``). ``--skip`` leaves steps out; ``--only``
measures only the pages named (and their references), without the steps.

The tables are written to bench/RESULTS.md (``--no-write`` leaves it alone); ``--compare``
measures only the pages that have a goal, once each, skips the second table and writes
nothing. What the run posted (comments, articles) is deleted at its end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import itertools
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from bench.comment_form import comment_form
from bench.site_data import BenchPaths
from bench.wrk import CONNECTIONS, WRK, Run, wrk, wrk_until
from config import ROOT

if TYPE_CHECKING:
    from bench.servers import BenchCluster

RESULTS = ROOT / "bench" / "RESULTS.md"
STARTUP_GOAL_SECONDS = 1.5
RSS_GOAL_PERCENT = 5.0
STEPS = ("rss", "publish", "qr", "startup")


@dataclass(frozen=True)
class Page:
    """A URL to load, and the goal its rate must reach as a share of a reference."""

    name: str
    path: str
    signed_in: bool = False
    goal: float | None = None
    # "tornado" (bare Tornado × N behind nginx), or "static, <page>": nginx serving that
    # page's own bytes as a static file.
    reference: str = "tornado"
    # A comment POST row (bench/lua/comment_post.lua): "distinct" (a new client address
    # for every request) or "single" (one address: the per-IP limit answers 429).
    comment_mode: str = ""


@dataclass
class Measured:
    page: Page
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> Run:
        ordered = sorted(self.runs, key=lambda run: run.rate)
        return ordered[len(ordered) // 2]

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)


def settle(base: str, limit: float = 60.0) -> None:
    """Wait until the instances have worked off the previous page's queue (when wrk stops,
    requests it sent may still be waiting), so one page's backlog is not the next's cost."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        started = time.monotonic()
        with contextlib.suppress(requests.RequestException):
            requests.get(base + "/healthz", timeout=5)
        if time.monotonic() - started < 0.05:
            return
        time.sleep(0.2)


# Numbers the comment runs: each names other client addresses (comment_post.lua's SALT).
_COMMENT_RUNS = itertools.count(1)


def post_comments(base: str, page: Page, seconds: float) -> Run:
    """One wrk run of comment POSTs: the form read from the page now (``comment_form``)."""
    salt = next(_COMMENT_RUNS) % 64
    post = comment_form(base, page.path)
    post.wait_until_postable()
    return wrk(
        base + post.path,
        seconds,
        script="comment_post.lua",
        script_args=[post.path, post.body, post.cookie, page.comment_mode, str(salt)],
    )


def measure(
    base: str, page: Page, rounds: int, seconds: float, cookies: dict[str, str]
) -> Measured:
    """A one-second warm-up (not counted), then ``rounds`` runs."""
    settle(base)
    if page.comment_mode:
        post_comments(base, page, 1)
        return Measured(page, [post_comments(base, page, seconds) for _ in range(rounds)])
    url = base + page.path
    jar = cookies if page.signed_in else None
    wrk(url, 1, jar)
    return Measured(page, [wrk(url, seconds, jar) for _ in range(rounds)])


def sign_in(base: str, username: str, password: str) -> dict[str, str]:
    """The cookies of a signed-in session (sid), through the real sign-in form."""
    session = requests.Session()
    session.get(base + "/auth/login", timeout=30)
    token = session.cookies.get("_xsrf") or ""
    response = session.post(
        base + "/auth/login",
        data={"username": username, "password": password, "next": "/admin", "_xsrf": token},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code not in (302, 303) or "sid" not in session.cookies:
        raise SystemExit(f"bench: could not sign in as {username} ({response.status_code})")
    return {"sid": session.cookies["sid"]}


def current_path(base: str, path: str) -> str:
    """Where ``path`` lives now (an id URL may answer 301 to its slug)."""
    response = requests.get(base + path, timeout=30)
    response.raise_for_status()
    return urlsplit(response.url).path


def rss_kib(pids: list[int]) -> list[int]:
    sizes = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        sizes.append(int(found.group(1)) if found else 0)
    return sizes


def mib(sizes: list[int]) -> str:
    return ", ".join(f"{kib / 1024:.0f} MiB" for kib in sizes)


def pages_for(base: str, paths: BenchPaths) -> tuple[list[Page], list[Page]]:
    """(micro-cache off, micro-cache on) page lists for the bench site."""
    article = current_path(base, paths.article)
    category = current_path(base, paths.category)
    tag = current_path(base, paths.tag)
    archive = current_path(base, paths.archive)
    off = [
        Page("anonymous article", article, goal=0.8),
        Page("anonymous home", "/", goal=0.8),
        Page("home page 50", "/?page=50"),
        Page("category page 1", category),
        Page(
            f"category page {min(50, paths.category_pages)}",
            f"{category}?page={min(50, paths.category_pages)}",
        ),
        Page("tag page 1", tag),
        Page(f"tag page {min(50, paths.tag_pages)}", f"{tag}?page={min(50, paths.tag_pages)}"),
        Page("archive month page 1", archive),
        Page(
            f"archive month page {paths.archive_pages} (last)",
            f"{archive}?page={paths.archive_pages}",
        ),
        Page("signed-in article", article, signed_in=True, goal=0.25),
        Page("signed-in dashboard", "/admin", signed_in=True, goal=0.25),
        Page("admin article list", "/admin/articles", signed_in=True, goal=0.25),
        Page("search, common word", "/search?q=server", goal=0.25),
        Page("search, rare word", "/search?q=quokkarium", goal=0.25),
        Page("QR sign-in page", "/auth/qr", goal=0.25),
        Page("/healthz", "/healthz", goal=0.5),
        # One address first: its refusals then show an article with few comments.
        Page(
            "comment POST, one address (per-IP limit)",
            current_path(base, paths.comment_article),
            goal=0.25,
            comment_mode="single",
        ),
        Page(
            "comment POST (a new reader each time)",
            current_path(base, paths.comment_article),
            goal=0.25,
            comment_mode="distinct",
        ),
    ]
    on = [
        Page("cached article", article, goal=0.8, reference="static"),
        Page("cached home", "/", goal=0.8, reference="static"),
        Page("cached category", category, goal=0.8, reference="static"),
        Page("cached tag", tag, goal=0.8, reference="static"),
        Page("cached archive", archive, goal=0.8, reference="static"),
    ]
    return off, on


def verdict(result: Measured, references: dict[str, Measured]) -> tuple[float, str]:
    run = result.median
    reference = references[result.page.reference].median
    ratio = run.rate / reference.rate if reference.rate else 0.0
    problems = []
    if result.page.goal is not None and ratio < result.page.goal:
        problems.append(f"ratio < {result.page.goal}")
    # From one address, the comment limit's 429s are the expected answer, not errors.
    expected = run.statuses.get("429", 0) if result.page.comment_mode == "single" else 0
    if run.errors - expected:
        problems.append("errors")
    if run.p50 and run.p99 > 4 * run.p50:
        problems.append("p99 > 4 × p50")
    return ratio, ("FAIL: " + ", ".join(problems)) if problems else "pass"


def table(results: list[Measured], references: dict[str, Measured]) -> list[str]:
    lines = [
        "| page | req/s | p50 ms | p99 ms | errors | read | × reference | goal | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, reference in references.items():
        run = reference.median
        # The pages' tail goal, applied to the reference itself: where the reference misses
        # it too (wrk and nginx sharing the cores), a page's miss is the machine's, not ours.
        tail = "p99 > 4 × p50 here too" if run.p50 and run.p99 > 4 * run.p50 else "—"
        lines.append(
            f"| reference: {reference.page.name} | {run.rate:,.0f} | {run.p50:.1f} | "
            f"{run.p99:.1f} | {run.errors} | {run.transfer} | 1.00 ({name}) | — | {tail} |"
        )
    for result in results:
        run = result.median
        ratio, outcome = verdict(result, references)
        goal = f"≥ {result.page.goal}" if result.page.goal is not None else "—"
        lines.append(
            f"| {result.page.name} | {run.rate:,.0f} | {run.p50:.1f} | {run.p99:.1f} | "
            f"{run.errors} | {run.transfer} | {ratio:.3f} ({result.page.reference}) | {goal} | "
            f"{outcome if result.page.goal is not None or outcome != 'pass' else '—'} |"
        )
    return lines


def machine() -> str:
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // (1024 * 1024)
    return (
        f"{os.cpu_count()} cores, {memory} GiB, {platform.platform(terse=True)}, "
        f"Python {platform.python_version()}; load average before the run "
        f"{os.getloadavg()[0]:.2f}; wrk on the same cores"
    )


def write_results(lines: list[str], command: str, header: str) -> None:
    """Put this run's section first in bench/RESULTS.md (older sections stay below)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    intro, _, rest = text.partition("\n## ")
    section = "\n".join([f"## {header}", "", *lines, ""])
    RESULTS.write_text(intro.rstrip() + "\n\n" + section + ("\n## " + rest if rest else ""))


@dataclass(frozen=True)
class Goal:
    """One of the goals that is not a page's ratio: a line of the second table."""

    name: str
    measured: str
    goal: str
    passed: bool | None  # None: reported, not judged

    def row(self) -> str:
        outcome = "—" if self.passed is None else ("pass" if self.passed else "FAIL")
        return f"| {self.name} | {self.measured} | {self.goal} | {outcome} |"


def comment_statuses(results: list[Measured]) -> list[Goal]:
    """What the comment POST rows were answered (429: the per-IP limit)."""
    goals = []
    for result in results:
        if not result.page.comment_mode:
            continue
        statuses = result.median.statuses
        total = sum(statuses.values())
        share = statuses.get("429", 0) * 100 / total if total else 0.0
        counts = ", ".join(f"{name} {count:,}" for name, count in statuses.items() if count)
        goals.append(
            Goal(
                f"{result.page.name}: answers",
                f"{counts or 'none'}; 429 share {share:.1f} %",
                "a refused post is cheap (429)",
                None,
            )
        )
    return goals


def rss_growth(
    base: str,
    pids: list[int],
    pages: list[Page],
    cookies: dict[str, str],
    counts: tuple[int, int],
) -> Goal:
    """Each instance's RSS after the page mix's first ``counts[0]`` requests and after
    ``counts[1]`` (the mix: every page of the table in turn, through nginx)."""
    paths = [("!" if page.signed_in else "") + page.path for page in pages]
    settle(base)
    first = wrk_until(base + "/", counts[0], paths, cookies)
    at_first = rss_kib(pids)
    second = wrk_until(base + "/", counts[1] - first.requests, paths, cookies)
    at_second = rss_kib(pids)
    growth = [
        (end - start) * 100 / start if start else float("inf")
        for start, end in zip(at_first, at_second, strict=True)
    ]
    done = first.requests + second.requests
    errors = first.errors + second.errors
    refused = {
        name: first.statuses.get(name, 0) + second.statuses.get(name, 0) for name in ("4xx", "5xx")
    }
    why = ", ".join(f"{count:,} {name}" for name, count in refused.items() if count)
    return Goal(
        f"RSS growth per instance, {first.requests:,} → {done:,} requests of the page mix",
        f"{mib(at_first)} → {mib(at_second)} ("
        + ", ".join(f"{value:+.1f} %" for value in growth)
        + (f"; {errors:,} errors: {why or 'socket errors or timeouts'}" if errors else "")
        + ")",
        f"≤ +{RSS_GOAL_PERCENT:g} % each",
        all(value <= RSS_GOAL_PERCENT for value in growth),
    )


def startup(cluster: BenchCluster, rounds: int) -> Goal:
    """Process start to the first 200 on /healthz of a new instance, ``rounds`` times."""
    times = [cluster.startup_seconds() for _ in range(max(1, rounds))]
    middle = statistics.median(times)
    return Goal(
        "a new instance: process start → first 200 on /healthz",
        f"median {middle:.2f} s of " + ", ".join(f"{value:.2f}" for value in times),
        f"≤ {STARTUP_GOAL_SECONDS:g} s",
        middle <= STARTUP_GOAL_SECONDS,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--instances", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=float, default=10, help="per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per page (median)")
    parser.add_argument("--compare", action="store_true", help="goal pages only, once, no file")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    parser.add_argument("--note", default="", help="a line for the RESULTS.md heading")
    parser.add_argument(
        "--rss-requests",
        default="10000,100000",
        help="the page mix's request counts at which RSS is taken (FIRST,SECOND)",
    )
    parser.add_argument("--publishes", type=int, default=100, help="publish → visible samples")
    parser.add_argument("--qr-polls", type=int, default=10_000, help="pending QR long polls")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated words: measure only the pages whose name contains one of them "
        '(e.g. "anonymous article,cached home"); the references they need are kept',
    )
    parser.add_argument(
        "--skip",
        default="",
        help=f"comma-separated steps to leave out: {', '.join(STEPS)} (--compare skips them)",
    )
    args = parser.parse_args(argv)
    if WRK is None:
        print("bench: wrk is not installed (make bench installs it as root)", file=sys.stderr)
        return 2
    rounds = 1 if args.compare else args.rounds
    # A partial run (--compare, --only) leaves the second table's steps out and writes nothing.
    partial = args.compare or bool(args.only)
    skip = set(STEPS) if partial else {step for step in args.skip.split(",") if step}
    if skip - set(STEPS):
        parser.error(f"--skip: unknown step {', '.join(sorted(skip - set(STEPS)))}")
    rss_counts = tuple(int(count) for count in args.rss_requests.split(","))
    if len(rss_counts) != 2 or not 0 < rss_counts[0] < rss_counts[1]:
        parser.error("--rss-requests: FIRST,SECOND with 0 < FIRST < SECOND")

    from bench.publish_bench import GOAL_P99_MS, measure_publishes
    from bench.qr_longpoll_bench import (
        GOAL_P99_MS as QR_P99_MS,
    )
    from bench.qr_longpoll_bench import (
        GOAL_POLLS,
        TICKET_SECONDS,
        run_longpoll_bench,
    )
    from bench.servers import BENCH_USER, BenchCluster, ReferenceSite

    load_before = machine()
    # QR tickets live long enough for the long-poll step to create all of its tickets, and
    # the per-address limit on new QR codes (20 a minute) does not turn the "QR sign-in page"
    # row, one client at wrk's rate, into a measure of 429 answers: that row measures what
    # creating a ticket page costs.
    cluster = BenchCluster(
        args.instances,
        instance_env={
            "BLOG_QR_TICKET_SECONDS": str(TICKET_SECONDS),
            "BLOG_QR_TICKETS_PER_MINUTE": "100000000",
        },
    )
    reference_site: ReferenceSite | None = None
    goals: list[Goal] = []
    try:
        cluster.start()
        paths = cluster.load_site()
        base = cluster.base
        cookies = sign_in(base, BENCH_USER, cluster.password)
        off, on = pages_for(base, paths)
        if args.only:
            wanted = [word.strip() for word in args.only.split(",") if word.strip()]
            off = [page for page in off if any(word in page.name for word in wanted)]
            on = [page for page in on if any(word in page.name for word in wanted)]
        body = requests.get(base + current_path(base, paths.article), timeout=30).content
        reference_site = ReferenceSite(args.instances, body)
        # Each cached page against nginx serving that page's own bytes as a static file.
        statics: dict[str, str] = {}
        for number, page in enumerate(on):
            page_body = requests.get(base + page.path, timeout=30).content
            statics[page.name] = reference_site.add_static(f"cached-{number}.html", page_body)
        on = [dataclasses.replace(page, reference=f"static, {page.name}") for page in on]
        reference_site.start()
        if "startup" not in skip:
            goals.append(startup(cluster, rounds))

        if args.compare:
            off = [page for page in off if page.goal is not None]
        references = {
            "tornado": measure(
                reference_site.base,
                Page("bare Tornado × N behind nginx", "/article"),
                rounds,
                args.seconds,
                {},
            ),
        }
        for name, path in statics.items():
            references[f"static, {name}"] = measure(
                reference_site.base,
                Page(f"nginx, the {name.removeprefix('cached ')} page as a static file", path),
                rounds,
                args.seconds,
                {},
            )
        results = [measure(base, page, rounds, args.seconds, cookies) for page in off]
        goals += comment_statuses(results)
        cluster.set_microcache(True)
        cached = [measure(base, page, rounds, args.seconds, cookies) for page in on]
        cluster.set_microcache(False)
        mix = [page for page in off if not page.comment_mode]
        if "rss" not in skip:
            goals.append(rss_growth(base, cluster.instance_pids(), mix, cookies, rss_counts))
        if "publish" not in skip:
            published = measure_publishes(base, cluster.instance_bases(), cookies, args.publishes)
            goals.append(
                Goal(
                    "publish → served by every instance (asked directly)",
                    published.line(),
                    f"p99 ≤ {GOAL_P99_MS:g} ms",
                    published.passed,
                )
            )
        if "qr" not in skip:
            instance = cluster.instance_bases()[0]
            polls = run_longpoll_bench(
                instance,
                cluster.instance_pids()[0],
                [page.path for page in mix if not page.signed_in],
                args.qr_polls,
                args.seconds,
            )
            goals.append(
                Goal(
                    "QR long polls held by one instance, other pages meanwhile",
                    polls.line(),
                    f"≥ {GOAL_POLLS:,} pending, p99 ≤ {QR_P99_MS:g} ms",
                    polls.passed,
                )
            )
    finally:
        if reference_site is not None:
            reference_site.stop()
        if cluster.state is not None:
            with contextlib.suppress(Exception):
                cluster.remove_bench_writes(restart=args.keep)
        if not args.keep:
            cluster.stop()

    everything = results + cached
    lines = table(everything, references)
    if goals:
        lines += [
            "",
            "| goal | measured | target | result |",
            "|---|---|---|---|",
            *(goal.row() for goal in goals),
        ]
    lines += [
        "",
        "- Pages: "
        + ", ".join(f"{page.name} `{page.path}`" for page in [*off, *on])
        + '; the rows marked "cached" ran with the nginx micro-cache on.',
    ]
    failures = sum(
        1
        for result in everything
        if verdict(result, references)[1] != "pass" and result.page.goal is not None
    ) + sum(1 for goal in goals if goal.passed is False)
    judged = sum(1 for r in everything if r.page.goal is not None) + sum(
        1 for goal in goals if goal.passed is not None
    )
    print("\n".join(lines))
    print(f"\n{failures} of {judged} goals missed")
    if not (partial or args.no_write):
        command = "make bench" + (
            f' BENCH_ARGS="{" ".join(argv or sys.argv[1:])}"' if (argv or sys.argv[1:]) else ""
        )
        header = f"{dt.date.today().isoformat()}{' — ' + args.note if args.note else ''}"
        write_results(
            [
                f"- Machine: {load_before}.",
                f"- Command: `{command}` ({args.instances} instances, wrk -t2 -c{CONNECTIONS}, "
                f"{args.seconds:g} s per run, median of {rounds}).",
                "",
                *lines,
            ],
            command,
            header,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
