"""Outgoing mail: composing a message, the SMTP (or log) transport, and the delivery loop.

Nothing is sent on the request path: ``Mailer.send`` composes the message and puts it in the
durable queue (extends/mailqueue.py); every instance runs a ``MailDelivery`` loop that claims
due messages and hands them to the transport in a thread of its own, with retries and
exponential backoff. Without ``BLOG_SMTP_URL`` the transport writes each message to the log,
and the admin's outbox page shows it, so a newcomer sees what would have been sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import email.utils
import logging
import smtplib
import ssl
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.mailqueue import FAILED, Envelope, MailQueue, QueuedMail

log = logging.getLogger("blog.mail")

SMTP_TIMEOUT_SECONDS = 30
SUBMISSION_PORT = 587
MAX_HEADER_TEXT = 200


class InvalidAddress(ValueError):
    """An email address that cannot be used (its syntax, or a header injection attempt)."""


def normalize_address(address: str) -> str:
    """The address in its normal form, or InvalidAddress (syntax only: no DNS lookups)."""
    if any(ch in address for ch in "\r\n"):
        raise InvalidAddress("line breaks are not allowed in an address")
    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from exc
    return str(checked.normalized)


def _header_text(value: str) -> str:
    # EmailMessage's policy refuses CR/LF too; refusing here first makes the intent plain.
    if any(ch in value for ch in "\r\n"):
        raise InvalidAddress("line breaks are not allowed in a header")
    return value[:MAX_HEADER_TEXT]


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to submit mail, from ``BLOG_SMTP_URL``.

    ``smtp://user:pass@host:587``: STARTTLS when offered (required on port 587);
    ``smtps://user:pass@host:465``: TLS from the first byte; ``smtp://host:25``: a local
    relay, no authentication. ``str()`` never shows the password.
    """

    scheme: str
    host: str
    port: int
    username: str
    password: str

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("BLOG_SMTP_URL must look like smtp://user:pass@host:587 or smtps://…")
        default_port = 465 if parts.scheme == "smtps" else 25
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"SmtpTarget({self})"


class Transport(Protocol):
    """Hands one message to the outside world; blocking (runs in the mail thread)."""

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        """Deliver or raise (any exception is a failed try)."""
        ...


class SmtpTransport:
    """Submits each message over one SMTP connection (smtplib)."""

    def __init__(
        self, target: SmtpTarget, timeout: float = SMTP_TIMEOUT_SECONDS, ca_file: str = ""
    ) -> None:
        self.target = target
        self.timeout = timeout
        # The server's certificate is always verified (chain and host name): against the
        # system's trust store, or the CA bundle in ``BLOG_SMTP_CA_FILE`` when set (read
        # here, so a missing or broken file stops the start with its error).
        self.context = ssl.create_default_context(cafile=ca_file or None)

    def __str__(self) -> str:
        return str(self.target)

    def _connect(self) -> smtplib.SMTP:
        context = self.context
        target = self.target
        if target.scheme == "smtps":
            return smtplib.SMTP_SSL(target.host, target.port, timeout=self.timeout, context=context)
        connection = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        connection.ehlo()
        if connection.has_extn("starttls"):
            connection.starttls(context=context)
            connection.ehlo()
        elif target.port == SUBMISSION_PORT or target.username:
            # Never send a password, or submit on the submission port, in clear text.
            connection.close()
            raise smtplib.SMTPNotSupportedError(f"{target} does not offer STARTTLS")
        return connection

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        with contextlib.closing(self._connect()) as connection:
            if self.target.username:
                connection.login(self.target.username, self.target.password)
            connection.sendmail(sender, list(recipients), raw)
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.quit()


class LogTransport:
    """No SMTP configured: each message goes to the log (and stays on the outbox page)."""

    def __str__(self) -> str:
        return "the log (no BLOG_SMTP_URL)"

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        log.info(
            "mail not sent (no SMTP configured) from %s to %s:\n%s",
            sender,
            ", ".join(recipients),
            raw.decode("utf-8", "replace"),
        )


def sender_address(mail_from: str, base_url: str) -> str:
    """``BLOG_MAIL_FROM`` checked, or ``inkwell@`` the base URL's host (``localhost``)."""
    if mail_from:
        return normalize_address(mail_from)
    host = urlsplit(base_url).hostname if base_url else None
    return f"inkwell@{host or 'localhost'}"


