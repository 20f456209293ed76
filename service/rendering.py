"""Markdown to safe HTML, once per save: CommonMark + GFM extras, Pygments, anchors, TOC."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

# Bump when the output of render_markdown changes: cached HTML is re-rendered on read.
RENDERER_VERSION = "1"

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
}
_ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
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


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"highlight": _highlight_code, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(tasklists_plugin)
    md.use(anchors_plugin, min_level=2, max_level=4, permalink=True, permalinkSymbol="#")
    # Raw HTML in Markdown is escaped, not passed through: authors get Markdown only.
    md.options["html"] = False
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


def render_markdown(source: str) -> Rendered:
    """Render an article's Markdown to sanitised HTML and a table of contents."""
    body = sanitize_html(_MD.render(source or ""))
    return Rendered(html=body, toc_html=_toc(body))


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
