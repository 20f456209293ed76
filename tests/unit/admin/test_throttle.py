"""Sign-in throttling: memory and Redis behave the same, and Redis shares the count."""

from __future__ import annotations

import asyncio

from extends.redis import RedisClient
from extends.throttle import MemoryThrottle, RedisThrottle, _wait, sign_in_keys


def test_wait_is_zero_below_the_limit_and_counts_down_from_the_oldest_failure():
    now = 1000.0
    assert _wait([now - 10] * 4, now, 5, 900) == 0
    assert _wait([now - 100, now - 50, now - 40, now - 30, now - 20], now, 5, 900) == 800
    assert _wait([now - 1000] * 5, now, 5, 900) == 0  # all outside the window


def test_keys_name_the_user_case_blind_and_the_address():
    assert sign_in_keys("  Admin ", "10.0.0.1") == ["user:admin", "ip:10.0.0.1"]


async def _exercise(throttle) -> list[int]:
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


def _check(waits: list[int]) -> None:
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert 890 <= waits[5] <= 900  # blocked for (about) the 15-minute window
    assert waits[6] > 0  # the same address with another name is blocked too
    assert waits[7] == 0  # another name from another address is not
    assert waits[8] == 0  # reset forgets


def test_memory_throttle():
    _check(asyncio.run(_exercise(MemoryThrottle())))


def test_redis_throttle(redis_url):
    async def run() -> list[int]:
        client = RedisClient(redis_url)
        try:
            return await _exercise(RedisThrottle(client))
        finally:
            client.close()

    _check(asyncio.run(run()))


def test_redis_throttle_is_shared_between_clients(redis_url):
    async def run() -> int:
        first, second = RedisClient(redis_url), RedisClient(redis_url)
        try:
            for client in (first, second, first, second, first):
                await RedisThrottle(client).record_failure(["user:ada"])
            return await RedisThrottle(second).retry_after(["user:ada"])
        finally:
            first.close()
            second.close()

    assert asyncio.run(run()) > 0
