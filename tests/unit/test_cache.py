"""The per-process site cache: entries leave with their scopes or when their TTL runs out."""

from extends.cache import ALL, SiteCache
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
