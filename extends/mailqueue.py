"""The outgoing mail queue: durable, shared by every instance, one sender per message at a time.

One interface, two homes: Redis when configured (a sorted set of message ids scored by when
each may next be claimed, plus a hash per message) and the database otherwise (the
``outgoing_mail`` table). A sender *claims* due messages: the claim moves the message's time
to "claimed until now + visibility timeout" in one atomic step (a Lua script, or an UPDATE …
WHERE available_at <= now), so two instances never claim the same message, and a message
whose sender died is claimed again once the timeout passes. Acknowledging (sent, or failed
and rescheduled) only counts with the claim's token: a sender that lost its claim cannot
undo what the next one did. Time comes from the injected ``Clock``.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from extends.clock import SYSTEM_CLOCK, Clock
from extends.errors import Unavailable
from extends.redis import RedisClient, RedisUnavailable, as_int, as_list
from model.mail import OutgoingMail

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"

MAX_ERROR = 500


class MailQueueUnavailable(Unavailable):
    """The queue's store (Redis) cannot be reached."""

    user_message = "Sending email is unavailable for a moment. Please retry soon."


@dataclass(frozen=True)
class Envelope:
    """A message ready to queue: who sends it, to whom, and its bytes (RFC 5322)."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    raw: bytes


@dataclass(frozen=True)
class QueuedMail:
    """One message in the queue, as a sender or the outbox page sees it."""

    id: str
    status: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    raw: bytes
    attempts: int
    last_error: str
    created_at: float
    available_at: float
    finished_at: float | None
    claim_token: str = ""

    def text_body(self) -> str:
        """The plain-text part, as the recipient reads it (the outbox page shows it)."""
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        return str(part.get_content()) if part is not None else ""


@dataclass(frozen=True)
class Outbox:
    """What the admin's outbox page lists."""

    pending: list[QueuedMail]
    sent: list[QueuedMail]
    failed: list[QueuedMail]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a message is tried."""

    max_attempts: int = 6
    first_delay: float = 30.0
    max_delay: float = 3600.0
    # Longer than any SMTP conversation (the transport's timeout), so a live sender keeps it.
    visibility_timeout: float = 120.0
    keep_sent: float = 7 * 86400.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones (exponential)."""
        return float(min(self.max_delay, self.first_delay * 2 ** min(max(attempts - 1, 0), 30)))


class MailQueue(Protocol):
    """A durable queue of outgoing messages that any instance may deliver."""

    policy: RetryPolicy

    async def enqueue(self, envelope: Envelope) -> str:
        """Queue a message, due now; returns its id."""
        ...

    async def claim(self, limit: int) -> list[QueuedMail]:
        """Take up to ``limit`` due messages for this sender until the visibility timeout."""
        ...

    async def delivered(self, mail: QueuedMail) -> bool:
        """Mark a claimed message sent; False when the claim was lost (nothing changes)."""
        ...

    async def failed(self, mail: QueuedMail, error: str) -> str:
        """Record a failed try: rescheduled with backoff (``queued``) or kept as ``failed``.

        Returns the new status, or "" when the claim was lost.
        """
        ...

    async def retry(self, mail_id: str) -> bool:
        """Queue a failed message again, due now; False when it is not a failed message."""
        ...

    async def outbox(self, limit: int = 20) -> Outbox:
        """Pending messages (soonest first), recently sent and failed ones (newest first)."""
        ...

    async def purge_sent(self) -> int:
        """Forget sent messages older than ``policy.keep_sent``; how many went."""
        ...


