"""The leader lease over a real redis-server: one leader at a time, handed over on stop."""

import asyncio

from extends.lease import RedisLease
from extends.redis import RedisClient

TTL_MS = 1500


def leaders(leases):
    return [lease.holder_id for lease in leases if lease.is_leader]


def test_exactly_one_of_several_instances_leads(redis_url):
    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(3)]
        leases = [RedisLease(c, f"i{n}", TTL_MS) for n, c in enumerate(clients)]
        for lease in leases:
            lease.start()
        samples = []
        for _ in range(40):
            await asyncio.sleep(0.05)
            samples.append(leaders(leases))
        for lease in leases:
            await lease.stop()
        for client in clients:
            client.close()
        return samples

    samples = asyncio.run(scenario())
    assert all(len(sample) <= 1 for sample in samples)
    assert len(samples[-1]) == 1
    assert len({tuple(sample) for sample in samples[5:]}) == 1  # a stable leader


def test_stopping_the_leader_hands_the_lease_over(redis_url):
    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(2)]
        first, second = (RedisLease(c, f"i{n}", TTL_MS) for n, c in enumerate(clients))
        assert await first.try_acquire_or_renew()
        assert not await second.try_acquire_or_renew()
        await first.stop()
        taken = await second.try_acquire_or_renew()
        await second.stop()
        for client in clients:
            client.close()
        return first.is_leader, taken

    first_leads, second_took = asyncio.run(scenario())
    assert not first_leads and second_took


def test_a_dead_leaders_lease_expires_and_another_takes_it(redis_url):
    async def scenario():
        clients = [RedisClient(redis_url) for _ in range(2)]
        dead, heir = (RedisLease(c, f"i{n}", TTL_MS) for n, c in enumerate(clients))
        assert await dead.try_acquire_or_renew()  # then never renews: it "died"
        assert not await heir.try_acquire_or_renew()
        heir.start()
        for _ in range(60):
            if heir.is_leader:
                break
            await asyncio.sleep(0.1)
        took = heir.is_leader
        # The dead one's belief expires before its key does: never two leaders.
        await heir.stop()
        for client in clients:
            client.close()
        return took, dead.is_leader

    took, dead_still_believes = asyncio.run(scenario())
    assert took and not dead_still_believes


def test_losing_redis_ends_leadership(redis_server):
    async def scenario():
        client = RedisClient(redis_server.url)
        lease = RedisLease(client, "alone", TTL_MS)
        assert await lease.try_acquire_or_renew()
        redis_server.stop()
        try:
            renewed = await lease.try_acquire_or_renew()
        finally:
            redis_server.start()
        again = await lease.try_acquire_or_renew()
        await lease.stop()
        client.close()
        return renewed, again

    renewed, again = asyncio.run(scenario())
    assert renewed is False and again is True


def test_a_lease_taken_over_in_redis_is_not_renewed(redis_url):
    async def scenario():
        client = RedisClient(redis_url)
        lease = RedisLease(client, "mine", TTL_MS)
        assert await lease.try_acquire_or_renew()
        await client.call("SET", lease.key, "someone-else", "PX", TTL_MS)
        renewed = await lease.try_acquire_or_renew()
        holder = await client.call("GET", lease.key)
        await lease.stop()  # must not delete someone else's lease
        still = await client.call("GET", lease.key)
        client.close()
        return renewed, holder, still

    renewed, holder, still = asyncio.run(scenario())
    assert renewed is False
    assert holder == still == b"someone-else"
