"""The site's time zone: every conversion between stored UTC and what people read or type.

Storage stays naive UTC (MySQL DATETIME keeps no zone). Readers and authors see times in
the site's zone (an IANA name such as "Europe/Berlin", chosen in Settings; "UTC" by
default), and the editor's publication time is typed in it.

Around a daylight-saving change a typed local time may not exist (the clock jumps from
02:00 to 03:00: 02:30 never happens) or happen twice (the clock goes back: 01:30 happens
in summer time, then again in winter time). A time that does not exist is refused
(``NonexistentLocalTime``); a time that happens twice means its first occurrence
(``fold=0``, the earlier instant, still on summer time).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from service.errors import Invalid

DEFAULT_ZONE = "UTC"
MAX_ZONE_NAME = 64  # the site_settings.time_zone column


class NonexistentLocalTime(Invalid):
    """A local time skipped by a daylight-saving change."""


@functools.cache
def available_zones() -> tuple[str, ...]:
    """Every IANA zone name this installation knows (tzdata ships them), sorted."""
    names = {name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC"}
    # Old aliases ("US/Eastern", "Etc/GMT+5") still work when typed, but are not offered.
    return tuple(sorted(name for name in names if not name.startswith(("Etc/", "SystemV/"))))


def is_valid_zone(name: str) -> bool:
    if not name or len(name) > MAX_ZONE_NAME:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate_zone(name: str) -> str:
    """The zone name, trimmed; an unknown one is Invalid."""
    name = name.strip()
    if not is_valid_zone(name):
        raise Invalid("Unknown time zone: {name}", name=name[:MAX_ZONE_NAME])
    return name


@functools.lru_cache(maxsize=64)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone of that name; a name that is not (or no longer) known falls back to UTC."""
    return zoneinfo.ZoneInfo(name if is_valid_zone(name) else DEFAULT_ZONE)


def to_local(value: dt.datetime, zone_name: str) -> dt.datetime:
    """A stored naive-UTC time as an aware time in the zone."""
    return value.replace(tzinfo=dt.UTC).astimezone(zone(zone_name))


def to_utc(local: dt.datetime, zone_name: str) -> dt.datetime:
    """A naive local time in the zone as naive UTC.

    A time the zone skips raises ``NonexistentLocalTime``; a time it passes twice is taken
    at its first occurrence (``fold=0``).
    """
    tz = zone(zone_name)
    first = local.replace(tzinfo=tz, fold=0)
    back = first.astimezone(dt.UTC).astimezone(tz)
    if back.replace(tzinfo=None) != local:
        raise NonexistentLocalTime(
            "{time} does not exist in {zone}: the clocks skip it for daylight saving time. "
            "Please choose another time.",
            time=local.strftime("%Y-%m-%d %H:%M"),
            zone=zone_name,
        )
    return first.astimezone(dt.UTC).replace(tzinfo=None)


def month_range(year: int, month: int, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
    """The naive-UTC half-open range [start, end) of a calendar month in the zone."""
    start = dt.datetime(year, month, 1)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1)
    return day_start_utc(start, zone_name), day_start_utc(end, zone_name)


def day_start_utc(local: dt.datetime, zone_name: str) -> dt.datetime:
    """When the local day ``local`` (a midnight) starts, as naive UTC.

    Some zones move their clocks at midnight (Havana): that day starts at 01:00.
    """
    try:
        return to_utc(local, zone_name)
    except NonexistentLocalTime:
        return to_utc(local + dt.timedelta(hours=1), zone_name)


def local_month(value: dt.datetime, zone_name: str) -> tuple[int, int]:
    """(year, month) of a stored naive-UTC time, in the zone."""
    local = to_local(value, zone_name)
    return local.year, local.month


def abbreviation(local: dt.datetime) -> str:
    """A label for an aware time: "CET", "EDT", "UTC"; an offset when the zone has no name."""
    name = local.tzname() or ""
    if name and name[0] not in "+-":
        return name
    return "UTC" + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def utc_iso(value: dt.datetime) -> str:
    """A stored naive-UTC time for machines (``<time datetime>``, feeds): ISO 8601 with Z."""
    return value.replace(microsecond=0).isoformat() + "Z"


# How much of a time people see: the day, the minute or the second (each labelled).
FORMATS = {"date": "%Y-%m-%d", "minute": "%Y-%m-%d %H:%M", "second": "%Y-%m-%d %H:%M:%S"}


def format_local(value: dt.datetime, zone_name: str, precision: str = "minute") -> str:
    """A stored naive-UTC time as people read it in the zone; a time carries its zone."""
    local = to_local(value, zone_name)
    text = local.strftime(FORMATS[precision])
    return text if precision == "date" else f"{text} {abbreviation(local)}"
