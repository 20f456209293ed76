"""The audit log's service: stored and logged as one line, listed newest first, filtered."""

from __future__ import annotations

import logging

import pytest

from model import AuditEvent
from service import audit
from service.errors import NotFound


def record(db, kind="sign_in", **fields):
    values = {"user_id": 1, "username": "ada", "ip": "192.0.2.1", "instance": "host:8001"}
    values.update(fields)
    return audit.record(db, kind, **values)


def test_an_event_is_stored_and_logged_as_one_line(db, caplog):
    with caplog.at_level(logging.INFO, logger="blog.audit"):
        event = record(db, "sign_in_failed", user_id=None, username="bob\nsign_in user=1")
    stored = db.get(AuditEvent, event.id)
    assert stored.kind == "sign_in_failed" and stored.user_id is None
    assert stored.ip == "192.0.2.1" and stored.instance == "host:8001"
    assert stored.created_at is not None
    lines = [r.getMessage() for r in caplog.records if r.name == "blog.audit"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("sign_in_failed user=-:bob?sign_in")
    assert "ip=192.0.2.1 instance=host:8001" in lines[0]


def test_long_values_fit_their_columns(db):
    event = record(db, username="u" * 200, detail="d" * 1000, ip="i" * 100)
    assert (len(event.username), len(event.detail), len(event.ip)) == (64, 255, 45)


def test_an_unknown_kind_is_a_bug(db):
    with pytest.raises(ValueError):
        record(db, "coffee_made")


def test_listing_is_newest_first_and_filtered_by_kind(db):
    for kind in ("sign_in", "settings_changed", "sign_in_failed", "sign_in"):
        record(db, kind)
    everything = audit.list_events(db)
    assert [e.kind for e in everything.events] == [
        "sign_in",
        "sign_in_failed",
        "settings_changed",
        "sign_in",
    ]
    assert everything.pager.total == 4 and everything.kind == ""
    sign_ins = audit.list_events(db, 1, "sign_in")
    assert [e.kind for e in sign_ins.events] == ["sign_in", "sign_in"]
    assert sign_ins.kind == "sign_in"
    # An unknown filter shows everything rather than an empty page.
    assert audit.list_events(db, 1, "nonsense").pager.total == 4


def test_pages_hold_page_size_events(db, monkeypatch):
    monkeypatch.setattr(audit, "PAGE_SIZE", 2)
    for number in range(5):
        record(db, detail=str(number))
    first, last = audit.list_events(db, 1), audit.list_events(db, 3)
    assert [e.detail for e in first.events] == ["4", "3"]
    assert [e.detail for e in last.events] == ["0"]
    assert first.pager.pages == 3
    with pytest.raises(NotFound):
        audit.list_events(db, 4)
