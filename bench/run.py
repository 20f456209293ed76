"""Benchmark a running Inkwell (a local cluster or one instance): ``python -m bench.run``.

Absolute numbers depend on the machine; ratios do not (much). So every page is
measured in the same run as reference points — a static file served by nginx
(no Python at all) and ``/healthz`` (Tornado with one trivial query) — and
reported as a fraction of them:

    page                     req/s    p50 ms   p95 ms   vs static   vs healthz
    static file (nginx)      ...
    anonymous home page      ...

The load comes from ``wrk`` when it is installed (``make bench`` installs it as root):
a Python client on the same two cores would be the bottleneck and flatten the ratios.
Python threads remain as the fallback (``--client python``).

Targets: ``--url`` (default: the cluster in var/cluster/ or BLOG_CLUSTER_DIR, else
http://127.0.0.1:8888).
Only loopback addresses are accepted: this is a load generator.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from config import ROOT, load_launcher_settings
from deploy.state import StateStore

WRK = shutil.which("wrk")


@dataclass
class Result:
    name: str
    path: str
    requests: int
    failures: int
    seconds: float
    latencies: list[float]
    # wrk reports these itself (milliseconds); the Python client computes them from latencies.
    reported: dict[float, float] | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if self.reported is not None:
            return self.reported.get(fraction, 0.0)
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def default_url() -> str:
    """The local cluster's nginx (the launcher's state dir), else a single instance."""
    cluster = StateStore(load_launcher_settings().state_dir).load()
    if cluster is not None:
        return f"http://127.0.0.1:{cluster.http_port}"
    return "http://127.0.0.1:8888"


def measure(
    name: str,
    base: str,
    path: str,
    count: int,
    concurrency: int,
    cookies: dict[str, str] | None = None,
) -> Result:
    """``count`` GETs of ``path`` from ``concurrency`` keep-alive clients."""
    local = threading.local()
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def one(_: int) -> None:
        nonlocal failures
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.cookies.update(cookies or {})
        started = time.perf_counter()
        try:
            response = session.get(base + path, timeout=30, allow_redirects=False)
            ok = response.status_code == 200
        except requests.RequestException:
            ok = False
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            failures += 0 if ok else 1

    # A short warm-up fills caches and connection pools; it is not counted.
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(min(count, concurrency * 5))))
    latencies.clear()
    failures = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return Result(name, path, count, failures, time.perf_counter() - started, latencies)


_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
_WRK_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_WRK_ERRORS = re.compile(
    r"Non-2xx or 3xx responses: (\d+)"
    r"|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_TO_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def measure_with_wrk(
    name: str,
    base: str,
    path: str,
    seconds: float,
    connections: int,
    cookies: dict[str, str] | None = None,
) -> Result:
    """Load from wrk (C, event-driven): the client is no longer the bottleneck."""
    command = [WRK, "-t2", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency"]
    if cookies:
        command += ["-H", "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items())]
    # A short warm-up fills caches; it is not counted.
    subprocess.run([*command[:3], "-d1s", base + path], capture_output=True, check=False)
    output = subprocess.run(
        [*command, base + path], capture_output=True, text=True, check=False
    ).stdout
    total = _WRK_TOTAL.search(output)
    if total is None:
        return Result(name, path, 0, 1, 0.0, [], {})
    requests_done = int(total[1])
    elapsed = float(total[2]) * _TO_SECONDS[total[3]]
    percentiles = {
        int(level) / 100: float(value) * _TO_SECONDS[unit] * 1000
        for level, value, unit in _WRK_PERCENTILE.findall(output)
    }
    failures = sum(int(n) for match in _WRK_ERRORS.findall(output) for n in match if n)
    return Result(name, path, requests_done, failures, elapsed, [], percentiles)


def find_static_file() -> str | None:
    for pattern in ("css/*.css", "js/*.js", "img/*"):
        for path in sorted((ROOT / "static").glob(pattern)):
            return "/static/" + path.relative_to(ROOT / "static").as_posix()
    return None


def find_article(base: str) -> str | None:
    try:
        home = requests.get(base + "/", timeout=10).text
    except requests.RequestException:
        return None
    found = re.search(r'href="(/article/\d+[^"]*)"', home)
    return found.group(1) if found else None


def sign_in(base: str, username: str, password: str) -> dict[str, str] | None:
    session = requests.Session()
    token = "bench" + str(int(time.time()))
    session.cookies.set("_xsrf", token, domain=urlsplit(base).hostname, path="/")
    response = session.post(
        base + "/auth/login",
        data={"username": username, "password": password, "next": "/admin", "_xsrf": token},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code not in (302, 303):
        return None
    return session.cookies.get_dict()


def report(results: list[Result], references: list[Result], high: float) -> str:
    high_name = f"p{int(high * 100)} ms"
    header = f"{'page':<28} {'req/s':>9} {'p50 ms':>8} {high_name:>8} {'failed':>7}"
    header += "".join(f" {'vs ' + ref.name.split(' ')[0]:>12}" for ref in references)
    lines = [header, "-" * len(header)]
    for result in results:
        line = (
            f"{result.name:<28} {result.rate:>9.0f} {result.percentile(0.5):>8.1f} "
            f"{result.percentile(high):>8.1f} {result.failures:>7}"
        )
        for ref in references:
            line += f" {result.rate / ref.rate if ref.rate else 0:>12.2f}"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--url", default=None, help="default: the local cluster, else :8888")
    parser.add_argument("--requests", type=int, default=400, help="per page")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5, help="per page, with wrk")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk when installed (make bench installs it), else Python threads",
    )
    parser.add_argument("--username", default="admin", help="for the signed-in admin page")
    parser.add_argument("--password", default=None, help="omit to skip the admin page")
    args = parser.parse_args(argv)
    base = (args.url or default_url()).rstrip("/")
    if urlsplit(base).hostname not in ("127.0.0.1", "localhost", "::1"):
        print("bench: only loopback targets (127.0.0.1) are allowed", file=sys.stderr)
        return 2
    try:
        requests.get(base + "/healthz", timeout=5)
    except requests.RequestException:
        print(
            f"bench: nothing answers at {base}; start `make cluster N=3` (or `make run`) first",
            file=sys.stderr,
        )
        return 2

    use_wrk = args.client == "wrk" or (args.client == "auto" and WRK is not None)
    if use_wrk and WRK is None:
        print("bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    def run(name: str, path: str, cookies: dict[str, str] | None = None) -> Result:
        if use_wrk:
            return measure_with_wrk(name, base, path, args.seconds, 4 * args.concurrency, cookies)
        return measure(name, base, path, args.requests, args.concurrency, cookies)

    references = []
    static = find_static_file()
    if static:
        references.append(run("static file", static))
    references.append(run("healthz", "/healthz"))
    pages = [run("anonymous home page", "/")]
    article = find_article(base)
    if article:
        pages.append(run("article page", article))
    if args.password:
        cookies = sign_in(base, args.username, args.password)
        if cookies:
            pages.append(run("signed-in admin page", "/admin", cookies))
        else:
            print("bench: could not sign in; the admin page is left out", file=sys.stderr)
    if use_wrk:
        load = f"wrk, {args.seconds:g} s per page, {4 * args.concurrency} connections"
    else:
        load = f"Python threads, {args.requests} requests per page, {args.concurrency} clients"
    print(f"target {base}: {load}\n")
    print(report(references + pages, references, 0.99 if use_wrk else 0.95))
    print("\nRatios compare pages with the reference points measured in this same run.")
    return 1 if any(result.failures for result in references + pages) else 0


if __name__ == "__main__":
    sys.exit(main())
