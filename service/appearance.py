"""The site's look: accent colour, logo, custom CSS, and the administrator's header/footer code.

Custom CSS is never put inside a page: it is served as a stylesheet (``/site.css``, with
the accent colour as a CSS custom property) whose URL carries a digest of its text, so a
change reaches every browser at once and an unchanged one stays cached.

The header/footer code is trusted code from an administrator (analytics snippets), put
into reader pages as written. The Content-Security-Policy still allows only what it names:
the sha256 of each inline ``<script>`` and the hosts of external ``<script src>``
(``script_allowances``), added to reader pages' ``script-src``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from service.errors import Invalid

MAX_CUSTOM_CSS = 50_000  # characters
MAX_CODE = 20_000  # characters, each of header and footer code
MAX_LOGO_URL = 255  # the column
_ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")
_HOST = re.compile(r"^[a-z0-9.-]+(?::[0-9]{1,5})?$")

# What a stylesheet must not do here: leave a <style> element if ever inlined, pull in
# other stylesheets, run script through old browser extensions or javascript: URLs.
_CSS_ABUSE = [
    (re.compile(r"</\s*style", re.IGNORECASE), "/* removed */"),
    (re.compile(r"<!--|-->"), ""),
    (re.compile(r"@import[^;]*;?", re.IGNORECASE), "/* removed */"),
    (re.compile(r"(?:java|vb)script\s*:", re.IGNORECASE), "invalid:"),
    (re.compile(r"expression\s*\(", re.IGNORECASE), "invalid("),
    (re.compile(r"-moz-binding|behavior\s*:", re.IGNORECASE), "invalid-property:"),
]


def validate_accent(raw: str) -> str:
    """An accent colour ``#rrggbb`` (lower case), or "" for the theme's own."""
    value = raw.strip()
    if not value:
        return ""
    if not _ACCENT.match(value):
        raise Invalid("The accent colour must look like {example}.", example="#8a3b12")
    return value.lower()


def validate_logo_url(raw: str) -> str:
    """A logo address: an uploaded file (``/media/...``) or an https URL; "" for none."""
    value = raw.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    local = value.startswith("/media/") and not parts.netloc
    if len(value) > MAX_LOGO_URL or not (local or (parts.scheme == "https" and parts.netloc)):
        raise Invalid("The logo must be an uploaded image or an https address.")
    if any(ch in value for ch in "\"'<> \\"):
        raise Invalid("The logo must be an uploaded image or an https address.")
    return value


def clean_css(raw: str) -> str:
    """Custom CSS as it is served: size-limited, with the abuses above neutralised."""
    text = raw.replace("\r\n", "\n").strip()
    if len(text) > MAX_CUSTOM_CSS:
        raise Invalid(
            "The custom CSS must be at most {limit} characters long.", limit=MAX_CUSTOM_CSS
        )
    previous = None
    while previous != text:  # removing one pattern must not assemble another
        previous = text
        for pattern, replacement in _CSS_ABUSE:
            text = pattern.sub(replacement, text)
    return text


def validate_code(raw: str) -> str:
    text = raw.replace("\r\n", "\n").strip()
    if len(text) > MAX_CODE:
        raise Invalid(
            "Header and footer code must be at most {limit} characters each.", limit=MAX_CODE
        )
    return text


def site_stylesheet(accent_color: str, custom_css: str) -> str:
    """The text of ``/site.css``: the accent colour, then the site's custom CSS."""
    parts = ["/* Inkwell: this site's look, from Settings. */"]
    if accent_color:
        parts.append(f":root {{ --accent: {accent_color}; --link: {accent_color}; }}")
    if custom_css:
        parts.append(custom_css)
    return "\n".join(parts) + "\n"


@functools.lru_cache(maxsize=8)
def stylesheet_version(accent_color: str, custom_css: str) -> str:
    """A short digest for ``/site.css?v=``: changes exactly when the stylesheet does."""
    text = site_stylesheet(accent_color, custom_css)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class ScriptAllowances:
    """What a page's CSP must allow for the header/footer code to run."""

    hashes: tuple[str, ...]  # "'sha256-…'" sources
    hosts: tuple[str, ...]  # "https://host" sources of external scripts

    @property
    def sources(self) -> tuple[str, ...]:
        return (*self.hashes, *self.hosts)


class _ScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.inline: list[str] = []
        self.hosts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "script":
            return
        src = dict(attrs).get("src")
        if src:
            parts = urlsplit(src.strip())
            host = parts.netloc.lower()
            # Only a plain host name may enter the policy (no ";", quotes or spaces).
            if parts.scheme in ("https", "") and _HOST.match(host):
                self.hosts.append(f"https://{host}")
            self._current = None
        else:
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.inline.append("".join(self._current))
            self._current = None


@functools.lru_cache(maxsize=16)
def script_allowances(*snippets: str) -> ScriptAllowances:
    """The sha256 of every inline script (exactly its text, as browsers hash it) and the
    https hosts of every external script in the snippets."""
    hashes: list[str] = []
    hosts: list[str] = []
    for snippet in snippets:
        finder = _ScriptFinder()
        finder.feed(snippet)
        finder.close()
        for text in finder.inline:
            digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
            source = f"'sha256-{digest}'"
            if source not in hashes:
                hashes.append(source)
        hosts.extend(host for host in finder.hosts if host not in hosts)
    return ScriptAllowances(tuple(hashes), tuple(hosts))
