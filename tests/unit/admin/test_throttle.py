"""Sign-in throttling on memory and on Redis alike: progressive, per device, per address."""

from __future__ import annotations

import asyncio

import pytest

from extends.redis import RedisClient
from extends.throttle import (
    ADDRESS_RULE,
    CEILING_RULE,
    Throttle,
    ThrottleUnavailable,
    account_key,
    build_throttle,
    fold_name,
)
from tests.support.clock import FakeClock

ADA = "user:1"


def test_names_fold_as_the_database_compares_them():
    assert fold_name("  Admin ") == "admin"
    assert fold_name("ＡＤＭＩＮ") == fold_name("ádmin") == fold_name("AdmÍn") == "admin"
    assert fold_name("Straße") == "strasse"
    assert account_key(7, "whatever") == "user:7"
    assert account_key(None, "ａｄｍｉｎ") == "name:admin"


@pytest.fixture(params=["memory", "redis"])
def make_throttle(request):
    """``make_throttle()`` on one FakeClock (``make_throttle.clock``), in either home."""
    clock = FakeClock()
    clients = []

    def make() -> Throttle:
        if request.param == "memory":
            return build_throttle([], clock)
        client = RedisClient(request.getfixturevalue("redis_url"))
        clients.append(client)
        return build_throttle([client], clock)

    make.clock = clock
    yield make
    for client in clients:
        client.close()


async def waits(throttle: Throttle, count: int, account=ADA, address="10.0.0.1", device=None):
    return [(await throttle.reserve(account, address, device)).wait for _ in range(count)]


def test_failures_past_five_wait_twice_as_long_each_time(make_throttle):
    async def scenario():
        throttle, clock = make_throttle(), make_throttle.clock
        seen = await waits(throttle, 6)
        for delay in (60, 120, 240):
            clock.advance(delay - 1)
            seen += await waits(throttle, 1)  # a second early: still refused
            clock.advance(1)
            seen += await waits(throttle, 2)  # allowed, then the next delay starts
        return seen

    assert asyncio.run(scenario()) == [0, 0, 0, 0, 0, 60, 1, 0, 120, 1, 0, 240, 1, 0, 480]


def test_the_delay_stops_growing_at_an_hour(make_throttle):
    async def scenario():
        throttle, clock = make_throttle(), make_throttle.clock
        await waits(throttle, 5)
        for _ in range(8):
            wait = (await throttle.reserve(ADA, "10.0.0.1")).wait
            clock.advance(wait)
            assert (await throttle.reserve(ADA, "10.0.0.1")).wait == 0
        return (await throttle.reserve(ADA, "10.0.0.1")).wait

    assert asyncio.run(scenario()) == 3600


def test_one_address_exhausting_an_account_leaves_other_addresses_alone(make_throttle):
    async def scenario():
        throttle = make_throttle()
        await waits(throttle, 5, address="203.0.113.1")
        return await waits(throttle, 1, address="203.0.113.1") + await waits(throttle, 1)

    blocked, elsewhere = asyncio.run(scenario())
    assert blocked == 60 and elsewhere == 0


def test_a_known_device_keeps_its_own_budget(make_throttle):
    async def scenario():
        throttle = make_throttle()
        await waits(throttle, 5)  # a stranger at the owner's own address
        from_device = await waits(throttle, 6, device="d" * 32)
        other_device = await waits(throttle, 1, device="e" * 32)
        other_account = await waits(throttle, 1, account="user:2", device="d" * 32)
        return from_device, other_device, other_account

    from_device, other_device, other_account = asyncio.run(scenario())
    assert from_device == [0, 0, 0, 0, 0, 60]
    assert other_device == other_account == [0]


def test_one_address_is_limited_across_every_name(make_throttle):
    async def scenario():
        throttle = make_throttle()
        for n in range(ADDRESS_RULE.limit):
            assert await waits(throttle, 1, account=f"name:guess{n}") == [0]
        refused = await waits(throttle, 1, account="name:another")
        elsewhere = await waits(throttle, 1, account="name:another", address="10.9.9.9")
        device = await waits(throttle, 1, device="d" * 32)
        return refused, elsewhere, device

    refused, elsewhere, device = asyncio.run(scenario())
    assert refused == [ADDRESS_RULE.window]
    assert elsewhere == device == [0]  # a known device is not held back by its address


def test_success_starts_the_client_afresh_and_gives_back_its_hit(make_throttle):
    async def scenario():
        throttle = make_throttle()
        await waits(throttle, 4)
        await throttle.succeeded(await throttle.reserve(ADA, "10.0.0.1"))
        afresh = await waits(throttle, 6)
        # The address: 19 other guesses, then a success does not use up its 20th attempt.
        for n in range(ADDRESS_RULE.limit - 1):
            await throttle.reserve(f"name:n{n}", "10.0.0.2")
        await throttle.succeeded(await throttle.reserve("user:2", "10.0.0.2"))
        address = await waits(throttle, 2, account="name:last", address="10.0.0.2")
        return afresh, address

    afresh, address = asyncio.run(scenario())
    assert afresh == [0, 0, 0, 0, 0, 60]
    assert address[0] == 0 and address[1] > 0


def test_the_ceiling_is_reported_once_and_never_refuses(make_throttle):
    async def scenario():
        throttle = make_throttle()
        attempts = [
            await throttle.reserve(ADA, f"10.1.{n // 200}.{n % 200}")
            for n in range(CEILING_RULE.limit + 5)
        ]
        return [a.ceiling_reached for a in attempts], [a.wait for a in attempts]

    reached, waits_seen = asyncio.run(scenario())
    assert reached.index(True) == CEILING_RULE.limit - 1
    assert reached.count(True) == 1
    assert set(waits_seen) == {0}


def test_concurrent_attempts_on_several_instances_never_overdraw(redis_url):
    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(4)]
        clock = FakeClock()
        throttles = [build_throttle([client], clock) for client in clients]
        try:
            attempts = await asyncio.gather(
                *(throttles[n % 4].reserve(ADA, "10.0.0.1") for n in range(20))
            )
            return [attempt.wait for attempt in attempts]
        finally:
            for client in clients:
                client.close()

    seen = asyncio.run(scenario())
    assert seen.count(0) == 5
    assert all(wait > 0 for wait in seen if wait)


def test_redis_down_is_unavailable_not_allowed(redis_server):
    async def scenario():
        client = RedisClient(redis_server.url)
        throttle = build_throttle([client], FakeClock())
        redis_server.stop()
        try:
            await throttle.reserve(ADA, "10.0.0.1")
        finally:
            client.close()
            redis_server.start()

    with pytest.raises(ThrottleUnavailable):
        asyncio.run(scenario())
