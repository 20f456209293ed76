"""``make bench``: Inkwell's pages as ratios of reference points measured in the same run.

Absolute numbers depend on the machine; ratios do not (much). The harness starts
everything itself (bench/servers.py): a cluster of N instances (N = cores) behind the
launcher's nginx over the bench site (bench/site_data.py, loaded once), and two
references — N bare Tornado processes answering with the article's exact bytes behind
an nginx rendered from Inkwell's own template ("tornado"), and that nginx serving the
same bytes as a static file ("static"). Each page is loaded by wrk (Debian's package)
with 64 connections, three times after a warm-up; the median run is reported with its
p50/p99, errors and bytes, its ratio to the reference its goal names, and pass/fail.
The table is written to bench/RESULTS.md (``--no-write`` leaves it alone); ``--compare``
measures only the pages that have a goal, once each, and writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench.site_data import BenchPaths
from config import ROOT

WRK = shutil.which("wrk")
CONNECTIONS = 64
RESULTS = ROOT / "bench" / "RESULTS.md"


@dataclass(frozen=True)
class Page:
    """A URL to load, and the goal its rate must reach as a share of a reference."""

    name: str
    path: str
    signed_in: bool = False
    goal: float | None = None
    reference: str = "tornado"  # "tornado" (bare Tornado × N behind nginx) or "static"


@dataclass
class Run:
    """One wrk run of one page."""

    requests: int
    seconds: float
    errors: int
    transfer: str
    p50: float
    p99: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


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


_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+\w+) read")
_WRK_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_WRK_ERRORS = re.compile(
    r"Non-2xx or 3xx responses: (\d+)"
    r"|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_TO_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk(url: str, seconds: float, cookies: dict[str, str] | None = None) -> Run:
    """One wrk run (2 threads, 64 connections) against ``url``."""
    assert WRK is not None
    command = [WRK, "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency"]
    if cookies:
        command += ["-H", "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items())]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=False).stdout
    total = _WRK_TOTAL.search(output)
    if total is None:
        return Run(0, float(seconds), 1, "0", 0.0, 0.0)
    percentiles = {
        int(level): float(value) * _TO_SECONDS[unit] * 1000
        for level, value, unit in _WRK_PERCENTILE.findall(output)
    }
    errors = sum(int(n) for match in _WRK_ERRORS.findall(output) for n in match if n)
    return Run(
        int(total[1]),
        float(total[2]) * _TO_SECONDS[total[3]],
        errors,
        total[4],
        percentiles.get(50, 0.0),
        percentiles.get(99, 0.0),
    )


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


def measure(
    base: str, page: Page, rounds: int, seconds: float, cookies: dict[str, str]
) -> Measured:
    """A one-second warm-up (not counted), then ``rounds`` runs."""
    settle(base)
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
    if run.errors:
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
        lines.append(
            f"| reference: {reference.page.name} | {run.rate:,.0f} | {run.p50:.1f} | "
            f"{run.p99:.1f} | {run.errors} | {run.transfer} | 1.00 ({name}) | — | — |"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--instances", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=float, default=10, help="per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per page (median)")
    parser.add_argument("--compare", action="store_true", help="goal pages only, once, no file")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    parser.add_argument("--note", default="", help="a line for the RESULTS.md heading")
    args = parser.parse_args(argv)
    if WRK is None:
        print("bench: wrk is not installed (make bench installs it as root)", file=sys.stderr)
        return 2
    rounds = 1 if args.compare else args.rounds

    from bench.servers import BENCH_USER, BenchCluster, ReferenceSite

    load_before = machine()
    cluster = BenchCluster(args.instances)
    reference_site: ReferenceSite | None = None
    try:
        cluster.start()
        paths = cluster.load_site()
        base = cluster.base
        cookies = sign_in(base, BENCH_USER, cluster.password)
        off, on = pages_for(base, paths)
        body = requests.get(base + off[0].path, timeout=30).content
        reference_site = ReferenceSite(args.instances, body)
        reference_site.start()
        startup = cluster.startup_seconds()

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
            "static": measure(
                reference_site.base,
                Page("nginx, static file", "/static/page.html"),
                rounds,
                args.seconds,
                {},
            ),
        }
        pids = cluster.instance_pids()
        results = [measure(base, off[0], 1, args.seconds, cookies)]  # warm-up: ≥ 10k requests
        rss_start = rss_kib(pids)
        results = [measure(base, page, rounds, args.seconds, cookies) for page in off]
        rss_end = rss_kib(pids)
        served = sum(result.requests for result in results)
        cluster.set_microcache(True)
        cached = [measure(base, page, rounds, args.seconds, cookies) for page in on]
        cluster.set_microcache(False)
    finally:
        if reference_site is not None:
            reference_site.stop()
        if not args.keep:
            cluster.stop()

    everything = results + cached
    lines = table(everything, references)
    growth = [
        f"{(end - start) * 100 / start:+.1f} %"
        for start, end in zip(rss_start, rss_end, strict=True)
        if start
    ]
    lines += [
        "",
        f"- Instance RSS after the warm-up: {mib(rss_start)}; "
        f"after {served:,} more requests: {mib(rss_end)}"
        f" (growth {', '.join(growth)}; goal ≤ +5 %).",
        f"- A new instance answered /healthz with 200 after {startup:.2f} s (goal ≤ 1.5 s).",
        "- Pages: "
        + ", ".join(f"{page.name} `{page.path}`" for page in on)
        + '; the rows marked "cached" ran with the nginx micro-cache on.',
    ]
    failures = sum(
        1
        for result in everything
        if verdict(result, references)[1] != "pass" and result.page.goal is not None
    )
    print("\n".join(lines))
    print(f"\n{failures} of {sum(1 for r in everything if r.page.goal is not None)} goals missed")
    if not (args.compare or args.no_write):
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
