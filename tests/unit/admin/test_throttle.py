"""Sign-in throttling: memory and Redis behave the same, and Redis shares the count."""

from __future__ import annotations

import asyncio

import pytest

from extends.redis import RedisClient
from extends.throttle import WINDOW_SECONDS, build_throttle, sign_in_keys
from tests.support.clock import FakeClock


def test_keys_name_the_user_case_blind_and_the_address():
    assert sign_in_keys("  Admin ", "10.0.0.1") == ["user:admin", "ip:10.0.0.1"]


@pytest.fixture(params=["memory", "redis"])
def redis_clients(request):
    """No Redis (the throttle lives in memory), then a real redis-server."""
    if request.param == "memory":
        yield []
        return
    client = RedisClient(request.getfixturevalue("redis_url"))
    yield [client]
    client.close()


def test_five_failures_block_the_name_and_the_address_until_reset(redis_clients):
    async def scenario() -> list[int]:
        throttle = build_throttle(redis_clients, FakeClock())
        keys = ["user:ada", "ip:1.2.3.4"]
        waits = []
        for _ in range(5):
            waits.append(await throttle.retry_after(keys))
            await throttle.record_failure(keys)
        waits.append(await throttle.retry_after(keys))
        waits.append(await throttle.retry_after(["user:someone-else", "ip:1.2.3.4"]))
        waits.append(await throttle.retry_after(["user:someone-else", "ip:5.6.7.8"]))
        await throttle.reset(keys)
        waits.append(await throttle.retry_after(keys))
        return waits

    waits = asyncio.run(scenario())
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert waits[5] == WINDOW_SECONDS  # blocked for the 15-minute window
    assert waits[6] > 0  # the same address with another name is blocked too
    assert waits[7] == 0  # another name from another address is not
    assert waits[8] == 0  # reset forgets


def test_the_wait_counts_down_from_the_oldest_failure_that_counts(redis_clients):
    async def scenario() -> list[int]:
        clock = FakeClock()
        throttle = build_throttle(redis_clients, clock)
        for _ in range(5):
            await throttle.record_failure(["user:ada"])
            clock.advance(10)
        waits = [await throttle.retry_after(["user:ada"])]
        clock.advance(WINDOW_SECONDS - 50 - 1)
        waits.append(await throttle.retry_after(["user:ada"]))
        clock.advance(1)
        waits.append(await throttle.retry_after(["user:ada"]))
        return waits

    # Five failures 10 s apart; 50 s later the first has WINDOW - 50 s left to count.
    assert asyncio.run(scenario()) == [WINDOW_SECONDS - 50, 1, 0]


def test_redis_throttle_is_shared_between_instances(redis_url):
    async def run() -> int:
        first, second = RedisClient(redis_url), RedisClient(redis_url)
        clock = FakeClock()
        try:
            for client in (first, second, first, second, first):
                await build_throttle([client], clock).record_failure(["user:ada"])
            return await build_throttle([second], clock).retry_after(["user:ada"])
        finally:
            first.close()
            second.close()

    assert asyncio.run(run()) > 0