def _to_datetime(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def _available_at(seconds: float) -> dt.datetime:
    # Rounded up to a whole second: MariaDB's DATETIME keeps no fraction, and a claim or a
    # backoff must never end early.
    return _to_datetime(math.ceil(seconds))


def _to_seconds(value: dt.datetime) -> float:
    return value.replace(tzinfo=dt.UTC).timestamp()


# --- the database ---------------------------------------------------------------------------


# ``Application.run_service``: ``await run(fn, *args)`` calls ``fn(session, *args)`` in the
# executor with a fresh database session.
SessionRunner = Callable[..., Awaitable[Any]]


def _from_row(row: OutgoingMail) -> QueuedMail:
    return QueuedMail(
        id=row.id,
        status=row.status,
        sender=row.sender,
        recipients=tuple(row.recipients.split("\n")) if row.recipients else (),
        subject=row.subject,
        raw=row.raw.encode("utf-8", "surrogateescape"),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=_to_seconds(row.created_at),
        available_at=_to_seconds(row.available_at),
        finished_at=_to_seconds(row.finished_at) if row.finished_at else None,
        claim_token=row.claim_token,
    )


def _db_enqueue(session: Session, envelope: Envelope, now: float) -> str:
    mail_id = secrets.token_hex(16)
    session.add(
        OutgoingMail(
            id=mail_id,
            status=QUEUED,
            available_at=_to_datetime(now),
            claim_token="",
            attempts=0,
            sender=envelope.sender,
            recipients="\n".join(envelope.recipients),
            subject=envelope.subject[:255],
            raw=envelope.raw.decode("utf-8", "surrogateescape"),
            last_error="",
            created_at=_to_datetime(now),
        )
    )
    session.commit()
    return mail_id


def _db_claim(session: Session, now: float, limit: int, visibility: float) -> list[QueuedMail]:
    due = _to_datetime(now)
    candidates = session.scalars(
        select(OutgoingMail.id)
        .where(OutgoingMail.status.in_((QUEUED, SENDING)), OutgoingMail.available_at <= due)
        .order_by(OutgoingMail.available_at)
        .limit(limit)
    ).all()
    claimed = []
    for mail_id in candidates:
        token = secrets.token_hex(16)
        # The WHERE repeats the due test: of two instances racing, one UPDATE matches.
        result = session.execute(
            update(OutgoingMail)
            .where(
                OutgoingMail.id == mail_id,
                OutgoingMail.status.in_((QUEUED, SENDING)),
                OutgoingMail.available_at <= due,
            )
            .values(
                status=SENDING,
                claim_token=token,
                available_at=_available_at(now + visibility),
                attempts=OutgoingMail.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if getattr(result, "rowcount", 0) == 1:
            row = session.get(OutgoingMail, mail_id, populate_existing=True)
            if row is not None:
                claimed.append(_from_row(row))
    return claimed


def _db_finish(session: Session, mail: QueuedMail, values: dict[str, Any]) -> bool:
    result = session.execute(
        update(OutgoingMail)
        .where(
            OutgoingMail.id == mail.id,
            OutgoingMail.status == SENDING,
            OutgoingMail.claim_token == mail.claim_token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _db_retry(session: Session, mail_id: str, now: float) -> bool:
    result = session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, OutgoingMail.status == FAILED)
        .values(status=QUEUED, attempts=0, available_at=_to_datetime(now), finished_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _db_outbox(session: Session, limit: int) -> Outbox:
    def listed(statuses: Sequence[str], newest_first: bool) -> list[QueuedMail]:
        order = OutgoingMail.finished_at.desc() if newest_first else OutgoingMail.available_at.asc()
        rows = session.scalars(
            select(OutgoingMail).where(OutgoingMail.status.in_(statuses)).order_by(order)
        ).all()
        return [_from_row(row) for row in rows[:limit]]

    return Outbox(
        pending=listed((QUEUED, SENDING), newest_first=False),
        sent=listed((SENT,), newest_first=True),
        failed=listed((FAILED,), newest_first=True),
    )


def _db_purge_sent(session: Session, before: float) -> int:
    result = session.execute(
        delete(OutgoingMail)
        .where(OutgoingMail.status == SENT, OutgoingMail.finished_at < _to_datetime(before))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0))


class DatabaseMailQueue:
    """The queue as rows of ``outgoing_mail`` (no Redis): durable, shared by every instance
    on the same database. Work runs in the executor, like every database call."""

    def __init__(
        self, run: SessionRunner, policy: RetryPolicy, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.run = run
        self.policy = policy
        self.clock = clock

    async def enqueue(self, envelope: Envelope) -> str:
        mail_id: str = await self.run(_db_enqueue, envelope, self.clock.time())
        return mail_id

    async def claim(self, limit: int) -> list[QueuedMail]:
        claimed: list[QueuedMail] = await self.run(
            _db_claim, self.clock.time(), limit, self.policy.visibility_timeout
        )
        return claimed

    async def delivered(self, mail: QueuedMail) -> bool:
        now = _to_datetime(self.clock.time())
        values = {"status": SENT, "finished_at": now, "available_at": now, "claim_token": ""}
        return bool(await self.run(_db_finish, mail, values))

    async def failed(self, mail: QueuedMail, error: str) -> str:
        now = self.clock.time()
        values: dict[str, Any] = {"claim_token": "", "last_error": error[:MAX_ERROR]}
        if mail.attempts >= self.policy.max_attempts:
            values.update(status=FAILED, finished_at=_to_datetime(now))
        else:
            values.update(
                status=QUEUED, available_at=_available_at(now + self.policy.delay(mail.attempts))
            )
        changed = await self.run(_db_finish, mail, values)
        return str(values["status"]) if changed else ""

    async def retry(self, mail_id: str) -> bool:
        return bool(await self.run(_db_retry, mail_id, self.clock.time()))

    async def outbox(self, limit: int = 20) -> Outbox:
        outbox: Outbox = await self.run(_db_outbox, limit)
        return outbox

    async def purge_sent(self) -> int:
        return int(await self.run(_db_purge_sent, self.clock.time() - self.policy.keep_sent))


# --- Redis ----------------------------------------------------------------------------------

# KEYS[1]: the due set. ARGV: now, limit, claimed-until, the hash prefix, then one claim token
# per message that may be claimed. Due ids move to "claimed until" and get a token: atomic.
_CLAIM_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local claimed = {}
for i, id in ipairs(ids) do
  local key = ARGV[4] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    redis.call('HSET', key, 'status', 'sending', 'token', ARGV[4 + i], 'available_at', ARGV[3])
    redis.call('HINCRBY', key, 'attempts', 1)
    table.insert(claimed, redis.call('HGETALL', key))
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed
"""

# KEYS: the message's hash, the due set, the sent set. ARGV: id, token, now, seconds kept.
_DELIVERED_SCRIPT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'sending'
    or redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'sent', 'finished_at', ARGV[3], 'token', '')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[4]))
return 1
"""

# KEYS: the message's hash, the due set, the failed set. ARGV: id, token, now, error,
# max attempts, next try. Returns 0 (claim lost), 1 (rescheduled) or 2 (kept as failed).
_FAILED_SCRIPT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'sending'
    or redis.call('HGET', KEYS[1], 'token') ~= ARGV[2] then
  return 0
end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts'))
if attempts >= tonumber(ARGV[5]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HSET', KEYS[1], 'status', 'failed', 'finished_at', ARGV[3], 'token', '',
             'last_error', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  return 2
end
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'queued', 'available_at', ARGV[6], 'token', '',
           'last_error', ARGV[4])
return 1
"""

# KEYS: the message's hash, the due set, the failed set. ARGV: id, now.
_RETRY_SCRIPT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'failed' then
  return 0
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', 0, 'available_at', ARGV[2],
           'finished_at', '')
return 1
"""


def _score(seconds: float) -> str:
    return f"{seconds:.6f}"


def _from_hash(reply: list[Any]) -> QueuedMail | None:
    fields = {bytes(reply[i]).decode(): bytes(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}
    if "raw" not in fields:
        return None

    def text(name: str) -> str:
        return fields.get(name, b"").decode("utf-8", "replace")

    recipients = text("recipients")
    finished = text("finished_at")
    return QueuedMail(
        id=text("id"),
        status=text("status"),
        sender=text("sender"),
        recipients=tuple(recipients.split("\n")) if recipients else (),
        subject=text("subject"),
        raw=fields["raw"],
        attempts=int(text("attempts") or 0),
        last_error=text("last_error"),
        created_at=float(text("created_at") or 0),
        available_at=float(text("available_at") or 0),
        finished_at=float(finished) if finished else None,
        claim_token=text("token"),
    )


class RedisMailQueue:
    """The queue in Redis: ``<prefix>due`` (a sorted set of ids by due/claimed-until time),
    ``<prefix>sent`` and ``<prefix>failed`` (ids by when), ``<prefix>m:<id>`` (a hash per
    message). Durable as far as Redis is (the launcher's Redis keeps an append-only file)."""

    def __init__(
        self,
        client: RedisClient,
        policy: RetryPolicy,
        clock: Clock = SYSTEM_CLOCK,
        prefix: str = "mail:",
    ) -> None:
        self.client = client
        self.policy = policy
        self.clock = clock
        self.prefix = prefix
        self.due_key = prefix + "due"
        self.sent_key = prefix + "sent"
        self.failed_key = prefix + "failed"

    def _key(self, mail_id: str) -> str:
        return f"{self.prefix}m:{mail_id}"

    async def _eval(self, script: str, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        try:
            return await self.client.eval(script, keys, args)
        except RedisUnavailable as exc:
            raise MailQueueUnavailable(str(exc)) from exc

    async def enqueue(self, envelope: Envelope) -> str:
        mail_id = secrets.token_hex(16)
        now = _score(self.clock.time())
        fields: list[str | bytes | int] = [
            "id", mail_id, "status", QUEUED, "sender", envelope.sender,
            "recipients", "\n".join(envelope.recipients), "subject", envelope.subject,
            "raw", envelope.raw, "attempts", 0, "last_error", "", "created_at", now,
            "available_at", now, "finished_at", "", "token", "",
        ]  # fmt: skip
        try:
            # One MULTI/EXEC: the message is never in the due set without its hash.
            await self.client.pipeline(
                ("MULTI",),
                ("HSET", self._key(mail_id), *fields),
                ("ZADD", self.due_key, now, mail_id),
                ("EXEC",),
            )
        except RedisUnavailable as exc:
            raise MailQueueUnavailable(str(exc)) from exc
        return mail_id

    async def claim(self, limit: int) -> list[QueuedMail]:
        now = self.clock.time()
        tokens = [secrets.token_hex(16) for _ in range(limit)]
        reply = await self._eval(
            _CLAIM_SCRIPT,
            [self.due_key],
            [
                _score(now),
                limit,
                _score(now + self.policy.visibility_timeout),
                self.prefix + "m:",
                *tokens,
            ],
        )
        claimed = [_from_hash(as_list(item)) for item in as_list(reply)]
        return [mail for mail in claimed if mail is not None]

    async def delivered(self, mail: QueuedMail) -> bool:
        reply = await self._eval(
            _DELIVERED_SCRIPT,
            [self._key(mail.id), self.due_key, self.sent_key],
            [mail.id, mail.claim_token, _score(self.clock.time()), int(self.policy.keep_sent)],
        )
        return as_int(reply) == 1

    async def failed(self, mail: QueuedMail, error: str) -> str:
        now = self.clock.time()
        reply = await self._eval(
            _FAILED_SCRIPT,
            [self._key(mail.id), self.due_key, self.failed_key],
            [
                mail.id,
                mail.claim_token,
                _score(now),
                error[:MAX_ERROR],
                self.policy.max_attempts,
                _score(now + self.policy.delay(mail.attempts)),
            ],
        )
        return {0: "", 1: QUEUED, 2: FAILED}[as_int(reply)]

    async def retry(self, mail_id: str) -> bool:
        reply = await self._eval(
            _RETRY_SCRIPT,
            [self._key(mail_id), self.due_key, self.failed_key],
            [mail_id, _score(self.clock.time())],
        )
        return as_int(reply) == 1

    async def _load(self, ids: list[Any]) -> list[QueuedMail]:
        if not ids:
            return []
        try:
            replies = await self.client.pipeline(
                *[("HGETALL", self._key(bytes(mail_id).decode())) for mail_id in ids]
            )
        except RedisUnavailable as exc:
            raise MailQueueUnavailable(str(exc)) from exc
        loaded = [_from_hash(as_list(reply)) for reply in replies]
        return [mail for mail in loaded if mail is not None]

    async def outbox(self, limit: int = 20) -> Outbox:
        try:
            due, sent, failed = await self.client.pipeline(
                ("ZRANGE", self.due_key, 0, limit - 1),
                ("ZREVRANGE", self.sent_key, 0, limit - 1),
                ("ZREVRANGE", self.failed_key, 0, limit - 1),
            )
        except RedisUnavailable as exc:
            raise MailQueueUnavailable(str(exc)) from exc
        return Outbox(
            pending=await self._load(as_list(due)),
            sent=await self._load(as_list(sent)),
            failed=await self._load(as_list(failed)),
        )

    async def purge_sent(self) -> int:
        # Each sent message's hash expires by itself; only the index needs trimming.
        before = _score(self.clock.time() - self.policy.keep_sent)
        try:
            return as_int(await self.client.call("ZREMRANGEBYSCORE", self.sent_key, "-inf", before))
        except RedisUnavailable as exc:
            raise MailQueueUnavailable(str(exc)) from exc


def build_mail_queue(
    redis_client: RedisClient | None,
    run: SessionRunner,
    policy: RetryPolicy,
    clock: Clock = SYSTEM_CLOCK,
) -> MailQueue:
    """Redis when configured, else the database table."""
    if redis_client is not None:
        return RedisMailQueue(redis_client, policy, clock)
    return DatabaseMailQueue(run, policy, clock)
