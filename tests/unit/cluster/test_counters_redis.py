"""Redis counters: views from every instance add up; a flush neither loses nor doubles."""

import asyncio
import datetime as dt

from extends.counters_redis import ORPHAN_AFTER_SECONDS, RedisCounters
from extends.redis import RedisClient
from tests.support.clock import FakeClock

DAY = dt.date(2026, 3, 14)
NEXT_DAY = dt.date(2026, 3, 15)


def test_views_from_several_instances_add_up(redis_url):
    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(3)]
        counters = [RedisCounters(client) for client in clients]
        for number in range(30):
            instance = counters[number % 3]
            await instance.record(DAY, f"visitor-{number % 7}", 5 if number % 2 else None)
        today = await counters[1].today(DAY)
        pending = await counters[2].drain()
        await counters[2].commit(pending)
        after = await counters[0].drain()
        for client in clients:
            client.close()
        return today, pending, after

    today, pending, after = asyncio.run(scenario())
    assert (today.page_views, today.unique_visitors) == (30, 7)
    assert pending.page_views == {DAY: 30}
    assert pending.unique_visitors == {DAY: 7}
    assert pending.article_views == {5: 15}
    assert after.is_empty() and after.batch == ""


def test_views_recorded_during_a_flush_wait_for_the_next(redis_url):
    async def scenario():
        client = RedisClient(redis_url)
        counters = RedisCounters(client)
        await counters.record(DAY, "a", 1)
        first = await counters.drain()
        await counters.record(DAY, "b", 1)
        await counters.record(NEXT_DAY, "c", None)
        await counters.commit(first)
        second = await counters.drain()
        await counters.commit(second)
        client.close()
        return first, second

    first, second = asyncio.run(scenario())
    assert first.page_views == {DAY: 1} and first.article_views == {1: 1}
    assert second.page_views == {DAY: 1, NEXT_DAY: 1} and second.article_views == {1: 1}
    # Unique visitors are the day's total so far, not an increment.
    assert second.unique_visitors == {DAY: 2, NEXT_DAY: 1}


def test_an_uncommitted_flush_is_taken_over_not_lost(redis_url):
    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(2)]
        clock = FakeClock()
        # The old leader drains, then dies before writing: its batch stays in Redis.
        old_leader = RedisCounters(clients[0], clock=clock)
        new_leader = RedisCounters(clients[1], clock=clock)
        for _ in range(4):
            await old_leader.record(DAY, "a", 9)
        abandoned = await old_leader.drain()
        await new_leader.record(DAY, "b", None)
        too_early = await new_leader.drain()  # the abandoned batch might still be in flight
        await new_leader.commit(too_early)
        clock.advance(ORPHAN_AFTER_SECONDS + 1)
        await new_leader.record(DAY, "c", None)
        taken_over = await new_leader.drain()
        await new_leader.commit(taken_over)
        live = await new_leader.drain()
        await new_leader.commit(live)
        nothing_left = await new_leader.drain()
        for client in clients:
            client.close()
        return abandoned, too_early, taken_over, live, nothing_left

    abandoned, too_early, taken_over, live, nothing_left = asyncio.run(scenario())
    assert abandoned.page_views == {DAY: 4}
    assert too_early.page_views == {DAY: 1}
    # The orphan comes back whole, under its own token, before the newer counts.
    assert taken_over.batch == abandoned.batch
    assert taken_over.page_views == {DAY: 4} and taken_over.article_views == {9: 4}
    assert live.page_views == {DAY: 1}
    assert nothing_left.is_empty()


def test_a_batch_written_but_not_committed_is_not_counted_twice(redis_url, db):
    from sqlalchemy import select

    from model import DailyStat
    from service.stats import flush_counters

    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(2)]
        clock = FakeClock()
        old_leader = RedisCounters(clients[0], clock=clock)
        new_leader = RedisCounters(clients[1], clock=clock)
        for visitor in "abcd":
            await old_leader.record(DAY, visitor, 9)
        batch = await old_leader.drain()
        first_write = flush_counters(db, batch)  # the write succeeds, then the leader dies
        clock.advance(ORPHAN_AFTER_SECONDS + 1)
        again = await new_leader.drain()
        second_write = flush_counters(db, again)
        await new_leader.commit(again)
        rest = await new_leader.drain()
        for client in clients:
            client.close()
        return first_write, again, second_write, rest

    first_write, again, second_write, rest = asyncio.run(scenario())
    assert first_write is True
    assert again.page_views == {DAY: 4}  # the new leader is handed the same batch…
    assert second_write is False  # …and the database recognises it
    assert rest.is_empty()
    row = db.scalar(select(DailyStat).where(DailyStat.day == DAY))
    assert (row.pv, row.uv) == (4, 4)


def test_redis_down_loses_the_view_but_not_the_page(redis_server):
    async def scenario():
        client = RedisClient(redis_server.url)
        counters = RedisCounters(client)
        redis_server.stop()
        try:
            await counters.record(DAY, "a", None)  # must not raise
            today = await counters.today(DAY)
        finally:
            redis_server.start()
        client.close()
        return today

    today = asyncio.run(scenario())
    assert (today.page_views, today.unique_visitors) == (0, 0)


def test_a_failed_write_is_drained_again_by_the_same_instance(redis_url):
    async def scenario():
        client = RedisClient(redis_url)
        counters = RedisCounters(client)
        await counters.record(DAY, "a", 3)
        failed = await counters.drain()  # the database write fails: no commit
        await counters.record(DAY, "b", None)
        retried = await counters.drain()
        await counters.commit(retried)
        newer = await counters.drain()
        await counters.commit(newer)
        after = await counters.drain()
        client.close()
        return failed, retried, newer, after

    failed, retried, newer, after = asyncio.run(scenario())
    assert failed.page_views == {DAY: 1}
    assert retried.batch == failed.batch and retried.article_views == {3: 1}
    assert newer.page_views == {DAY: 1} and newer.batch != failed.batch
    assert after.is_empty()


def test_memory_counters_follow_the_same_drain_and_commit_rules():
    from extends.counters import MemoryCounters

    async def scenario():
        counters = MemoryCounters()
        await counters.record(DAY, "a", 3)
        failed = await counters.drain()
        await counters.record(DAY, "b", None)
        retried = await counters.drain()
        await counters.commit(retried)
        await counters.record(DAY, "a", None)
        after = await counters.drain()
        await counters.commit(after)
        return failed, retried, after, await counters.drain()

    failed, retried, after, empty = asyncio.run(scenario())
    assert failed.page_views == {DAY: 1}
    assert retried is failed and retried.batch  # the same batch, same token, again
    assert after.page_views == {DAY: 2} and after.unique_visitors == {DAY: 2}
    assert empty.is_empty()
