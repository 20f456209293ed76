"""The per-process site cache: entries leave with their scopes or when their TTL runs out."""

import asyncio
from dataclasses import dataclass

from extends.cache import ALL, SiteCache, approximate_size
from tests.support.clock import FakeClock


def test_an_entry_with_a_ttl_expires_on_the_clock():
    clock = FakeClock()
    cache = SiteCache(clock=clock)
    cache.set("sidebar", "html", ttl=30)
    cache.set("settings", "site")
    clock.advance(29)
    assert cache.get("sidebar") == "html"
    clock.advance(1)
    assert cache.get("sidebar") is None
    assert cache.get("settings") == "site"  # no TTL: only an invalidation drops it


def test_invalidation_drops_what_the_scopes_name():
    cache = SiteCache()
    cache.set("article-page:1", "a", scopes=["article:1", "pages"])
    cache.set("article-page:2", "b", scopes=["article:2", "pages"])
    assert cache.invalidate(["article:1"]) == 1
    assert cache.get("article-page:1") is None and cache.get("article-page:2") == "b"
    assert cache.invalidate([ALL]) == 1 and len(cache) == 0


def test_a_region_over_its_byte_budget_forgets_the_least_recently_used():
    one = SiteCache()
    one.set("entry:0", "x" * 5_000)
    entry_bytes = one.stats()["data"].bytes  # the text, the key and their overhead
    cache = SiteCache({"data": 4 * entry_bytes + 100})  # room for four entries
    for number in range(4):
        cache.set(f"entry:{number}", "x" * 5_000)
    assert cache.get("entry:0") == "x" * 5_000  # now the most recently used
    cache.set("entry:4", "x" * 5_000)  # over budget: entry:1, least recently used, leaves
    assert cache.get("entry:1") is None
    assert all(cache.get(f"entry:{number}") for number in (0, 2, 3, 4))
    stats = cache.stats()["data"]
    assert stats.entries == 4 and stats.bytes <= stats.limit


def test_a_value_larger_than_the_budget_is_not_kept():
    cache = SiteCache({"data": 10_000})
    cache.set("small", "x" * 100)
    cache.set("huge", "x" * 50_000)
    assert cache.get("huge") is None and cache.get("small") == "x" * 100
    assert cache.stats()["data"].entries == 1


def test_sizes_count_what_a_value_refers_to():
    @dataclass
    class Page:
        body: str
        tags: list[str]

    small = approximate_size(Page("x", []))
    big = approximate_size(Page("x" * 10_000, ["y" * 1_000] * 3))
    assert big - small >= 10_000 + 1_000  # the shared tag string counted once
    assert big - small < 10_000 + 3 * 1_000 + 1_000


async def _held_load(cache: SiteCache, scopes: list[str]) -> tuple[asyncio.Future, asyncio.Event]:
    """A load of "results" (scopes ``scopes``) under way, and the event that lets it finish."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def loader() -> str:
        started.set()
        await release.wait()
        return "loaded"

    load = asyncio.ensure_future(cache.get_or_load("results", loader, scopes=scopes))
    await started.wait()
    return load, release


async def _load_while(cache: SiteCache, scopes: list[str], during: list[str]) -> object:
    """Load "results" (scopes ``scopes``) while ``during`` is invalidated; what was kept."""
    load, release = await _held_load(cache, scopes)
    cache.invalidate(during)
    release.set()
    assert await load == "loaded"  # the caller gets its value either way
    return cache.get("results")


def kept(cache: SiteCache, scopes: list[str], during: list[str]) -> object:
    return asyncio.run(_load_while(cache, scopes, during))


def test_a_load_survives_an_invalidation_of_other_scopes():
    # A counter flush drops "stats" every few seconds: search results in flight stay kept.
    assert kept(SiteCache(), ["articles", "pages"], ["stats"]) == "loaded"


def test_a_load_is_not_kept_when_its_own_scope_or_everything_is_dropped_meanwhile():
    assert kept(SiteCache(), ["articles", "pages"], ["articles"]) is None
    assert kept(SiteCache(), ["articles"], ["results"]) is None  # its key
    assert kept(SiteCache(), ["articles"], [ALL]) is None


def test_an_invalidation_before_a_load_starts_does_not_spoil_it():
    cache = SiteCache()
    cache.invalidate(["articles"])
    assert kept(cache, ["articles"], ["stats"]) == "loaded"


def test_remembered_invalidations_stay_bounded_and_still_protect_running_loads():
    asyncio.run(_many_invalidations_during_a_load())


async def _many_invalidations_during_a_load() -> None:
    cache = SiteCache()
    load, release = await _held_load(cache, ["articles"])
    cache.invalidate(["articles"])
    for number in range(10_000):
        cache.invalidate([f"article:{number}"])
    release.set()
    await load
    assert cache.get("results") is None
    for number in range(10_000, 20_000):
        cache.invalidate([f"article:{number}"])
    assert len(cache._dropped_at) <= 4097
