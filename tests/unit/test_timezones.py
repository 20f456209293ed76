"""service.timezones: stored UTC ↔ the site's zone, around daylight-saving changes too."""

from __future__ import annotations

import datetime as dt

import pytest

from service import timezones
from service.errors import Invalid
from service.timezones import NonexistentLocalTime


def test_zone_names_are_checked_against_the_tz_database():
    assert timezones.validate_zone(" Europe/Berlin ") == "Europe/Berlin"
    assert timezones.is_valid_zone("UTC")
    assert "America/New_York" in timezones.available_zones()
    assert "Asia/Shanghai" in timezones.available_zones()
    for bad in ("", "Mars/Olympus", "../../etc/passwd", "x" * 100):
        with pytest.raises(Invalid):
            timezones.validate_zone(bad)


def test_an_unknown_stored_zone_falls_back_to_utc():
    assert timezones.zone("Nowhere/Atlantis").key == "UTC"


def test_stored_utc_is_shown_in_the_zone_with_its_label():
    winter = dt.datetime(2027, 1, 15, 12, 0)
    summer = dt.datetime(2027, 7, 15, 12, 0)
    assert timezones.format_local(winter, "Europe/Berlin") == "2027-01-15 13:00 CET"
    assert timezones.format_local(summer, "Europe/Berlin") == "2027-07-15 14:00 CEST"
    assert timezones.format_local(summer, "America/New_York", "second") == "2027-07-15 08:00:00 EDT"
    assert timezones.format_local(winter, "UTC") == "2027-01-15 12:00 UTC"
    # A zone without a letter abbreviation is labelled by its offset.
    assert timezones.format_local(winter, "Asia/Kathmandu") == "2027-01-15 17:45 UTC+05:45"
    assert timezones.format_local(winter, "America/Sao_Paulo") == "2027-01-15 09:00 UTC-03:00"
    # A date alone carries no label; it is the local date.
    late = dt.datetime(2027, 1, 31, 23, 30)
    assert timezones.format_local(late, "Asia/Shanghai", "date") == "2027-02-01"
    assert timezones.utc_iso(late.replace(microsecond=5)) == "2027-01-31T23:30:00Z"


def test_local_times_convert_to_utc():
    assert timezones.to_utc(dt.datetime(2027, 1, 15, 13, 0), "Europe/Berlin") == dt.datetime(
        2027, 1, 15, 12, 0
    )
    assert timezones.to_utc(dt.datetime(2027, 1, 15, 20, 0), "Asia/Shanghai") == dt.datetime(
        2027, 1, 15, 12, 0
    )


def test_a_time_the_clocks_skip_is_refused():
    # New York, 14 March 2027: 02:00 EST becomes 03:00 EDT.
    with pytest.raises(NonexistentLocalTime) as refused:
        timezones.to_utc(dt.datetime(2027, 3, 14, 2, 30), "America/New_York")
    assert refused.value.status_code == 400
    assert "does not exist" in str(refused.value)
    # Just before and just after the gap are fine.
    assert timezones.to_utc(dt.datetime(2027, 3, 14, 1, 59), "America/New_York") == dt.datetime(
        2027, 3, 14, 6, 59
    )
    assert timezones.to_utc(dt.datetime(2027, 3, 14, 3, 0), "America/New_York") == dt.datetime(
        2027, 3, 14, 7, 0
    )


def test_a_time_the_clocks_pass_twice_means_the_first_one():
    # New York, 7 November 2027: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    first = timezones.to_utc(dt.datetime(2027, 11, 7, 1, 30), "America/New_York")
    assert first == dt.datetime(2027, 11, 7, 5, 30)  # 01:30 EDT (fold=0), not 06:30 (EST)
    assert timezones.format_local(first, "America/New_York") == "2027-11-07 01:30 EDT"
    # The second 01:30 is still shown correctly when stored.
    second = dt.datetime(2027, 11, 7, 6, 30)
    assert timezones.format_local(second, "America/New_York") == "2027-11-07 01:30 EST"


def test_month_boundaries_are_the_zones_midnights():
    start, end = timezones.month_range(2027, 3, "Europe/Berlin")
    assert start == dt.datetime(2027, 2, 28, 23, 0)  # 1 March 00:00 CET
    assert end == dt.datetime(2027, 3, 31, 22, 0)  # 1 April 00:00 CEST: the clocks moved
    start, end = timezones.month_range(2027, 12, "America/New_York")
    assert (start, end) == (dt.datetime(2027, 12, 1, 5, 0), dt.datetime(2028, 1, 1, 5, 0))
    assert timezones.month_range(2027, 2, "UTC") == (
        dt.datetime(2027, 2, 1),
        dt.datetime(2027, 3, 1),
    )
    # An article at 23:30 UTC on 31 January is a February article in Berlin.
    assert timezones.local_month(dt.datetime(2027, 1, 31, 23, 30), "Europe/Berlin") == (2027, 2)
    assert timezones.local_month(dt.datetime(2027, 1, 31, 23, 30), "UTC") == (2027, 1)


def test_a_day_whose_midnight_is_skipped_starts_at_one():
    # Havana moves its clocks at midnight: 00:00 on 14 March 2027 does not exist there.
    start = timezones.day_start_utc(dt.datetime(2027, 3, 14), "America/Havana")
    assert start == timezones.to_utc(dt.datetime(2027, 3, 14, 1, 0), "America/Havana")
    assert start == dt.datetime(2027, 3, 14, 5, 0)
