"""service.appearance (accent, logo, custom CSS, script allowances) and service.user_agents."""

from __future__ import annotations

import base64
import hashlib

import pytest

from service import appearance, user_agents
from service.errors import Invalid


def test_accent_colours_are_hex_rgb():
    assert appearance.validate_accent(" #AABBCC ") == "#aabbcc"
    assert appearance.validate_accent("") == ""
    for bad in ("red", "#abc", "#12345g", "#1234567", "#123456; } body { x"):
        with pytest.raises(Invalid):
            appearance.validate_accent(bad)


def test_logos_are_uploads_or_https_addresses():
    assert appearance.validate_logo_url("/media/ab.png") == "/media/ab.png"
    assert appearance.validate_logo_url("https://cdn.example.org/logo.svg").startswith("https://")
    for bad in ("javascript:alert(1)", "http://x.org/a.png", "//evil.org/a.png", '/media/a.png"'):
        with pytest.raises(Invalid):
            appearance.validate_logo_url(bad)


def test_custom_css_is_limited_and_defused():
    cleaned = appearance.clean_css(
        "@import url(https://evil.org/x.css);\n"
        "body { background: url(javascript:alert(1)); }\n"
        "p { width: expression(alert(1)); }\n"
        "</style><script>alert(1)</script>\n"
        "a { color: #c00; }"
    )
    lowered = cleaned.lower()
    assert "@import" not in lowered and "javascript:" not in lowered
    assert "expression(" not in lowered and "</style" not in lowered
    assert "a { color: #c00; }" in cleaned
    # Removing one pattern does not assemble another.
    assert "</style" not in appearance.clean_css("<</style/style").lower()
    with pytest.raises(Invalid):
        appearance.clean_css("a{}" * appearance.MAX_CUSTOM_CSS)


def test_the_stylesheet_and_its_version_follow_the_settings():
    sheet = appearance.site_stylesheet("#112233", "h1 { color: red; }")
    assert "--accent: #112233" in sheet and sheet.endswith("h1 { color: red; }\n")
    one = appearance.stylesheet_version("#112233", "h1 { color: red; }")
    assert one == appearance.stylesheet_version("#112233", "h1 { color: red; }")
    assert one != appearance.stylesheet_version("#112234", "h1 { color: red; }")


def test_inline_scripts_are_hashed_and_script_hosts_allowed():
    inline = "\n  window.dataLayer = [];\n"
    snippet = (
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>'
        f"<script>{inline}</script>"
        '<script src="//stats.example.org/s.js"></script>'
        '<script src="https://bad.org;script-src *"></script>'
        '<script src="/local.js"></script>'
    )
    allowances = appearance.script_allowances(snippet, "<noscript><img src=x></noscript>")
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert allowances.hashes == (f"'sha256-{digest}'",)
    assert allowances.hosts == ("https://www.googletagmanager.com", "https://stats.example.org")
    assert appearance.script_allowances("", "").sources == ()


@pytest.mark.parametrize(
    ("agent", "words"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36",
            ("Chrome 120", "Windows 10"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            ("Firefox 121", "Linux"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
            ("Mobile Safari 17", "iOS 17.2"),
        ),
        ("", ("", "")),
    ],
)
def test_user_agents_are_named_in_words(agent, words):
    described = user_agents.describe(agent)
    assert (described.browser, described.system) == words
