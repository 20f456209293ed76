"""Session round trips on both stores: the in-process dict and a real redis-server."""

import asyncio

import pytest

from extends.redis import RedisClient
from extends.session import MemorySessionStore, RedisSessionStore, SessionManager
from tests.support.clock import FakeClock

TTL = 60


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
def manager(request, clock):
    if request.param == "memory":
        yield SessionManager(MemorySessionStore(clock), ttl=TTL, clock=clock)
        return
    url = request.getfixturevalue("redis_url")
    client = RedisClient(url)
    yield SessionManager(RedisSessionStore([client], clock), ttl=TTL, clock=clock)
    client.close()


def run(coro):
    return asyncio.run(coro)


def test_set_then_reload(manager):
    async def scenario():
        session = await manager.load(None)
        session["user"] = {"id": 1}
        await manager.save(session)
        again = await manager.load(session.sid)
        return session.sid, again.get("user")

    sid, user = run(scenario())
    assert sid and user == {"id": 1}


def test_unknown_id_gives_a_fresh_anonymous_session(manager):
    session = run(manager.load("no-such-session"))
    assert session.sid is None and session.get("user") is None


def test_session_expires_after_its_ttl(manager, clock):
    async def scenario():
        session = await manager.load(None)
        session["user"] = {"id": 2}
        await manager.save(session)
        clock.advance(TTL - 1)
        before = await manager.load(session.sid)
        clock.advance(2)
        return before, await manager.load(session.sid)

    before, after = run(scenario())
    assert before.get("user") == {"id": 2}
    assert after.sid is None and after.get("user") is None


def test_a_session_in_use_slides_its_expiry(manager, clock):
    async def scenario():
        session = await manager.load(None)
        session["user"] = {"id": 4}
        await manager.save(session)
        clock.advance(TTL - 1)
        session = await manager.load(session.sid)
        session["seen"] = True
        await manager.save(session)  # a change saves it again, for a full TTL
        clock.advance(TTL - 1)
        return await manager.load(session.sid)

    assert run(scenario()).get("user") == {"id": 4}


def test_rotation_retires_the_old_id(manager):
    async def scenario():
        session = await manager.load(None)
        session["cart"] = "x"
        await manager.save(session)
        old = session.sid
        session.rotate()
        session["user"] = {"id": 3}
        await manager.save(session)
        return old, session.sid, await manager.load(old), await manager.load(session.sid)

    old, new, old_loaded, new_loaded = run(scenario())
    assert old != new
    assert old_loaded.get("user") is None and old_loaded.get("cart") is None
    assert new_loaded.get("user") == {"id": 3} and new_loaded.get("cart") == "x"


def test_unchanged_session_is_not_written(manager):
    async def scenario():
        session = await manager.load(None)
        await manager.save(session)
        return session.sid

    assert run(scenario()) is None


def test_the_memory_store_purges_what_expired(clock):
    store = MemorySessionStore(clock)

    async def scenario():
        await store.save("old", {"n": 1}, ttl=10)
        clock.advance(5)
        await store.save("new", {"n": 2}, ttl=10)
        held = len(store)
        clock.advance(6)
        return held, store.purge_expired(), len(store), await store.load("new")

    held, purged, left, new = run(scenario())
    assert (held, purged, left) == (2, 1, 1)
    assert new == {"n": 2}


def test_redis_sessions_spread_over_several_nodes(redis_url, tmp_path):
    from tests.support.servers import RedisServer

    second = RedisServer(tmp_path / "redis2")
    second.start()
    clients = [RedisClient(redis_url), RedisClient(second.url)]
    manager = SessionManager(RedisSessionStore(clients), ttl=60)

    async def scenario():
        sids = []
        for n in range(40):
            session = await manager.load(None)
            session["n"] = n
            await manager.save(session)
            sids.append(session.sid)
        loaded = [await manager.load(sid) for sid in sids]
        sizes = [await client.call("DBSIZE") for client in clients]
        return [s.get("n") for s in loaded], sizes

    try:
        values, sizes = run(scenario())
    finally:
        for client in clients:
            client.close()
        second.stop()
    assert values == list(range(40))
    assert all(size > 0 for size in sizes) and sum(sizes) == 40
