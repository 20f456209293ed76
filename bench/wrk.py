"""Running wrk (Debian's package) and reading its report.

``wrk()`` runs one load against a URL, optionally with a Lua script from ``bench/lua/``
and the script's arguments; ``Run`` is what came back: requests, time, errors, bytes,
p50/p99 and any extra lines the script printed (``statuses 2xx=… 429=…``).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

WRK = shutil.which("wrk")
CONNECTIONS = 64
THREADS = 2
LUA = Path(__file__).resolve().parent / "lua"


@dataclass
class Run:
    """One wrk run of one page."""

    requests: int
    seconds: float
    errors: int
    transfer: str
    p50: float
    p99: float
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+\w+) read")
_WRK_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_WRK_ERRORS = re.compile(
    r"Non-2xx or 3xx responses: (\d+)"
    r"|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_WRK_STATUSES = re.compile(r"^statuses ((?:\S+=\d+ ?)+)$", re.M)
_TO_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse(output: str, seconds: float) -> Run:
    total = _WRK_TOTAL.search(output)
    if total is None:
        return Run(0, float(seconds), 1, "0", 0.0, 0.0)
    percentiles = {
        int(level): float(value) * _TO_SECONDS[unit] * 1000
        for level, value, unit in _WRK_PERCENTILE.findall(output)
    }
    errors = sum(int(n) for match in _WRK_ERRORS.findall(output) for n in match if n)
    statuses: dict[str, int] = {}
    found = _WRK_STATUSES.search(output)
    if found:
        for item in found.group(1).split():
            name, _, count = item.partition("=")
            statuses[name] = int(count)
    return Run(
        int(total[1]),
        float(total[2]) * _TO_SECONDS[total[3]],
        errors,
        total[4],
        percentiles.get(50, 0.0),
        percentiles.get(99, 0.0),
        statuses,
    )


def wrk(
    url: str,
    seconds: float,
    cookies: dict[str, str] | None = None,
    *,
    script: str = "",
    script_args: list[str] | None = None,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
) -> Run:
    """One wrk run (``threads`` threads, ``connections`` connections) against ``url``;
    ``script``: a file in bench/lua/, given ``script_args`` after ``--``."""
    assert WRK is not None
    command = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    if cookies:
        command += ["-H", "Cookie: " + cookie_header(cookies)]
    if script:
        command += ["-s", str(LUA / script)]
    command.append(url)
    if script_args is not None:
        command += ["--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    return parse(output, seconds)


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def wrk_until(
    url: str,
    limit: int,
    paths: list[str],
    cookies: dict[str, str] | None = None,
    *,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    timeout: float = 3600.0,
) -> Run:
    """The page mix (bench/lua/page_mix.lua: ``paths`` in turn, "!"-prefixed ones signed in
    with ``cookies``) until about ``limit`` responses; wrk is interrupted once every thread
    has its share (it would otherwise wait for its whole -d)."""
    assert WRK is not None
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        marker = str(Path(folder) / "done")
        command = [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{round(timeout)}s",
            # A slow page under load is still an answer here (wrk's own limit is 2 s).
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(LUA / "page_mix.lua"),
            url,
            "--",
            str(threads),
            str(limit),
            marker,
            cookie_header(cookies or {}),
            *paths,
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        while process.poll() is None and time.monotonic() - started < timeout:
            if len(list(Path(folder).glob("done.*"))) >= threads:
                process.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
        output, _ = process.communicate()
    return parse(output, time.monotonic() - started)
