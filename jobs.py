"""What the leader does on a schedule: each job is one coroutine over the Application.

`main.schedule` lists them with their intervals; `extends/jobs.PeriodicJobs` runs them
on the instance that holds the leader lease (a single instance always leads itself).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from controller.notifications import send_due_digests
from extends.clock import utc_datetime
from service import editor, media, search, stats

if TYPE_CHECKING:
    from main import Application

log = logging.getLogger("blog.jobs")

# A backlog (batches left by failed writes or a dead leader) is worked off a few at a time.
MAX_BATCHES_PER_FLUSH = 10


async def publish_scheduled_articles(app: Application) -> list[int]:
    """Publish the scheduled articles whose time has come, and drop the pages that list them."""
    published = await app.run_service(editor.publish_scheduled_articles, utc_datetime(app.clock))
    if published:
        log.info("published scheduled article(s) %s", published)
        await app.invalidate(
            "articles", "pages", "stats", *(f"article:{article_id}" for article_id in published)
        )
    return published


async def flush_counters(app: Application) -> None:
    """Write what the counters hold, batch by batch; only a written batch is forgotten."""
    flushed = False
    for _ in range(MAX_BATCHES_PER_FLUSH):
        pending = await app.counters.drain()
        if pending.is_empty():
            break
        # The database may have the batch already (a dead leader's): it is forgotten all the same.
        await app.run_service(stats.flush_counters, pending)
        await app.counters.commit(pending)
        flushed = True
    if flushed:
        await app.invalidate("stats")


async def refresh_search_index(app: Application) -> None:
    """The index's safety net: the editor indexes what it saves; this catches anything
    changed another way (or a new tokenizer) since it was last indexed."""
    done = await app.run_service(search.refresh_index)
    if done:
        log.info("search index: %d article(s) indexed", done)


async def measure_old_media(app: Application) -> int:
    """Measure images uploaded before resized copies existed and make their copies."""
    done = await app.run_service(media.measure_old_media, app.media)
    if done:
        log.info("media: %d older image(s) measured", done)
        # The articles showing them are re-rendered on their next read (srcset, sizes).
        await app.invalidate("articles", "pages")
    return done


async def purge_expired(app: Application) -> int:
    """Drop expired sessions and QR tickets from the in-process stores of a single instance.

    In Redis both expire by themselves (every key carries a TTL); the in-process stores
    need this sweep, or a long-running instance would keep them forever.
    """
    purged = app.sessions.store.purge_expired() + app.qr.store.purge_expired()
    if purged:
        log.info("purged %d expired session(s) and ticket(s)", purged)
    return purged


async def send_mail_digests(app: Application) -> int:
    """Queue one digest per recipient whose notices waited past the per-recipient limit."""
    queued = await send_due_digests(app)
    if queued:
        log.info("mail: %d digest(s) queued", queued)
    return queued
