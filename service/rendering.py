"""Markdown to safe HTML, once per save: CommonMark + GFM extras, Pygments, anchors, TOC.

Rendering is a pure function of the Markdown and a lookup of the library images it shows
(``service.media.media_lookup`` prepares it): a library image gets ``srcset``/``sizes``
over its resized copies (WebP first, in a ``<picture>``) and its ``width``/``height``;
every image loads lazily and decodes off the main thread.

Raw HTML in the Markdown is shown as text, except a safe subset (``RAW_HTML_TAGS``): what
Markdown cannot say (video, audio, embeds, details, figures with captions) is kept as
HTML, which is how imported posts keep their embeds. An ``<iframe>`` is kept only from
``EMBED_HOSTS``, sandboxed; one from elsewhere becomes a link to it. The whole result
then goes through nh3 with an allow-list, so no script, style or ``on…`` attribute gets in.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from service.images import ARTICLE_SIZES, ImageInfo

# Bump when the output of render_markdown changes: cached HTML is re-rendered on read.
RENDERER_VERSION = "3"

# A table of contents is worth showing from this many headings on.
TOC_MIN_HEADINGS = 3

_FORMATTER = HtmlFormatter(nowrap=True)

_ALLOWED_TAGS = nh3.ALLOWED_TAGS | {
    "input",
    "span",
    "div",
    "pre",
    "code",
    "sup",
    "sub",
    "section",
    "hr",
    "del",
    "s",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "figure",
    "figcaption",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "picture",
    "source",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading", "decoding", "srcset", "sizes"},
    "source": {"type", "srcset", "sizes"},
    "input": {"type", "checked", "disabled"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
    "li": {"value"},
}


# Tags an author may write as raw HTML in Markdown; any other tag shows as text.
RAW_HTML_TAGS = frozenset(
    {
        "video",
        "audio",
        "source",
        "track",
        "iframe",
        "figure",
        "figcaption",
        "details",
        "summary",
        "p",
        "br",
        "div",
        "span",
        "a",
        "img",
        "em",
        "strong",
        "b",
        "i",
        "u",
        "s",
        "del",
        "ins",
        "sub",
        "sup",
        "mark",
        "small",
        "abbr",
        "kbd",
        "code",
        "pre",
        "blockquote",
        "cite",
        "q",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
# The only sites an article may frame (the Content-Security-Policy's frame-src says the same).
EMBED_HOSTS = (
    "www.youtube-nocookie.com",
    "www.youtube.com",
    "player.vimeo.com",
)
# Framed players run their own scripts in their own origin, never ours.
IFRAME_SANDBOX = "allow-scripts allow-same-origin allow-presentation allow-popups"
_ARTICLE_TAGS = _ALLOWED_TAGS | {
    "video",
    "audio",
    "track",
    "iframe",
    "details",
    "summary",
    "mark",
    "small",
    "kbd",
    "ins",
    "caption",
    "tfoot",
}
_ARTICLE_ATTRIBUTES = _ALLOWED_ATTRIBUTES | {
    "video": {"src", "poster", "width", "height", "preload", "loop", "muted", "playsinline"},
    "audio": {"src", "preload", "loop"},
    "source": {"type", "srcset", "sizes", "src", "media"},
    "track": {"src", "kind", "srclang", "label", "default"},
    "iframe": {"src", "width", "height", "allowfullscreen"},
    "details": {"open"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
# nh3 sets these whatever the author wrote (one per tag: nh3 adds several in no fixed order).
_ARTICLE_FORCED = {
    "iframe": {"sandbox": IFRAME_SANDBOX},
    "video": {"controls": "controls"},
    "audio": {"controls": "controls"},
}
# An embed's other fixed attributes, written by the raw-HTML pass and only so allowed.
_IFRAME_FIXED = (("referrerpolicy", "strict-origin-when-cross-origin"), ("loading", "lazy"))
_ARTICLE_ATTRIBUTE_VALUES = {"iframe": {name: {value} for name, value in _IFRAME_FIXED}}
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
# Raw HTML may not borrow the page's own look (a fake sign-in box drawn with its classes).
_RAW_DROPPED_ATTRIBUTES = frozenset({"id", "class", "style"})


def embeddable(src: str) -> bool:
    """True when an ``<iframe>`` of ``src`` may be shown: https, from ``EMBED_HOSTS``."""
    try:
        parts = urlsplit(src.strip())
    except ValueError:
        return False
    return parts.scheme == "https" and (parts.hostname or "") in EMBED_HOSTS and not parts.username


def _keep_embed_source(tag: str, attribute: str, value: str) -> str | None:
    if tag == "iframe" and attribute == "src":
        return value if embeddable(value) else None
    return value


@dataclass
class _RawState:
    """Kept across the raw-HTML tokens of one document: an iframe turned into a link
    swallows everything up to its closing tag (a fallback nobody would see)."""

    swallowing: int = 0


class _RawHtml(HTMLParser):
    """One raw-HTML token: allowed tags rebuilt from their parsed attributes, the rest
    escaped."""

    def __init__(self, state: _RawState) -> None:
        super().__init__(convert_charrefs=True)
        self.state = state
        self.out: list[str] = []

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> str:
        fixed = _IFRAME_FIXED if tag == "iframe" else ()
        kept = [
            (name, value or "")
            for name, value in attrs
            if _ATTRIBUTE_NAME.match(name)
            and name not in _RAW_DROPPED_ATTRIBUTES
            and name not in dict(fixed)
        ]
        pairs = "".join(f' {name}="{html.escape(value)}"' for name, value in [*kept, *fixed])
        return f"<{tag}{pairs}{' /' if closed else ''}>"

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if self.state.swallowing:
            if tag == "iframe" and not closed:
                self.state.swallowing += 1
            return
        if tag not in RAW_HTML_TAGS:
            self.out.append(html.escape(self.get_starttag_text() or ""))
            return
        if tag == "iframe":
            src = dict(attrs).get("src") or ""
            if not embeddable(src):
                if src.startswith(("http://", "https://")):
                    self.out.append(f'<a href="{html.escape(src)}">{html.escape(src)}</a>')
                if not closed:
                    self.state.swallowing = 1
                return
        self.out.append(self._tag(tag, attrs, closed))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def handle_endtag(self, tag: str) -> None:
        if self.state.swallowing:
            if tag == "iframe":
                self.state.swallowing -= 1
            return
        self.out.append(f"</{tag}>" if tag in RAW_HTML_TAGS else html.escape(f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        if not self.state.swallowing:
            self.out.append(html.escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        if not self.state.swallowing:
            self.out.append(html.escape(f"<!--{data}-->", quote=False))

    def handle_decl(self, decl: str) -> None:
        self.handle_data(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.handle_data(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.handle_data(f"<![{data}]>")


def _render_raw_html(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    state = env.setdefault("raw_html", _RawState())
    parser = _RawHtml(state)
    parser.feed(tokens[idx].content)
    parser.close()
    return "".join(parser.out)


def _highlight_code(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang.strip()) if lang.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return f'<pre class="highlight"><code>{html.escape(code)}</code></pre>'
    # Starting with "<pre" tells markdown-it not to wrap the block a second time.
    return f'<pre class="highlight"><code>{highlight(code, lexer, _FORMATTER)}</code></pre>\n'


def _attributes(pairs: Sequence[tuple[str, str | int]]) -> str:
    return "".join(f' {name}="{escapeHtml(str(value))}"' for name, value in pairs)


def picture_html(
    image: ImageInfo,
    alt: str,
    sizes: str,
    loading: str = "lazy",
    title: str | None = None,
    small: bool = False,
) -> str:
    """A library image at every size it has: WebP copies first, then the original's format.

    ``small`` (a card's thumbnail) makes the smallest copy the ``src`` and its size the
    ``width``/``height``; otherwise the original. The proportions are the same either way.
    """
    fallback = image.smallest() if small else image.sources()[-1]
    img: list[tuple[str, str | int]] = [("src", fallback.url), ("alt", alt)]
    if title:
        img.append(("title", title))
    img += [
        ("srcset", image.srcset),
        ("sizes", sizes),
        ("width", fallback.width),
        ("height", fallback.height),
        ("loading", loading),
        ("decoding", "async"),
    ]
    webp = image.webp_srcset
    source = (
        f"<source{_attributes([('type', 'image/webp'), ('srcset', webp), ('sizes', sizes)])}>"
        if webp
        else ""
    )
    return f"<picture>{source}<img{_attributes(img)}></picture>"


def _render_image(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    src = str(token.attrGet("src") or "")
    title = token.attrGet("title")
    images: Mapping[str, ImageInfo] = env.get("images") or {}
    image = images.get(src)
    if image is not None:
        return picture_html(image, alt, ARTICLE_SIZES, title=str(title) if title else None)
    # An outside image: its size is unknown, but it need not hold up the page.
    pairs: list[tuple[str, str | int]] = [("src", src), ("alt", alt)]
    if title:
        pairs.append(("title", str(title)))
    pairs += [("loading", "lazy"), ("decoding", "async")]
    return f"<img{_attributes(pairs)}>"


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"highlight": _highlight_code, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(tasklists_plugin)
    md.use(anchors_plugin, min_level=2, max_level=4, permalink=True, permalinkSymbol="#")
    # Raw HTML is parsed, but only RAW_HTML_TAGS come out as HTML (the rest as text).
    md.options["html"] = True
    md.add_render_rule("html_block", _render_raw_html)
    md.add_render_rule("html_inline", _render_raw_html)
    md.add_render_rule("image", _render_image)
    return md


_MD = _build_markdown()
_HEADING = re.compile(r'<h([2-4]) id="([^"]+)">(.*?)</h\1>', re.S)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Rendered:
    html: str
    toc_html: str


def sanitize_html(fragment: str) -> str:
    """Keep formatting and code highlighting; drop scripts, handlers and unsafe URLs."""
    return nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        filter_style_properties={"text-align"},
    )


def _sanitize_article(fragment: str) -> str:
    """sanitize_html, plus the media, embeds and details that articles may hold."""
    return nh3.clean(
        fragment,
        tags=_ARTICLE_TAGS,
        attributes=_ARTICLE_ATTRIBUTES,
        attribute_filter=_keep_embed_source,
        tag_attribute_values=_ARTICLE_ATTRIBUTE_VALUES,
        set_tag_attribute_values=_ARTICLE_FORCED,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        filter_style_properties={"text-align"},
    )


def _toc(body: str) -> str:
    entries = []
    for level, anchor, inner in _HEADING.findall(body):
        text = html.unescape(_TAGS.sub("", inner)).rstrip("#").strip()
        entries.append((int(level), anchor, text))
    if len(entries) < TOC_MIN_HEADINGS:
        return ""
    items = "".join(
        f'<li class="toc-l{level}"><a href="#{html.escape(anchor)}">{html.escape(text)}</a></li>'
        for level, anchor, text in entries
    )
    return f"<ol>{items}</ol>"


def render_markdown(source: str, images: Mapping[str, ImageInfo] | None = None) -> Rendered:
    """Render an article's Markdown to sanitised HTML and a table of contents.

    ``images`` maps a library image's URL (``/media/<name>``) to what is known of it.
    """
    env: dict[str, Any] = {"images": dict(images or {})}
    body = _sanitize_article(_MD.render(source or "", env))
    return Rendered(html=body, toc_html=_toc(body))


# Reading speeds: words of alphabetic scripts, and characters of Chinese (and Japanese,
# Korean), which are read one by one rather than as space-separated words.
WORDS_PER_MINUTE = 265
CJK_CHARACTERS_PER_MINUTE = 400
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def reading_minutes(text: str) -> int:
    """Minutes to read ``text`` (plain text or HTML), at least one."""
    plain = html.unescape(_TAGS.sub(" ", text or ""))
    characters = len(_CJK.findall(plain))
    words = len(_WORD.findall(_CJK.sub(" ", plain)))
    minutes = words / WORDS_PER_MINUTE + characters / CJK_CHARACTERS_PER_MINUTE
    return max(1, math.ceil(minutes))


def first_paragraph_text(source: str, limit: int = 280) -> str:
    """Plain text of the first paragraph, for summaries and descriptions."""
    tokens = _MD.parse(source or "")
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and index + 1 < len(tokens):
            text = "".join(
                child.content for child in (tokens[index + 1].children or []) if child.content
            ).strip()
            if text:
                return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return ""
