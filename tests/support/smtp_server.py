"""A real SMTP server for the tests: aiosmtpd in a process of its own, every message it
receives stored as a file (``NNNNNN.eml``, the envelope recipients in ``X-Rcpt-To``).

Run as ``python -m tests.support.smtp_server --port P --dir D [--tls starttls|implicit
--cert C --key K]``; ``SmtpServer`` starts it on a free port, stops it, starts it again on the
same port, and reads what arrived. With ``--tls starttls`` the server offers STARTTLS; with
``--tls implicit`` it speaks TLS from the first byte (``smtps://``); ``make_smtp_certificates``
makes a CA and a server certificate for 127.0.0.1 with the ``openssl`` command.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import itertools
import os
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from config import ROOT
from deploy.processes import free_port, spawn, stop_process, wait_for_port


class StoreMessages:
    """aiosmtpd handler: each accepted message becomes a file, written atomically."""

    def __init__(self, directory: Path, implicit_tls: bool = False) -> None:
        self.directory = directory
        self.implicit_tls = implicit_tls
        existing = len(list(directory.glob("*.eml")))
        self.numbers = itertools.count(existing + 1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        number = next(self.numbers)
        content = envelope.original_content or envelope.content
        head = f"X-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\nX-Mail-From: {envelope.mail_from}\r\n"
        # Whether the message came over TLS (STARTTLS or implicit): the tests check it.
        encrypted = session.ssl is not None or self.implicit_tls
        head += f"X-Received-TLS: {'yes' if encrypted else 'no'}\r\n"
        path = self.directory / f"{number:06d}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(head.encode() + content)
        os.replace(temporary, path)
        return "250 Message accepted for delivery"


async def serve(
    port: int, directory: Path, tls: str = "none", cert: Path | None = None, key: Path | None = None
) -> None:
    from aiosmtpd.smtp import SMTP

    context = None
    if tls != "none":
        assert cert is not None and key is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    handler = StoreMessages(directory, implicit_tls=tls == "implicit")
    starttls = context if tls == "starttls" else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler, hostname="inkwell-test-smtp", decode_data=False, tls_context=starttls
        ),
        "127.0.0.1",
        port,
        ssl=context if tls == "implicit" else None,
    )
    print(f"smtp test server on 127.0.0.1:{port}, storing in {directory}", flush=True)
    async with server:
        await server.serve_forever()


class SmtpServer:
    """The test SMTP server process and the messages it has received."""

    def __init__(
        self, directory: Path, tls: str = "none", certificates: SmtpCertificates | None = None
    ) -> None:
        self.directory = directory
        self.mail_dir = directory / "mail"
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.pid: int | None = None
        self.tls = tls
        self.certificates = certificates

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def marker(self) -> str:
        return f"tests.support.smtp_server --port {self.port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "tests.support.smtp_server",
            "--port", str(self.port), "--dir", str(self.mail_dir),
        ]  # fmt: skip
        if self.tls != "none":
            assert self.certificates is not None
            command += ["--tls", self.tls, "--cert", str(self.certificates.server_cert),
                        "--key", str(self.certificates.server_key)]  # fmt: skip
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


@dataclass(frozen=True)
class SmtpCertificates:
    """A certificate authority made for one test run, and a server certificate it signed
    for 127.0.0.1 and localhost."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_smtp_certificates(directory: Path) -> SmtpCertificates:
    """Generate the CA and the server certificate with the ``openssl`` command."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, request, cert = (
        directory / "server.key",
        directory / "server.csr",
        directory / "server.pem",
    )
    extensions = directory / "server.ext"
    extensions.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    )

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
            "-out", str(ca_cert), "-days", "2", "-subj", "/CN=Inkwell test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request),
            "-subj", "/CN=127.0.0.1")  # fmt: skip
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2",
            "-extfile", str(extensions))  # fmt: skip
    return SmtpCertificates(ca_cert, cert, key)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--tls", choices=("none", "starttls", "implicit"), default="none")
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.dir, args.tls, args.cert, args.key))


if __name__ == "__main__":
    main()
