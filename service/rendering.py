"""Markdown to safe HTML, once per save: CommonMark + GFM extras, Pygments, anchors, TOC.

Rendering is a pure function of the Markdown and a lookup of the library images it shows
(``service.media.media_lookup`` prepares it): a library image gets ``srcset``/``sizes``
over its resized copies (WebP first, in a ``<picture>``) and its ``width``/``height``;
every image loads lazily and decodes off the main thread.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
RENDERER_VERSION = "2"

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
    # Raw HTML in Markdown is escaped, not passed through: authors get Markdown only.
    md.options["html"] = False
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
    body = sanitize_html(_MD.render(source or "", env))
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
