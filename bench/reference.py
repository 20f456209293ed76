"""The reference point: a bare Tornado process answering every GET with one page's bytes.

``python -m bench.reference PORT FILE`` — no routing, no templates, no database: what
Tornado itself costs per request. The harness runs N of them behind an nginx configured
from Inkwell's own template, so a page's ratio to it is the share of the budget Inkwell
spends on its own work.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import tornado.web


class PageHandler(tornado.web.RequestHandler):
    def initialize(self, body: bytes) -> None:
        self.body = body

    def get(self, *_: str) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.write(self.body)


async def serve(port: int, body: bytes) -> None:
    app = tornado.web.Application([(r"/.*", PageHandler, {"body": body})])
    server = app.listen(port, address="127.0.0.1", xheaders=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.reference PORT FILE", file=sys.stderr)
        return 2
    asyncio.run(serve(int(argv[0]), Path(argv[1]).read_bytes()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
