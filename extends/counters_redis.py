"""Traffic counters in Redis, shared by every instance of a cluster.

Live keys: a HASH of page views per day (HINCRBY), a HyperLogLog of visitor ids
per day (PFADD), a HASH of views per article (HINCRBY).

A flush must neither lose nor double-count a view, even when the leader changes
in the middle of it. ``drain`` therefore hands out one *batch* at a time, in one
Lua script (atomic in Redis): the live counts renamed to a batch with a fresh
token, or a batch that was drained before and never committed (this instance's
failed write, or another's once older than ``orphan_after_seconds`` on the injected
clock: its leader died), under its own token. The batch stays in Redis until ``commit`` deletes
it; the database remembers which tokens it has applied, so a batch written by a
leader that died before committing is recognised and not written twice.
Views recorded while a flush runs go to the live keys and wait for the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from extends.clock import SYSTEM_CLOCK, Clock
from extends.counters import Pending, TodayStats
from extends.redis import RedisClient, RedisReply, RedisUnavailable, as_bytes, as_int, as_list

log = logging.getLogger("blog.counters")

PREFIX = "inkwell:stats:"
PAGE_VIEWS_KEY = PREFIX + "pv"
ARTICLE_VIEWS_KEY = PREFIX + "articles"
BATCHES_KEY = PREFIX + "batches"
BATCH_PREFIX = PREFIX + "batch:"
# A day's visitors are kept a little past the day, for the last flush of that day.
VISITORS_TTL_SECONDS = 3 * 24 * 3600
# Never claim a batch younger than this: its flush may still be writing it.
ORPHAN_AFTER_SECONDS = 300
WARN_EVERY_SECONDS = 60

# KEYS: live page views, live article views, batch index.
# ARGV: new batch token, batch key prefix, orphan age in ms, now in ms (the instances'
# clock: batches are stamped and aged with it), then this instance's own uncommitted
# batch tokens (a failed write: taken back whatever their age).
# Returns {token, page view pairs, article view pairs}; the token is "" when nothing waits.
DRAIN_SCRIPT = """
local live_pv, live_articles, batches = KEYS[1], KEYS[2], KEYS[3]
local token, prefix, orphan_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now_ms = tonumber(ARGV[4])
local function take(batch)
  -- Re-stamp it: nobody else may claim it while this flush writes it.
  redis.call('ZADD', batches, now_ms, batch)
  return {batch, redis.call('HGETALL', prefix .. batch .. ':pv'),
          redis.call('HGETALL', prefix .. batch .. ':articles')}
end
for i = 5, #ARGV do
  if redis.call('ZSCORE', batches, ARGV[i]) then return take(ARGV[i]) end
end
local orphans = redis.call('ZRANGEBYSCORE', batches, '-inf', now_ms - orphan_ms, 'LIMIT', 0, 1)
if #orphans > 0 then return take(orphans[1]) end
local moved = false
if redis.call('EXISTS', live_pv) == 1 then
  redis.call('RENAME', live_pv, prefix .. token .. ':pv')
  moved = true
end
if redis.call('EXISTS', live_articles) == 1 then
  redis.call('RENAME', live_articles, prefix .. token .. ':articles')
  moved = true
end
if moved then return take(token) end
return {'', {}, {}}
"""


def _text(reply: RedisReply) -> str:
    return (as_bytes(reply) or b"").decode()


def _pairs(reply: RedisReply) -> list[tuple[str, int]]:
    """HGETALL's flat [field, value, field, value...] as (field, number) pairs."""
    flat = as_list(reply)
    return [(_text(flat[i]), as_int(flat[i + 1])) for i in range(0, len(flat), 2)]


class RedisCounters:
    """The ``Counters`` protocol over one Redis server."""

    def __init__(
        self,
        client: RedisClient,
        orphan_after_seconds: float = ORPHAN_AFTER_SECONDS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.client = client
        self.orphan_after_seconds = orphan_after_seconds
        self.clock = clock
        self._last_warning = float("-inf")
        # Batches this instance drained and has not committed (their write failed).
        self._uncommitted: set[str] = set()

    async def record(
        self, day: dt.date, visitor_id: str, article_id: int | None
    ) -> TodayStats | None:
        """Count a view and read the day's counts after it, in one round trip; when Redis is
        down the view is lost (None), the page is still served."""
        visitors_key = f"{PREFIX}uv:{day.isoformat()}"
        commands: list[tuple[str | int, ...]] = [
            ("HINCRBY", PAGE_VIEWS_KEY, day.isoformat(), 1),
            ("PFADD", visitors_key, visitor_id),
            ("EXPIRE", visitors_key, VISITORS_TTL_SECONDS),
            ("PFCOUNT", visitors_key),
        ]
        if article_id is not None:
            commands.append(("HINCRBY", ARTICLE_VIEWS_KEY, str(article_id), 1))
        try:
            replies = await self.client.pipeline(*commands)
        except RedisUnavailable as exc:
            self._warn(f"a page view was not counted: {exc}")
            return None
        return TodayStats(as_int(replies[0]), as_int(replies[3]))

    async def today(self, day: dt.date) -> TodayStats:
        """Views and unique visitors of ``day`` not yet flushed (zeros when Redis is down)."""
        try:
            views, visitors = await self.client.pipeline(
                ("HGET", PAGE_VIEWS_KEY, day.isoformat()),
                ("PFCOUNT", f"{PREFIX}uv:{day.isoformat()}"),
            )
        except RedisUnavailable as exc:
            self._warn(f"today's counts are unavailable: {exc}")
            return TodayStats(0, 0)
        return TodayStats(as_int(views), as_int(visitors))

    async def drain(self) -> Pending:
        """The next batch: a retry, an orphan or the live counts; raises RedisUnavailable."""
        now = self.clock.time()
        fresh = f"{int(now)}-{secrets.token_hex(6)}"
        reply = await self.client.eval(
            DRAIN_SCRIPT,
            [PAGE_VIEWS_KEY, ARTICLE_VIEWS_KEY, BATCHES_KEY],
            [
                fresh,
                BATCH_PREFIX,
                int(self.orphan_after_seconds * 1000),
                int(now * 1000),
                *sorted(self._uncommitted),
            ],
        )
        token_reply, page_views, article_views = as_list(reply)
        token = _text(token_reply)
        if not token:
            return Pending()
        if token != fresh and token not in self._uncommitted:
            log.warning("taking over unfinished counter batch %s", token)
        pending = Pending(
            page_views={dt.date.fromisoformat(day): n for day, n in _pairs(page_views)},
            article_views={int(article): n for article, n in _pairs(article_views)},
            batch=token,
        )
        if pending.page_views:
            days = sorted(pending.page_views)
            counts = await self.client.pipeline(
                *(("PFCOUNT", f"{PREFIX}uv:{day.isoformat()}") for day in days)
            )
            pending.unique_visitors = {day: as_int(n) for day, n in zip(days, counts, strict=True)}
        self._uncommitted.add(token)
        return pending

    async def commit(self, pending: Pending) -> None:
        """The database has this batch: delete it from Redis."""
        if not pending.batch:
            return
        self._uncommitted.discard(pending.batch)
        await self.client.pipeline(
            ("DEL", f"{BATCH_PREFIX}{pending.batch}:pv", f"{BATCH_PREFIX}{pending.batch}:articles"),
            ("ZREM", BATCHES_KEY, pending.batch),
        )

    def _warn(self, message: str) -> None:
        # Once a minute is enough: during an outage every page view would say it again.
        now = self.clock.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning(message)
