"""The clean-up job forgets expired sessions and QR tickets held in process memory."""

import jobs
from tests.support.clock import FakeClock
from tests.support.live import BlogClient


def test_expired_sessions_and_tickets_are_purged(start_app, sqlite_url):
    clock = FakeClock()
    live = start_app(sqlite_url, clock=clock, session_ttl_seconds=60, qr_ticket_seconds=60)
    desktop = BlogClient(live.url)
    assert desktop.get("/auth/qr").status_code == 200  # one ticket

    async def make_session():
        session = await live.app.sessions.load(None)
        session["visited"] = True
        await live.app.sessions.save(session)

    live.call(make_session)
    # Nothing has expired yet: the sweep keeps both.
    assert live.call(lambda: jobs.purge_expired(live.app)) == 0
    clock.advance(61)
    assert live.call(lambda: jobs.purge_expired(live.app)) == 2
    assert live.call(lambda: jobs.purge_expired(live.app)) == 0
    # The leader runs it on schedule.
    assert "purge-expired" in [job.name for job in live.app.jobs.jobs]
