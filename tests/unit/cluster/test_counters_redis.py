"""Redis counters: views from every instance add up; a flush neither loses nor doubles."""

import asyncio
import datetime as dt

from extends.counters_redis import RedisCounters
from extends.redis import RedisClient

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
        # The old leader drains, then dies before writing: its batch stays in Redis.
        old_leader = RedisCounters(clients[0], orphan_after_seconds=0.2)
        new_leader = RedisCounters(clients[1], orphan_after_seconds=0.2)
        for _ in range(4):
            await old_leader.record(DAY, "a", 9)
        abandoned = await old_leader.drain()
        await new_leader.record(DAY, "b", None)
        too_early = await new_leader.drain()  # the abandoned batch might still be in flight
        await new_leader.commit(too_early)
        await asyncio.sleep(0.3)
        await new_leader.record(DAY, "c", None)
        later = await new_leader.drain()
        await new_leader.commit(later)
        nothing_left = await new_leader.drain()
        for client in clients:
            client.close()
        return abandoned, too_early, later, nothing_left

    abandoned, too_early, later, nothing_left = asyncio.run(scenario())
    assert abandoned.page_views == {DAY: 4}
    assert too_early.page_views == {DAY: 1}
    assert later.page_views == {DAY: 5} and later.article_views == {9: 4}
    assert nothing_left.is_empty()


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
        after = await counters.drain()
        client.close()
        return failed, retried, after

    failed, retried, after = asyncio.run(scenario())
    assert failed.page_views == {DAY: 1}
    assert retried.page_views == {DAY: 2} and retried.article_views == {3: 1}
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
        return failed, retried, after

    failed, retried, after = asyncio.run(scenario())
    assert failed.page_views == {DAY: 1}
    assert retried.page_views == {DAY: 2} and retried.unique_visitors == {DAY: 2}
    assert after.page_views == {DAY: 1} and after.unique_visitors == {DAY: 2}
