"""The shared rate limit: memory and a real redis-server alike; Redis never overshoots."""

import asyncio

import pytest

from extends.ratelimit import MemoryRateLimit, RedisRateLimit, build_rate_limit
from extends.redis import RedisClient
from tests.support.clock import FakeClock


@pytest.fixture(params=["memory", "redis"])
def make_limit(request):
    """``make_limit(limit, window)`` on a FakeClock (``make_limit.clock``), in either home."""
    clock = FakeClock()
    clients = []

    def make(limit, window):
        if request.param == "memory":
            return MemoryRateLimit(limit, window, clock)
        client = RedisClient(request.getfixturevalue("redis_url"))
        clients.append(client)
        return RedisRateLimit(client, limit, window, "test:", clock)

    make.clock = clock
    yield make
    for client in clients:
        client.close()


def test_a_few_hits_pass_then_the_wait_is_given(make_limit):
    async def scenario():
        limit = make_limit(2, 60)
        hits = [await limit.hit("1.2.3.4") for _ in range(3)]
        return hits, await limit.hit("5.6.7.8")

    (first, second, third), other_key = asyncio.run(scenario())
    assert first == second == 0
    assert third == 60
    assert other_key == 0


def test_the_window_slides_with_the_clock(make_limit):
    async def scenario():
        limit = make_limit(2, 60)
        clock = make_limit.clock
        await limit.hit("k")
        clock.advance(40)
        await limit.hit("k")
        refused = await limit.hit("k")  # the first hit leaves the window in 20 s
        clock.advance(19.5)
        still = await limit.retry_after("k")
        clock.advance(0.6)
        allowed = await limit.hit("k")
        blocked_again = await limit.retry_after("k")  # the second hit leaves in 40 s
        return refused, still, allowed, blocked_again

    refused, still, allowed, blocked_again = asyncio.run(scenario())
    assert refused == 20
    assert still == 1
    assert allowed == 0
    assert blocked_again == 40


def test_a_refused_hit_is_not_counted(make_limit):
    async def scenario():
        limit = make_limit(1, 10)
        await limit.hit("k")
        for _ in range(5):
            await limit.hit("k")
        make_limit.clock.advance(10)
        return await limit.hit("k")

    assert asyncio.run(scenario()) == 0


def test_retry_after_only_looks_and_reset_forgets(make_limit):
    async def scenario():
        limit = make_limit(2, 60)
        peeks = [await limit.retry_after("k") for _ in range(5)]
        await limit.hit("k")
        await limit.hit("k")
        blocked = await limit.retry_after("k")
        await limit.reset("k")
        return peeks, blocked, await limit.retry_after("k"), await limit.hit("k")

    peeks, blocked, after_reset, hit = asyncio.run(scenario())
    assert peeks == [0] * 5
    assert blocked == 60
    assert after_reset == hit == 0


def test_concurrent_hits_from_several_instances_never_overshoot(redis_url):
    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(4)]
        clock = FakeClock()
        limits = [build_rate_limit([client], 5, 60, "test:", clock) for client in clients]
        results = await asyncio.gather(*(limits[n % 4].hit("1.2.3.4") for n in range(20)))
        for client in clients:
            client.close()
        return results

    results = asyncio.run(scenario())
    assert results.count(0) == 5
    assert all(0 < wait <= 60 for wait in results if wait)


def test_without_redis_the_limit_is_kept_in_memory():
    assert isinstance(build_rate_limit([], 5, 60, "test:"), MemoryRateLimit)


def test_redis_down_is_reported_not_guessed(redis_server):
    from extends.errors import Unavailable

    async def scenario():
        client = RedisClient(redis_server.url)
        limit = build_rate_limit([client], 5, 60, "test:")
        redis_server.stop()
        try:
            await limit.hit("k")
        except Unavailable as exc:
            return exc
        finally:
            redis_server.start()
            client.close()
        return None

    assert asyncio.run(scenario()) is not None
