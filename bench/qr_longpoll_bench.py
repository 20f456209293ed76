"""QR sign-in at scale: one instance holds N pending long polls while other pages stay fast.

``python -m bench.qr_longpoll_bench -n 10000`` starts the bench cluster (bench/servers.py,
one instance unless ``--instances``), then, against ONE instance directly (its own port):

1. loads the page mix (home, an article, a category, /healthz) with wrk for ``--seconds``
   with no poll open: the baseline p50/p99;
2. starts a client in a separate process (``--client``: asyncio, raw HTTP/1.1, so it shares
   no event loop with the instance) that opens ``/auth/qr`` N times (each a new ticket and
   its signed ``qr`` cookie, each from another client address in X-Forwarded-For, as N
   desktops would), then long-polls every ticket (``/auth/qr/wait/<token>?since=pending``)
   and polls again whenever one answers "pending" (every ~25 s), as the page's script does;
3. once N polls are pending, records the instance's RSS, waits until a tenth of them have
   been answered and polled again (the churn of real sign-in pages: a poll answers after
   33–55 s), and loads the same page mix again.

Reported: p50/p99 of the mix with and without the polls (goal: p99 ≤ 50 ms with N ≥ 10,000
pending), the instance's RSS per pending poll, and how many polls failed. The QR tickets'
lifetime is raised for the run (``BLOG_QR_TICKET_SECONDS``) so that creating N tickets one
after another cannot outlast the first ones; nothing else in the product is changed. The
open-files limit of this process, the client and the instance is raised to the hard limit.

``run_longpoll_bench()`` is what ``bench/run.py`` calls on its own cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.wrk import WRK, Run, wrk
from deploy.processes import raise_open_files_limit

GOAL_POLLS = 10_000
GOAL_P99_MS = 50.0
# A ticket must outlive the creation of all the others and the measurement.
TICKET_SECONDS = 1800
MIX_CONNECTIONS = 16
# Longest wait for the first polls to be answered and opened again (the product answers a
# waiting poll after 33–55 s).
REPOLL_WAIT_SECONDS = 75.0
_TOKEN = re.compile(rb'data-token="([^"]+)"')
_COOKIE = re.compile(rb"^Set-Cookie:\s*qr=([^;\r\n]+)", re.I | re.M)


# --- the client process ---------------------------------------------------------------


async def _http(
    host: str, port: int, path: str, headers: dict[str, str]
) -> tuple[int, bytes, bytes]:
    """One HTTP/1.1 GET on its own connection: (status, head, body)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head, body


class PollClient:
    """N desktops on the QR sign-in page, each waiting for its phone."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.host, self.port, self.count = host, port, count
        self.created = 0
        self.pending = 0
        self.answered = 0
        self.failed = 0  # desktops that gave up: no ticket, or an answer other than pending
        self.errors = 0  # connections refused or dropped (the poll is tried again)
        self.holding = False  # SIGUSR1: create no more tickets, keep polling the others
        self.creating = asyncio.Semaphore(32)
        self.connecting = asyncio.Semaphore(256)

    @staticmethod
    def address(number: int) -> str:
        return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"

    async def desktop(self, number: int) -> None:
        headers = {"X-Forwarded-For": self.address(number), "User-Agent": "qr-longpoll-bench"}
        async with self.creating:
            if self.holding:
                return
            try:
                status, head, body = await _http(self.host, self.port, "/auth/qr", headers)
            except OSError:
                self.failed += 1
                return
        token, cookie = _TOKEN.search(body), _COOKIE.search(head)
        if status != 200 or token is None or cookie is None:
            self.failed += 1
            return
        self.created += 1
        headers["Cookie"] = "qr=" + cookie.group(1).decode()
        path = f"/auth/qr/wait/{token.group(1).decode()}?since=pending"
        request = (
            "\r\n".join(
                [
                    f"GET {path} HTTP/1.1",
                    f"Host: {self.host}:{self.port}",
                    "Connection: close",
                    *(f"{name}: {value}" for name, value in headers.items()),
                ]
            ).encode()
            + b"\r\n\r\n"
        )
        while True:
            async with self.connecting:  # not all N connects at once: the listen backlog
                try:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                    writer.write(request)
                    await writer.drain()
                except OSError:
                    self.errors += 1
                    await asyncio.sleep(0.5)
                    continue
            self.pending += 1
            try:
                answer = await reader.read()
            except OSError:
                answer = b""
            finally:
                self.pending -= 1
                writer.close()
            if not answer:
                self.errors += 1
                await asyncio.sleep(0.5)
                continue
            self.answered += 1
            status_text = answer.partition(b"\r\n\r\n")[2]
            try:
                status = json.loads(status_text).get("status")
            except ValueError:
                status = None
            if status not in ("pending", "scanned"):
                self.failed += 1
                return

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self.desktop(number)) for number in range(self.count)]
        while not stop.is_set():
            print(
                f"pending={self.pending} created={self.created} "
                f"answered={self.answered} failed={self.failed} errors={self.errors}",
                flush=True,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _client_main(host: str, port: int, count: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    client = PollClient(host, port, count)
    loop.add_signal_handler(signal.SIGUSR1, setattr, client, "holding", True)
    await client.run(stop)


# --- the measuring side ---------------------------------------------------------------


@dataclass
class LongPollResult:
    requested: int
    pending: int
    failed: int  # desktops that got no ticket, or an answer other than "pending"
    errors: int  # polls refused or dropped (and tried again)
    baseline: Run
    loaded: Run
    rss_before_kib: int
    rss_pending_kib: int
    open_files_limit: int

    @property
    def kib_per_poll(self) -> float:
        return (self.rss_pending_kib - self.rss_before_kib) / self.pending if self.pending else 0.0

    @property
    def passed(self) -> bool:
        return (
            self.pending >= min(self.requested, GOAL_POLLS)
            and self.requested >= GOAL_POLLS
            and self.loaded.p99 <= GOAL_P99_MS
            and self.loaded.errors == 0
        )

    def line(self) -> str:
        return (
            f"{self.pending:,} of {self.requested:,} long polls pending on one instance "
            f"({self.failed} failed, {self.errors} connection errors); "
            f"page mix at {MIX_CONNECTIONS} connections: "
            f"p50 {self.loaded.p50:.1f} ms, p99 {self.loaded.p99:.1f} ms, "
            f"{self.loaded.rate:,.0f} req/s, {self.loaded.errors} errors "
            f"(without the polls: p50 {self.baseline.p50:.1f} ms, p99 {self.baseline.p99:.1f} ms, "
            f"{self.baseline.rate:,.0f} req/s); RSS {self.rss_before_kib / 1024:.0f} → "
            f"{self.rss_pending_kib / 1024:.0f} MiB, {self.kib_per_poll:.1f} KiB per pending poll"
        )


class _ClientProcess:
    """The poll client in its own process; its latest status line, read in a thread."""

    def __init__(self, port: int, count: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.qr_longpoll_bench",
                "--client",
                str(port),
                "-n",
                str(count),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.status: dict[str, int] = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.status = {
                name: int(value)
                for name, _, value in (item.partition("=") for item in line.split())
                if value.isdigit()
            }

    def wait_pending(self, count: int, timeout: float, log: Callable[[str], None]) -> int:
        """Wait until ``count`` polls are pending (or nothing changes any more)."""
        deadline = time.monotonic() + timeout
        last, steady_since = -1, time.monotonic()
        reported = time.monotonic()
        while time.monotonic() < deadline and self.process.poll() is None:
            now = self.status.get("pending", 0)
            if time.monotonic() - reported > 15:
                reported = time.monotonic()
                log("bench: " + ", ".join(f"{k} {v:,}" for k, v in self.status.items()))
            if now >= count:
                break
            if now != last:
                last, steady_since = now, time.monotonic()
            elif time.monotonic() - steady_since > 30:
                break
            time.sleep(0.5)
        # Done (or out of time): no more tickets; what is measured is the polls alone.
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
        time.sleep(3)  # the last requests reach the instance's waiters
        return self.status.get("pending", 0)

    def wait_answered(self, count: int, timeout: float) -> int:
        """Wait until ``count`` polls have been answered (and polled again), so that what is
        measured next includes the steady coming and going of a real sign-in page."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.status.get("answered", 0) >= count:
                break
            time.sleep(0.5)
        return self.status.get("answered", 0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.reader.join(timeout=5)


def _rss_kib(pid: int) -> int:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) if found else 0


