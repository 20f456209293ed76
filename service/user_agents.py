"""A browser's User-Agent in words ("Chrome 120", "Windows 10"), parsed by ua-parser."""

from __future__ import annotations

from dataclasses import dataclass

from ua_parser import parse

UNKNOWN = "Other"  # what ua-parser names a family it does not recognise


@dataclass(frozen=True)
class DeviceDescription:
    browser: str  # "Chrome 120"; "" when unknown
    system: str  # "Windows 10", "iOS 17.2", "Mac OS X 10.15"; "" when unknown


def _named(family: str | None, *versions: str | None) -> str:
    if not family or family == UNKNOWN:
        return ""
    shown = [part for part in versions if part]
    return " ".join([family, ".".join(shown)]) if shown else family


def describe(user_agent: str) -> DeviceDescription:
    """The browser (with its major version) and the operating system of a User-Agent."""
    result = parse(user_agent or "")
    browser = _named(result.user_agent.family, result.user_agent.major) if result.user_agent else ""
    system = ""
    if result.os:
        minor = result.os.minor if result.os.family in ("Mac OS X", "iOS", "Android") else None
        system = _named(result.os.family, result.os.major, minor)
    return DeviceDescription(browser=browser, system=system)
