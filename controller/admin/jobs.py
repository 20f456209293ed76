"""Scheduled publishing: the leader publishes what has come due every 15 seconds."""

from __future__ import annotations

import logging
from typing import Any

from service import editor

log = logging.getLogger("blog.jobs")

INTERVAL_SECONDS = 15


def setup(app: Any) -> None:
    async def publish_scheduled() -> list[int]:
        published = await app.run_service(editor.publish_scheduled_articles)
        if published:
            log.info("published scheduled article(s) %s", published)
            await app.invalidate(
                "articles", "pages", "stats", *(f"article:{article_id}" for article_id in published)
            )
        return published

    app.jobs.add("publish_scheduled", INTERVAL_SECONDS, publish_scheduled)
