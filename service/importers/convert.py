"""WordPress / Ghost HTML → Inkwell Markdown (markdownify), block comments and shortcodes first.

What Markdown cannot say is kept as HTML inside the Markdown: video, audio, iframes and
details pass through as written, and Inkwell's renderer keeps what is safe of them
(``service.rendering.RAW_HTML_TAGS``: an iframe only from a known video player, anything
else becomes a link). A YouTube or Vimeo link that WordPress showed as a player (an
``[embed]`` or an embed block) becomes that player again.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from markdownify import MarkdownConverter

_BLOCK_COMMENT = re.compile(r"<!--\s*/?wp:[^>]*?-->", re.S)
_OTHER_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CAPTION = re.compile(r"\[caption[^\]]*\](.*?)\[/caption\]", re.S | re.I)
_EMBED = re.compile(r"\[embed[^\]]*\](.*?)\[/embed\]", re.S | re.I)
# WordPress's embed block stores the bare URL and asks the provider (oEmbed) on display.
_EMBED_BLOCK = re.compile(
    r"<div class=\"wp-block-embed__wrapper\">\s*(https?://[^\s<]+)\s*</div>", re.S | re.I
)
_MEDIA_SHORTCODE = re.compile(r"\[(audio|video)\b([^\]]*)\](?:\s*\[/\1\])?", re.I)
_SHORTCODE_ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")
_MEDIA_SOURCES = ("src", "mp3", "m4a", "ogg", "wav", "mp4", "webm", "ogv", "m4v")
_VIDEO_ID = re.compile(r"^[\w-]{6,20}$")
_BLOCK_TAG = re.compile(r"<(p|div|h[1-6]|ul|ol|pre|blockquote|table|figure)\b", re.I)
_LANGUAGE = re.compile(r"(?:language|lang)-([\w+#-]+)")
_BLANK_LINES = re.compile(r"\n{3,}")
_BLANK_IN_HTML = re.compile(r"\n\s*\n")


def player_url(url: str) -> str | None:
    """The embeddable player of a YouTube or Vimeo page's URL, or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    video = ""
    if host == "youtube.com" and parts.path == "/watch":
        video = (parse_qs(parts.query).get("v") or [""])[0]
    elif host == "youtu.be":
        video = parts.path.strip("/")
    elif host == "youtube.com" and parts.path.startswith(("/embed/", "/shorts/")):
        video = parts.path.split("/")[2]
    if video and _VIDEO_ID.match(video):
        return f"https://www.youtube-nocookie.com/embed/{video}"
    vimeo = parts.path.strip("/")
    if host == "vimeo.com" and vimeo.isdigit():
        return f"https://player.vimeo.com/video/{vimeo}"
    return None


def _embed_html(url: str) -> str:
    url = html_lib.unescape(url.strip())
    player = player_url(url)
    quoted = html_lib.escape(url)
    if player is None:
        return f'<p><a href="{quoted}">{quoted}</a></p>'
    return (
        f'<iframe src="{html_lib.escape(player)}" width="560" height="315" '
        f'title="{quoted}" allowfullscreen></iframe>'
    )


def _media_shortcode(match: re.Match[str]) -> str:
    """``[audio mp3="…"]`` / ``[video mp4="…"]`` → the element WordPress would show."""
    kind = match.group(1).lower()
    attributes = {
        name.lower(): next((value for value in values if value), "")
        for name, *values in _SHORTCODE_ATTRIBUTE.findall(match.group(2))
    }
    src = next((attributes[name] for name in _MEDIA_SOURCES if attributes.get(name)), "")
    if not src:
        return match.group(0)
    return f'<{kind} controls src="{html_lib.escape(html_lib.unescape(src))}"></{kind}>'


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
    """markdownify, plus code languages from WordPress/Ghost classes; media, frames and
    details kept as HTML; text that looks like a tag stays text."""

    def escape(self, text: str, parent_tags: Any) -> str:
        # Inkwell's Markdown keeps some raw HTML: "&lt;video&gt;" in a post is a word, not a tag.
        # (markdownify's stub leaves its escape hook out; the method is public in 1.x)
        escaped: str = super().escape(text, parent_tags)  # type: ignore[misc]
        return escaped.replace("&", "&amp;").replace("<", "&lt;")

    def convert_a(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        href = str(el.get("href") or "")
        if "\n" in text.strip() and href.startswith(("http://", "https://")):
            # A link around blocks (Ghost's bookmark card): Markdown links hold one line.
            return f"\n\n{text.strip()}\n\n<{href}>\n\n"
        converted: str = super().convert_a(el, text, *args, **kwargs)  # type: ignore[misc]
        return converted

    def convert_iframe(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        return self._keep(el)

    def convert_video(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        return self._keep(el)

    def convert_audio(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        return self._keep(el)

    def convert_details(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
        return self._keep(el)

    @staticmethod
    def _keep(el: Any) -> str:
        # A blank line would end the HTML block in Markdown; the renderer sanitises it.
        kept = _BLANK_IN_HTML.sub("\n", str(el)).strip()
        return f"\n\n{kept}\n\n"


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
    language, tables and images are kept; block comments dropped, [caption] → figure,
    [embed] and embed blocks → players, [audio]/[video] → the elements."""
    html = _BLOCK_COMMENT.sub("", html or "")
    html = _OTHER_COMMENT.sub("", html)
    html = _CAPTION.sub(_caption, html)
    html = _EMBED.sub(lambda m: _embed_html(m.group(1)), html)
    html = _EMBED_BLOCK.sub(lambda m: _embed_html(m.group(1)), html)
    html = _autop(html.strip())
    html = _MEDIA_SHORTCODE.sub(_media_shortcode, html)
    markdown = InkwellConverter(
        heading_style="ATX",
        bullets="-",
        code_language_callback=_code_language,
        escape_underscores=False,
        escape_misc=False,
    ).convert(html)
    return _BLANK_LINES.sub("\n\n", markdown).strip() + "\n"
