"""The invalidation bus over a real redis-server: what one instance drops, all drop."""

import asyncio

from extends.cache import RedisBus, SiteCache
from extends.redis import RedisClient


async def wait_until(condition, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def make_instances(url, count):
    instances = []
    for number in range(count):
        client = RedisClient(url)
        cache = SiteCache()
        instances.append((client, cache, RedisBus(client, cache, f"instance-{number}")))
    return instances


def test_a_publish_drops_the_scope_on_every_instance(redis_url):
    async def scenario():
        instances = make_instances(redis_url, 3)
        for _, _, bus in instances:
            bus.start()
        for _, _, bus in instances:
            assert await wait_until(bus.subscribed.is_set)
        for _, cache, _ in instances:
            cache.set("article-page:42", "old html", scopes=["article:42"])
            cache.set("settings", "site", scopes=["settings"])
        await instances[0][2].publish(["article:42"])
        dropped = await wait_until(
            lambda: all(cache.get("article-page:42") is None for _, cache, _ in instances)
        )
        kept = [cache.get("settings") for _, cache, _ in instances]
        for client, _, bus in instances:
            bus.stop()
            client.close()
        return dropped, kept

    dropped, kept = asyncio.run(scenario())
    assert dropped
    assert kept == ["site", "site", "site"]


def test_the_publisher_drops_at_once_even_when_redis_is_down(redis_server):
    async def scenario():
        client = RedisClient(redis_server.url)
        cache = SiteCache()
        bus = RedisBus(client, cache, "alone")
        cache.set("nav", "menus", scopes=["nav"])
        redis_server.stop()
        try:
            await bus.publish(["nav"])
        finally:
            redis_server.start()
            client.close()
        return cache.get("nav")

    assert asyncio.run(scenario()) is None


def test_after_a_redis_restart_an_instance_drops_everything(redis_server):
    async def scenario():
        client = RedisClient(redis_server.url)
        cache = SiteCache()
        bus = RedisBus(client, cache, "listener")
        bus.start()
        assert await wait_until(bus.subscribed.is_set)
        cache.set("home", "page", scopes=["pages"])
        redis_server.stop()
        lost = await wait_until(lambda: not bus.subscribed.is_set())
        # Written while the bus is deaf: a message about it could have been missed.
        cache.set("widgets", "sidebar", scopes=["widgets"])
        redis_server.start()
        back = await wait_until(bus.subscribed.is_set, timeout=15)
        remaining = (cache.get("home"), cache.get("widgets"))
        # And the bus works again after the restart.
        cache.set("settings", "site", scopes=["settings"])
        other = RedisClient(redis_server.url)
        await other.call("PUBLISH", bus.channel, '{"from": "other", "scopes": ["settings"]}')
        dropped_again = await wait_until(lambda: cache.get("settings") is None)
        bus.stop()
        client.close()
        other.close()
        return lost, back, remaining, dropped_again

    lost, back, remaining, dropped_again = asyncio.run(scenario())
    assert lost and back
    assert remaining == (None, None)
    assert dropped_again


def test_malformed_messages_are_ignored(redis_url):
    async def scenario():
        client = RedisClient(redis_url)
        cache = SiteCache()
        bus = RedisBus(client, cache, "listener")
        bus.start()
        assert await wait_until(bus.subscribed.is_set)
        cache.set("settings", "site", scopes=["settings"])
        await client.call("PUBLISH", bus.channel, "not json")
        await client.call("PUBLISH", bus.channel, '{"from": "x", "scopes": ["settings"]}')
        dropped = await wait_until(lambda: cache.get("settings") is None)
        bus.stop()
        client.close()
        return dropped

    assert asyncio.run(scenario())
