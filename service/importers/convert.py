"""WordPress / Ghost HTML → Inkwell Markdown (markdownify), block comments and shortcodes first."""

from __future__ import annotations

import re
from typing import Any

from markdownify import MarkdownConverter

_BLOCK_COMMENT = re.compile(r"<!--\s*/?wp:[^>]*?-->", re.S)
_OTHER_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CAPTION = re.compile(r"\[caption[^\]]*\](.*?)\[/caption\]", re.S | re.I)
_EMBED = re.compile(r"\[embed[^\]]*\](.*?)\[/embed\]", re.S | re.I)
_BLOCK_TAG = re.compile(r"<(p|div|h[1-6]|ul|ol|pre|blockquote|table|figure)\b", re.I)
_LANGUAGE = re.compile(r"(?:language|lang)-([\w+#-]+)")
_BLANK_LINES = re.compile(r"\n{3,}")


def _caption(match: re.Match[str]) -> str:
    inner = match.group(1)
    image = re.search(r"(<a\b[^>]*>\s*)?<img\b[^>]*>(\s*</a>)?", inner, re.S)
    if image is None:
        return inner
    caption = (inner[: image.start()] + inner[image.end() :]).strip()
    return f"<figure>{image.group(0)}<figcaption>{caption}</figcaption></figure>"


def _autop(html: str) -> str:
    """WordPress's classic editor stores paragraphs as blank lines (wpautop adds <p> on
    display); blocks already have their tags."""
    if _BLOCK_TAG.search(html):
        return html
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", html) if part.strip()]
    return "".join(f"<p>{part.replace(chr(10), '<br>')}</p>" for part in paragraphs)


class InkwellConverter(MarkdownConverter):
    """markdownify, plus code languages from WordPress/Ghost classes and links for embeds."""

    def convert_iframe(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        return self._embed(el)

    def convert_video(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        return self._embed(el) + text

    def convert_audio(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        return self._embed(el) + text

    @staticmethod
    def _embed(el: Any) -> str:
        # Raw HTML is escaped by Inkwell's renderer: an embed is kept as a link to its source.
        src = el.get("src") or ""
        if not src:
            source = el.find("source")
            src = source.get("src", "") if source is not None else ""
        return f"\n\n<{src}>\n\n" if src.startswith(("http://", "https://")) else ""


def _code_language(el: Any) -> str:
    for node in (el, el.find("code")):
        if node is None:
            continue
        match = _LANGUAGE.search(" ".join(node.get("class") or []))
        if match:
            return match.group(1)
    return ""


def html_to_markdown(html: str) -> str:
    """Markdown for a post's HTML: headings, lists, links, emphasis, quotes, code with its
    language, tables and images are kept; block comments dropped, [caption] → figure."""
    html = _BLOCK_COMMENT.sub("", html or "")
    html = _OTHER_COMMENT.sub("", html)
    html = _CAPTION.sub(_caption, html)
    html = _EMBED.sub(
        lambda m: f'<p><a href="{m.group(1).strip()}">{m.group(1).strip()}</a></p>', html
    )
    html = _autop(html.strip())
    markdown = InkwellConverter(
        heading_style="ATX",
        bullets="-",
        code_language_callback=_code_language,
        escape_underscores=False,
        escape_misc=False,
    ).convert(html)
    return _BLANK_LINES.sub("\n\n", markdown).strip() + "\n"