def build_transport(smtp_url: str, ca_file: str = "") -> SmtpTransport | LogTransport:
    """SMTP when ``smtp_url`` is set (certificates checked against ``ca_file`` when given,
    else the system's trust store), else the log."""
    if smtp_url:
        return SmtpTransport(SmtpTarget.parse(smtp_url), ca_file=ca_file)
    return LogTransport()


@dataclass(frozen=True)
class MailContent:
    """What a message says: the same text as plain text and as HTML."""

    subject: str
    text: str
    html: str


def compose(
    content: MailContent,
    to: str,
    mail_from: str,
    site_name: str,
    now: float,
    headers: Sequence[tuple[str, str]] = (),
) -> Envelope:
    """A multipart/alternative message from the site (its name shown in From) to ``to``.

    Raises InvalidAddress for an unusable address or a header value with a line break.
    """
    recipient = normalize_address(to)
    # The sender is the site's own setting (checked at start, see ``sender_address``).
    sender = _header_text(mail_from)
    message = EmailMessage(policy=email.policy.SMTP)
    local, _, domain = sender.rpartition("@")
    message["From"] = Address(display_name=_header_text(site_name), username=local, domain=domain)
    message["To"] = recipient
    message["Subject"] = _header_text(content.subject)
    message["Date"] = email.utils.formatdate(now, localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    for name, value in headers:
        message[_header_text(name)] = _header_text(value)
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return Envelope(sender, (recipient,), content.subject, message.as_bytes())


class Mailer:
    """What the handlers use: ``await app.mailer.send(content, to, site_name)``."""

    def __init__(self, queue: MailQueue, delivery: MailDelivery, mail_from: str) -> None:
        self.queue = queue
        self.delivery = delivery
        self.mail_from = mail_from

    async def send(
        self,
        content: MailContent,
        to: str,
        site_name: str,
        headers: Sequence[tuple[str, str]] = (),
    ) -> str:
        """Queue a message (delivered in the background); returns its id."""
        envelope = compose(
            content, to, self.mail_from, site_name, self.delivery.clock.time(), headers
        )
        mail_id = await self.queue.enqueue(envelope)
        self.delivery.wake()
        return mail_id


class MailDelivery:
    """The loop every instance runs: claim due messages, send them, acknowledge.

    Sending happens in a thread of its own (smtplib blocks). On shutdown the message being
    sent is finished first; anything claimed and not acknowledged goes back to the queue
    when its claim times out, and another instance sends it.
    """

    def __init__(
        self,
        queue: MailQueue,
        transport: Transport,
        clock: Clock = SYSTEM_CLOCK,
        poll_seconds: float = 2.0,
        batch: int = 10,
    ) -> None:
        self.queue = queue
        self.transport = transport
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blog-mail")
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_purge = 0.0

    def start(self) -> None:
        """Begin delivering in the background."""
        log.info("mail: delivering through %s", self.transport)
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.ensure_future(self._run())

    def wake(self) -> None:
        """A message was queued here: look at once instead of at the next poll."""
        if self._wake is not None:
            self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the message being sent (at most ``timeout`` s), then stop."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            task, self._task = self._task, None
            try:
                await asyncio.wait_for(task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("mail: delivery stopped while sending")
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def deliver_due(self) -> int:
        """Claim and send what is due now; how many messages were sent."""
        sent = 0
        while not self._stopping:
            claimed = await self.queue.claim(self.batch)
            if not claimed:
                break
            for mail in claimed:
                sent += await self._send(mail)
            if len(claimed) < self.batch:
                break
        return sent

    async def _send(self, mail: QueuedMail) -> int:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self._executor, self.transport.send, mail.sender, mail.recipients, mail.raw
            )
        except Exception as exc:  # any failure of the transport is a failed try
            error = f"{type(exc).__name__}: {exc}"
            status = await self.queue.failed(mail, error)
            level = logging.ERROR if status == FAILED else logging.WARNING
            log.log(level, "mail %s to %s: %s (%s)", mail.id, mail.recipients, error, status)
            return 0
        if not await self.queue.delivered(mail):
            log.warning("mail %s: sent after its claim expired", mail.id)
        log.info("mail %s sent to %s", mail.id, ", ".join(mail.recipients))
        return 1

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.deliver_due()
                if self.clock.time() - self._last_purge > 3600:
                    self._last_purge = self.clock.time()
                    await self.queue.purge_sent()
            except Unavailable as exc:
                log.warning("mail: queue unavailable (%s); retrying", exc)
            except Exception:
                log.exception("mail: delivery failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