def _mix(instance: str, paths: list[str], seconds: float) -> Run:
    return wrk(
        instance + "/",
        seconds,
        script="page_mix.lua",
        script_args=["2", "0", "", "", *paths],  # threads, no limit, no marker, no cookie
        connections=MIX_CONNECTIONS,
    )


def run_longpoll_bench(
    instance: str,
    pid: int,
    paths: list[str],
    count: int,
    seconds: float,
    log: Callable[[str], None] = print,
) -> LongPollResult:
    """Hold ``count`` long polls on ``instance`` (whose process is ``pid``) and load
    ``paths`` on it meanwhile; see the module's doc."""
    limit = raise_open_files_limit()
    port = int(instance.rsplit(":", 1)[1])
    _mix(instance, paths, 1)  # warm-up
    baseline = _mix(instance, paths, seconds)
    rss_before = _rss_kib(pid)
    log(f"bench: opening {count:,} QR long polls on {instance}")
    client = _ClientProcess(port, count)
    try:
        pending = client.wait_pending(count, timeout=max(300.0, count / 10), log=log)
        rss_pending = _rss_kib(pid)
        # A poll answers "pending" after 33–55 s and its page polls again: measure once that
        # churn is under way, not in the quiet right after the polls were opened.
        answered = client.wait_answered(pending // 10, timeout=REPOLL_WAIT_SECONDS)
        log(f"bench: {pending:,} polls pending, {answered:,} answered; loading the page mix")
        loaded = _mix(instance, paths, seconds)
        failed = client.status.get("failed", 0)
        errors = client.status.get("errors", 0)
    finally:
        client.stop()
    return LongPollResult(
        count, pending, failed, errors, baseline, loaded, rss_before, rss_pending, limit
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.qr_longpoll_bench", description=__doc__)
    parser.add_argument("-n", type=int, default=GOAL_POLLS, help="long polls to hold")
    parser.add_argument("--seconds", type=float, default=10, help="per page-mix run")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    raise_open_files_limit()
    if args.client:
        asyncio.run(_client_main("127.0.0.1", args.client, args.n))
        return 0
    if WRK is None:
        print("bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    from bench.run import current_path
    from bench.servers import BenchCluster

    cluster = BenchCluster(
        args.instances, instance_env={"BLOG_QR_TICKET_SECONDS": str(TICKET_SECONDS)}
    )
    try:
        cluster.start()
        site = cluster.load_site()
        instance = cluster.instance_bases()[0]
        paths = [
            "/",
            current_path(instance, site.article),
            current_path(instance, site.category),
            "/healthz",
        ]
        result = run_longpoll_bench(
            instance, cluster.instance_pids()[0], paths, args.n, args.seconds
        )
    finally:
        if not args.keep:
            cluster.stop()
    print(result.line())
    print(
        f"goal: ≥ {GOAL_POLLS:,} pending with p99 ≤ {GOAL_P99_MS:g} ms: "
        + ("pass" if result.passed else "FAIL")
    )
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
