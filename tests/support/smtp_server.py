"""A real SMTP server for the tests: aiosmtpd in a process of its own, every message it
receives stored as a file (``NNNNNN.eml``, the envelope recipients in ``X-Rcpt-To``).

Run as ``python -m tests.support.smtp_server --port P --dir D``; ``SmtpServer`` starts it on
a free port, stops it, starts it again on the same port, and reads what arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import itertools
import os
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from config import ROOT
from deploy.processes import free_port, spawn, stop_process, wait_for_port


class StoreMessages:
    """aiosmtpd handler: each accepted message becomes a file, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        existing = len(list(directory.glob("*.eml")))
        self.numbers = itertools.count(existing + 1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        number = next(self.numbers)
        content = envelope.original_content or envelope.content
        head = f"X-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\nX-Mail-From: {envelope.mail_from}\r\n"
        path = self.directory / f"{number:06d}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(head.encode() + content)
        os.replace(temporary, path)
        return "250 Message accepted for delivery"


async def serve(port: int, directory: Path) -> None:
    from aiosmtpd.smtp import SMTP

    handler = StoreMessages(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="inkwell-test-smtp", decode_data=False),
        "127.0.0.1",
        port,
    )
    print(f"smtp test server on 127.0.0.1:{port}, storing in {directory}", flush=True)
    async with server:
        await server.serve_forever()


class SmtpServer:
    """The test SMTP server process and the messages it has received."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.mail_dir = directory / "mail"
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def marker(self) -> str:
        return f"tests.support.smtp_server --port {self.port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "tests.support.smtp_server",
            "--port", str(self.port), "--dir", str(self.mail_dir),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = spawn(command, self.directory / "smtp.log", env=env)
        self.pid = process.pid
        wait_for_port(self.port, self.pid, timeout=30)

    def stop(self) -> None:
        stop_process(self.pid, self.marker)
        self.pid = None

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first, parsed by the ``email`` package."""
        parsed = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while len(found := self.messages()) < count:
            assert time.monotonic() < deadline, f"{len(found)} message(s) arrived, not {count}"
            time.sleep(0.05)
        return found

    def clear(self) -> None:
        for path in self.mail_dir.glob("*.eml"):
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.dir))


if __name__ == "__main__":
    main()
