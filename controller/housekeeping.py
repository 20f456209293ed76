"""The leader's clean-up job: expired sessions and stale QR tickets kept in process memory.

In Redis both expire by themselves (every key carries a TTL); the in-process stores of a
single instance need this sweep, or a long-running instance would keep them forever.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("blog.housekeeping")

PURGE_INTERVAL_SECONDS = 300


async def purge_expired(app: Any) -> int:
    purged = 0
    for store in (app.sessions.store, app.qr.store):
        purge = getattr(store, "purge_expired", None)
        if purge is not None:
            purged += purge()
    if purged:
        log.info("purged %d expired session(s) and ticket(s)", purged)
    return purged


def setup(app: Any) -> None:
    app.jobs.add("purge-expired", PURGE_INTERVAL_SECONDS, lambda: purge_expired(app))
