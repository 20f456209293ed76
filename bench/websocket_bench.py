"""Live comments at scale: N WebSocket connections on one instance, one comment, how long
until every connection has it, and what each connection costs the instance in memory.

    python -m bench.websocket_bench                 # 5,000 connections, its own instance
    python -m bench.websocket_bench -n 500
    python -m bench.websocket_bench --url http://127.0.0.1:8000 --pid 1234

Without ``--url`` the script starts one instance of its own (SQLite in a temporary
directory, the demo site loaded, no Redis); it raises the open-files limit for itself and
that instance (resource.setrlimit). With ``--url`` it uses a running instance, and its
memory is reported only when ``--pid`` names it. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

ROOT = Path(__file__).resolve().parent.parent
# What the comment guard asks of a form before it is posted (controller/article.py).
FORM_WAIT_SECONDS = 3.2
CONNECT_BATCH = 250


def raise_open_files_limit(wanted: int) -> int:
    """Raise the soft open-files limit towards ``wanted`` (never past the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    """The resident memory of a process, in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_instance(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """One instance on SQLite with the demo site: (process, base URL)."""
    env = {
        **os.environ,
        "BLOG_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "BLOG_DATA_DIR": str(workdir / "var"),
        "BLOG_LOG_DIR": str(workdir / "logs"),
    }
    main = [sys.executable, str(ROOT / "main.py")]
    subprocess.run([*main, "demo"], env=env, cwd=workdir, check=True, capture_output=True)
    port = free_port()
    log = (workdir / "instance.log").open("wb")
    process = subprocess.Popen(
        [*main, "serve", "--port", str(port), "--host", "127.0.0.1"],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the instance stopped; see {workdir / 'instance.log'}")
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the instance did not answer /healthz within 60 s")


def first_article(url: str) -> int:
    match = re.search(r'href="/article/([0-9]+)/', requests.get(url + "/", timeout=10).text)
    if match is None:
        raise RuntimeError("no article on the home page")
    return int(match.group(1))


async def connect_all(url: str, article_id: int, count: int) -> list[WebSocketClientConnection]:
    ws_url = url.replace("http://", "ws://").replace("https://", "wss://")
    target = f"{ws_url}/live/article/{article_id}"

    async def connect() -> WebSocketClientConnection:
        request = HTTPRequest(target, headers={"Origin": url}, connect_timeout=60)
        return await websocket_connect(request)

    connections: list[WebSocketClientConnection] = []
    while len(connections) < count:
        batch = min(CONNECT_BATCH, count - len(connections))
        connections += await asyncio.gather(*(connect() for _ in range(batch)))
    return connections


def post_comment(url: str, article_id: int) -> float:
    """Fill the comment form as a reader does; returns the time it was sent."""
    browser = requests.Session()
    page = browser.get(f"{url}/article/{article_id}", timeout=10).text
    if 'id="comment-form"' not in page:
        raise RuntimeError("the article has no comment form")
    # What the form's script fetches: this visitor's token (a cookie) and the form's time.
    form_time = browser.get(f"{url}/article/{article_id}/comment", timeout=10).json()["form_time"]
    time.sleep(FORM_WAIT_SECONDS)
    sent = time.perf_counter()
    response = browser.post(
        f"{url}/article/{article_id}/comment",
        data={
            "_xsrf": browser.cookies.get("_xsrf", ""),
            "author_name": "Bench",
            "author_email": "bench@example.org",
            "content": "One comment for every open page.",
            "form_time": form_time,
        },
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 303:
        raise RuntimeError(f"the comment was refused: {response.status_code}")
    return sent


async def run(url: str, pid: int | None, count: int) -> dict[str, float]:
    article_id = first_article(url)
    before = rss_kib(pid) if pid else 0
    started = time.perf_counter()
    connections = await connect_all(url, article_id, count)
    connected = time.perf_counter() - started
    await asyncio.sleep(1)  # let the instance settle before measuring
    after = rss_kib(pid) if pid else 0

    arrivals: list[float] = []

    async def listen(connection: WebSocketClientConnection) -> None:
        message = await connection.read_message()
        if message is not None:
            arrivals.append(time.perf_counter())

    listeners = [asyncio.ensure_future(listen(c)) for c in connections]
    loop = asyncio.get_running_loop()
    sent = await loop.run_in_executor(None, post_comment, url, article_id)
    await asyncio.wait_for(asyncio.gather(*listeners), timeout=60)
    for connection in connections:
        connection.close()
    return {
        "connections": float(count),
        "received": float(len(arrivals)),
        "connect_seconds": connected,
        "delivery_seconds": max(arrivals) - sent if arrivals else float("nan"),
        "rss_before_kib": float(before),
        "rss_after_kib": float(after),
        "kib_per_connection": (after - before) / count if pid else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--connections", type=int, default=5000)
    parser.add_argument("--url", help="a running instance (default: start one)")
    parser.add_argument("--pid", type=int, help="the running instance's process id")
    args = parser.parse_args(argv)
    limit = raise_open_files_limit(args.connections * 2 + 1024)
    if limit < args.connections + 256:
        print(f"open-files limit {limit} is too low for {args.connections} connections")
        return 2
    with tempfile.TemporaryDirectory(prefix="inkwell-ws-bench-") as workdir:
        process = None
        url, pid = args.url, args.pid
        if url is None:
            process, url = start_instance(Path(workdir))
            pid = process.pid
        try:
            result = asyncio.run(run(url.rstrip("/"), pid, args.connections))
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    print(f"connections open:        {int(result['connections'])}")
    print(f"  opened in:             {result['connect_seconds']:.2f} s")
    print(f"comment received by:     {int(result['received'])}")
    print(f"  all received within:   {result['delivery_seconds'] * 1000:.0f} ms after the POST")
    if pid:
        print(
            f"instance RSS:            {result['rss_before_kib'] / 1024:.1f} MiB before, "
            f"{result['rss_after_kib'] / 1024:.1f} MiB with the connections open"
        )
        print(f"  per connection:        {result['kib_per_connection']:.1f} KiB")
    return 0 if result["received"] == result["connections"] else 1


if __name__ == "__main__":
    sys.exit(main())
