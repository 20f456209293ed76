"""Raw HTML in articles' Markdown: the safe subset (media, embeds, details) is kept, the
rest shows as text, and nothing an author writes can run script (the browser XSS corpus,
rendered here, leaves no handler, script, style or javascript: URL behind)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from service.rendering import IFRAME_SANDBOX, render_markdown
from tests.browser.test_xss import PAYLOADS

YOUTUBE = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"


class Elements(HTMLParser):
    """Every start tag of a fragment with its attributes, as the browser would see them."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def named(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def html_of(markdown: str) -> str:
    return render_markdown(markdown).html


def test_an_iframe_from_a_video_player_is_kept_sandboxed():
    page = html_of(
        f'<iframe src="{YOUTUBE}" width="560" srcdoc="<script>x()</script>" onload="x()" '
        'sandbox="allow-top-navigation allow-scripts" allow="camera"></iframe>'
    )
    (iframe,) = Elements(page).named("iframe")
    assert iframe["src"] == YOUTUBE and iframe["width"] == "560"
    assert iframe["sandbox"] == IFRAME_SANDBOX  # the author's sandbox is replaced
    assert "allow-top-navigation" not in page
    for dropped in ("srcdoc", "onload", "allow"):
        assert dropped not in iframe
    vimeo = html_of('<iframe src="https://player.vimeo.com/video/123456"></iframe>')
    assert Elements(vimeo).named("iframe")[0]["src"] == "https://player.vimeo.com/video/123456"


@pytest.mark.parametrize(
    "source",
    [
        '<iframe src="https://evil.example/frame">fallback</iframe>',
        '<iframe src="http://www.youtube.com/embed/x"></iframe>',  # not https
        '<iframe src="https://www.youtube.com.evil.example/embed/x"></iframe>',
        '<iframe src="https://user@www.youtube.com/embed/x"></iframe>',
    ],
)
def test_an_iframe_from_anywhere_else_becomes_a_link(source):
    page = html_of(source)
    elements = Elements(page)
    assert elements.named("iframe") == []
    (link,) = elements.named("a")
    assert link["href"].startswith(("http://", "https://"))
    assert "fallback" not in page


@pytest.mark.parametrize(
    "source",
    [
        "<iframe src=javascript:window.__xss=1></iframe>",
        '<iframe src="data:text/html,<script>parent.__xss=1</script>"></iframe>',
        '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
        "<iframe onload=window.__xss=1></iframe>",
    ],
)
def test_an_iframe_without_an_http_source_is_dropped(source):
    page = html_of(source)
    assert Elements(page).named("iframe") == [] and Elements(page).named("a") == []
    assert "__xss" not in page


def test_video_and_audio_are_kept_with_controls_and_without_handlers():
    page = html_of(
        '<video src="https://cdn.example/clip.mp4" poster="javascript:x()" onerror="x()" '
        'autoplay><source src="javascript:x()"><track src="https://cdn.example/en.vtt" '
        'kind="captions" srclang="en"></video>\n\n'
        '<audio src="https://cdn.example/a.mp3" onplay="x()"></audio>'
    )
    elements = Elements(page)
    (video,) = elements.named("video")
    assert video == {"src": "https://cdn.example/clip.mp4", "controls": "controls"}
    assert elements.named("source") == [{}]
    assert elements.named("track")[0]["src"] == "https://cdn.example/en.vtt"
    assert elements.named("audio") == [{"src": "https://cdn.example/a.mp3", "controls": "controls"}]


def test_details_figures_and_simple_markup_are_kept():
    page = html_of(
        "<details open ontoggle=x()><summary>More</summary>\n\nHidden *text*\n\n</details>\n\n"
        "<figure><img src=https://cdn.example/a.png onerror=x()><figcaption>A caption"
        "</figcaption></figure>\n\nSome <mark>marked</mark> and <kbd>Ctrl</kbd> words."
    )
    elements = Elements(page)
    assert elements.named("details") == [{"open": ""}]
    assert "<summary>More</summary>" in page and "<em>text</em>" in page
    assert "<figcaption>A caption</figcaption>" in page
    assert elements.named("img") == [{"src": "https://cdn.example/a.png"}]
    assert "<mark>marked</mark>" in page and "<kbd>Ctrl</kbd>" in page


def test_raw_html_cannot_borrow_the_pages_classes_or_styles():
    page = html_of('<div class="flash flash-error" id="login" style="position:fixed">Sign in</div>')
    assert Elements(page).named("div") == [{}]
    assert "Sign in" in page


def test_other_tags_show_as_text():
    page = html_of("a <script>x()</script> b <angle> c <style>p{}</style> <svg onload=x()>")
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "&lt;angle&gt;" in page and "&lt;style&gt;" in page and "&lt;svg onload=x()&gt;" in page
    assert [tag for tag, _ in Elements(page).tags] == ["p"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_of_the_xss_corpus_leaves_anything_that_runs(payload):
    markdown = f"# {payload}\n\n{payload}\n\n> {payload}\n\n- {payload}\n\n`{payload}`"
    for tag, attrs in Elements(html_of(markdown)).tags:
        assert tag not in {"script", "style", "svg", "math", "object", "embed", "base", "meta"}
        assert tag != "iframe" or attrs["src"].startswith("https://www.youtube")
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in {"srcdoc", "style", "formaction", "xlink:href"}, (tag, name)
            squeezed = "".join(value.split()).lower()
            assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), (tag, name)
