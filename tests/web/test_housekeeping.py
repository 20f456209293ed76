"""The clean-up job forgets expired sessions and QR tickets held in process memory."""

import time

from controller.housekeeping import purge_expired
from tests.support.live import BlogClient


def test_expired_sessions_and_tickets_are_purged(start_app, sqlite_url):
    live = start_app(sqlite_url, session_ttl_seconds=1, qr_ticket_seconds=1)
    desktop = BlogClient(live.url)
    assert desktop.get("/auth/qr").status_code == 200  # one ticket
    store = live.app.sessions.store

    async def make_session():
        session = await live.app.sessions.load(None)
        session["visited"] = True
        await live.app.sessions.save(session)

    live.call(make_session)
    assert len(store._items) == 1 and len(live.app.qr.store._tickets) == 1
    time.sleep(1.2)
    # The leader's own run of the job may have come first; either way both are gone.
    live.call(lambda: purge_expired(live.app))
    assert len(store._items) == 0 and len(live.app.qr.store._tickets) == 0
    # The job is registered with the leader's periodic jobs.
    assert "purge-expired" in [job.name for job in live.app.jobs.jobs]
