"""The outgoing mail queue, in the database (SQLite, MariaDB) and in a real Redis alike:
claims are exclusive, a dead sender's claim times out, retries back off, failures are kept."""

import asyncio
import secrets

import pytest

from commands import upgrade_database
from extends.database import make_engine, make_sessionmaker
from extends.mailqueue import (
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    DatabaseMailQueue,
    Envelope,
    RedisMailQueue,
    RetryPolicy,
)
from extends.redis import RedisClient
from tests.conftest import _fresh_database
from tests.support.clock import FakeClock
from tests.support.live import make_settings

POLICY = RetryPolicy(max_attempts=3, first_delay=30, max_delay=600, visibility_timeout=120)


def envelope(subject="Hello", to="reader@example.org"):
    raw = f"From: blog@example.org\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nBody\r\n".encode()
    return Envelope("blog@example.org", (to,), subject, raw)


@pytest.fixture(params=["sqlite", "mariadb", "redis"])
def make_queue(request, tmp_path):
    """``make_queue()``: a fresh queue on a FakeClock (``make_queue.clock``)."""
    clock = FakeClock()
    cleanup = []

    def make():
        if request.param == "redis":
            client = RedisClient(request.getfixturevalue("redis_url"))
            cleanup.append(client.close)
            # Each test its own keys: the session's Redis keeps other tests' messages.
            prefix = f"mail-test-{secrets.token_hex(4)}:"
            return RedisMailQueue(client, POLICY, clock, prefix=prefix)
        url = _fresh_database(request.param, request, tmp_path)
        upgrade_database(make_settings(tmp_path, url))
        engine = make_engine(url, pool_size=2)
        cleanup.append(engine.dispose)
        sessions = make_sessionmaker(engine)

        async def run(fn, *args):
            with sessions() as session:
                return fn(session, *args)

        return DatabaseMailQueue(run, POLICY, clock)

    make.clock = clock
    yield make
    for close in cleanup:
        close()


def test_a_claimed_message_is_nobody_elses_until_its_claim_times_out(make_queue):
    async def scenario():
        queue = make_queue()
        clock = make_queue.clock
        mail_id = await queue.enqueue(envelope())
        first = await queue.claim(10)
        second = await queue.claim(10)  # another instance, at the same moment
        clock.advance(POLICY.visibility_timeout - 5)
        still_held = await queue.claim(10)
        clock.advance(10)  # the first sender died: its claim has timed out
        taken_over = await queue.claim(10)
        late_ack = await queue.delivered(first[0])  # the first sender wakes up: too late
        ack = await queue.delivered(taken_over[0])
        clock.advance(POLICY.visibility_timeout * 3)
        after = await queue.claim(10)
        return mail_id, first, second, still_held, taken_over, late_ack, ack, after

    mail_id, first, second, still_held, taken_over, late_ack, ack, after = asyncio.run(scenario())
    assert [mail.id for mail in first] == [mail_id]
    assert first[0].status == SENDING and first[0].raw.endswith(b"Body\r\n")
    assert second == [] and still_held == []
    assert [mail.id for mail in taken_over] == [mail_id]
    assert taken_over[0].claim_token != first[0].claim_token
    assert late_ack is False and ack is True
    assert after == []


def test_failures_back_off_then_the_message_is_kept_as_failed_and_can_be_retried(make_queue):
    async def scenario():
        queue = make_queue()
        clock = make_queue.clock
        mail_id = await queue.enqueue(envelope("Retry me"))
        statuses, waits = [], []
        for _attempt in range(POLICY.max_attempts):
            (mail,) = await queue.claim(10)
            statuses.append(await queue.failed(mail, "SMTPServerDisconnected: gone"))
            outbox = await queue.outbox()
            if outbox.pending:
                waits.append(outbox.pending[0].available_at - clock.time())
                assert await queue.claim(10) == []  # not before its backoff
                clock.advance(outbox.pending[0].available_at - clock.time())
        outbox = await queue.outbox()
        retried = await queue.retry(mail_id)
        retried_twice = await queue.retry(mail_id)
        (again,) = await queue.claim(10)
        delivered = await queue.delivered(again)
        return (
            statuses,
            waits,
            outbox,
            retried,
            retried_twice,
            again,
            delivered,
            await queue.outbox(),
        )

    statuses, waits, failed_box, retried, twice, again, delivered, final = asyncio.run(scenario())
    assert statuses == [QUEUED, QUEUED, FAILED]
    # (a database keeps whole seconds, rounded up: never early)
    # (Redis keeps the time as a float: 29.9999995 is 30)
    assert [29.999 <= waits[0] <= 31, 59.999 <= waits[1] <= 61] == [True, True], waits
    assert failed_box.pending == [] and len(failed_box.failed) == 1
    assert failed_box.failed[0].status == FAILED
    assert failed_box.failed[0].last_error == "SMTPServerDisconnected: gone"
    assert failed_box.failed[0].subject == "Retry me"
    assert retried is True and twice is False
    assert again.attempts == 1
    assert delivered is True
    assert final.failed == [] and [mail.status for mail in final.sent] == [SENT]


def test_the_outbox_lists_pending_sent_and_failed_with_their_text(make_queue):
    async def scenario():
        queue = make_queue()
        for n in range(3):
            await queue.enqueue(envelope(f"Message {n}", to=f"r{n}@example.org"))
            make_queue.clock.advance(1)
        (first,) = await queue.claim(1)
        await queue.delivered(first)
        return await queue.outbox()

    outbox = asyncio.run(scenario())
    assert [mail.subject for mail in outbox.pending] == ["Message 1", "Message 2"]
    assert [mail.recipients for mail in outbox.sent] == [("r0@example.org",)]
    assert outbox.sent[0].text_body().strip() == "Body"


def test_sent_messages_are_forgotten_after_the_keeping_time(make_queue):
    async def scenario():
        queue = make_queue()
        await queue.enqueue(envelope())
        (mail,) = await queue.claim(1)
        await queue.delivered(mail)
        make_queue.clock.advance(POLICY.keep_sent + 10)
        await queue.purge_sent()
        return await queue.outbox()

    assert asyncio.run(scenario()).sent == []
