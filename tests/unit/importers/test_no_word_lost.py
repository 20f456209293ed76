"""No word is lost: every post of every import fixture, read as its old site showed it,
has all its visible words, in order, in the Inkwell article rendered from the import.

The fixtures hold what Markdown cannot say (YouTube and Vimeo embeds, video and audio,
an iframe from an unknown site, ``[caption]``, ``[embed]``, ``[audio]`` and an unknown
shortcode, tables with captions, code blocks with their language, details, Ghost's
bookmark, callout, toggle, gallery and HTML cards, Chinese text); those parts are kept as
sanitised HTML, which these tests check too.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import defusedxml.ElementTree as SafeTree
import pytest
from sqlalchemy import select

from extends.storage import LocalMediaStore
from model import Article
from service.importers.run import import_file
from service.rendering import render_markdown

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
WXR_FILES = [FIXTURES / "wxr" / "wordpress6.xml", FIXTURES / "wxr" / "wordpress6-content.xml"]
GHOST_FILES = [FIXTURES / "ghost" / "ghost5.json", FIXTURES / "ghost" / "ghost5-cards.json"]
WP = "{http://wordpress.org/export/1.2/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"

# Elements whose text a reader never sees as text (players show their media instead).
_UNSEEN = {"script", "style", "template", "video", "audio", "iframe", "svg", "noscript"}
_WORD = re.compile(r"\w+")


class VisibleText(HTMLParser):
    """The words a browser shows for an HTML fragment, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.unseen = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _UNSEEN:
            self.unseen += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNSEEN and self.unseen:
            self.unseen -= 1

    def handle_data(self, data: str) -> None:
        if not self.unseen:
            self.words += _WORD.findall(data)


def visible_words(fragment: str) -> list[str]:
    parser = VisibleText()
    parser.feed(fragment)
    parser.close()
    return parser.words


def as_wordpress_shows_it(content: str) -> str:
    """What WordPress turns a post's stored HTML into on display: block comments gone,
    the caption shortcode's own markup gone, embeds and media shortcodes shown as players."""
    content = re.sub(r"<!--.*?-->", "", content, flags=re.S)
    content = re.sub(r"\[/?caption[^\]]*\]", "", content)
    content = re.sub(r"\[embed[^\]]*\].*?\[/embed\]", "", content, flags=re.S)
    content = re.sub(r'<div class="wp-block-embed__wrapper">.*?</div>', "", content, flags=re.S)
    return re.sub(r"\[(audio|video)\b[^\]]*\](\s*\[/\1\])?", "", content)


def wxr_posts(path: Path) -> list[tuple[str, str]]:
    """(title, HTML as shown) of each post and page the import takes."""
    posts = []
    for item in SafeTree.parse(path).getroot().iter("item"):
        kind, status = item.findtext(f"{WP}post_type"), item.findtext(f"{WP}status")
        if kind in ("post", "page") and status not in ("trash", "auto-draft"):
            posts.append((item.findtext("title") or "", item.findtext(CONTENT) or ""))
    return [(title, as_wordpress_shows_it(content)) for title, content in posts]


def ghost_posts(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))["db"][0]["data"]
    return [(post["title"], post["html"] or "") for post in data["posts"]]


def imported_articles(db, tmp_path: Path, path: Path) -> dict[str, Article]:
    uploads = path.parent / ("uploads" if path.suffix == ".xml" else "images")
    import_file(db, LocalMediaStore(tmp_path / "media"), path, uploads=uploads, fetch_urls=False)
    return {article.title: article for article in db.scalars(select(Article))}


def assert_in_order(expected: list[str], shown: list[str], title: str) -> None:
    position = 0
    for index, word in enumerate(expected):
        try:
            position = shown.index(word, position) + 1
        except ValueError:
            context = " ".join(expected[max(0, index - 5) : index + 5])
            pytest.fail(f"{title!r}: the word {word!r} is lost (around: {context!r})")


def element(shown: str, tag: str, src: str) -> bool:
    """True when ``shown`` has a ``tag`` element of this ``src`` with the player's controls."""
    return any(
        f'src="{src}"' in found and 'controls="controls"' in found
        for found in re.findall(rf"<{tag}\b[^>]*>", shown)
    )


CASES = [(path, title, html) for path in WXR_FILES for title, html in wxr_posts(path)]
CASES += [(path, title, html) for path in GHOST_FILES for title, html in ghost_posts(path)]


@pytest.mark.parametrize(
    ("path", "title", "source_html"), CASES, ids=[f"{c[0].name}:{c[1]}" for c in CASES]
)
def test_every_visible_word_of_the_source_is_in_the_rendered_article(
    db, tmp_path, path, title, source_html
):
    article = imported_articles(db, tmp_path, path)[title]
    assert article.content_html == render_markdown(article.content).html  # what readers get
    expected = visible_words(source_html)
    assert expected, "the fixture post has words"
    assert_in_order(expected, visible_words(article.content_html), title)


def test_wordpress_embeds_media_tables_and_code_are_kept(db, tmp_path):
    article = imported_articles(db, tmp_path, WXR_FILES[1])["Embeds, media and tables"]
    shown = article.content_html
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in shown  # embed block
    assert 'src="https://player.vimeo.com/video/76979871"' in shown  # [embed]
    assert shown.count("sandbox=") == 2
    uploads = "https://rich.example.com/wp-content/uploads/2024/02"
    assert element(shown, "video", f"{uploads}/waves.mp4")
    assert element(shown, "audio", f"{uploads}/gulls.mp3")
    assert element(shown, "audio", f"{uploads}/bells.mp3")  # [audio]
    # An iframe from a site that is not a known player: a link to it, never a frame.
    assert '<a href="https://maps.example.net/embed?route=42"' in shown
    assert "maps.example.net" not in "".join(re.findall(r"<iframe[^>]*>", shown))
    assert "<table>" in shown and "<th>Cost</th>" in shown
    assert "```javascript\nconst total = 12 + 9;" in article.content
    assert "<details><summary>Where we slept</summary>" in shown
    assert "&lt;table&gt; of costs" in shown  # a tag written as text stays text
    assert "[contact-form-7" in shown  # an unknown shortcode is kept as written


def test_ghost_cards_are_kept(db, tmp_path):
    article = imported_articles(db, tmp_path, GHOST_FILES[1])["Cards from the coast"]
    shown = article.content_html
    assert 'src="https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed"' in shown
    assert element(shown, "video", "/content/media/2024/03/surf.mp4")
    assert element(shown, "audio", "/content/media/2024/03/foghorn.m4a")
    assert '<a href="https://tides.example.org/"' in shown  # the bookmark card's link
    assert "<th>Low water</th>" in shown and "<blockquote>" in shown
    assert "```python\n" in article.content
    assert "<script" not in shown and "widgets.example.net" not in shown
    assert "style=" not in shown and "__GHOST_URL__" not in shown
