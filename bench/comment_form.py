"""What a reader's browser sends with a comment: read from the article page at bench time.

``comment_form()`` is the one place that knows how the comment form gets its XSRF token
and signed form time, so it can follow the form when that changes. In order, it takes:

1. the hidden fields of the page's comment form (``_xsrf``, ``form_time``, ...), and the
   cookies the page set;
2. for what is still missing, a GET of the form's own address asking for JSON (what
   static/js/comment-form.js does on a shared page: it answers ``xsrf`` and ``form_time``
   and sets the ``_xsrf`` cookie);
3. if there is still no token: the ``_xsrf`` cookie itself as the field (Tornado accepts
   the cookie's value as the form's token), after a POST without a token that answers with
   a cookie ("the comment POST itself answering a clear retry").

The result is a ready request body and Cookie header for ``bench/lua/comment_post.lua``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from bench.site_data import BENCH_COMMENT_AUTHOR
from bench.wrk import cookie_header

# The product refuses a comment posted sooner than this after the form was shown.
FORM_MIN_AGE_SECONDS = 3.0


class _CommentFormParser(HTMLParser):
    """The first form whose action ends in /comment: its attributes and its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.attributes: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self._inside = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and not self._done and values.get("action", "").endswith("/comment"):
            self._inside = True
            self.action = values["action"]
            self.attributes = values
        elif (
            tag == "input"
            and self._inside
            and values.get("type") == "hidden"
            and values.get("name")
        ):
            self.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside = False
            self._done = True


@dataclass(frozen=True)
class CommentPost:
    """A valid comment POST: where, its body and its Cookie header."""

    path: str
    body: str
    cookie: str
    fetched_at: float  # time.monotonic() when the form was read

    def wait_until_postable(self) -> None:
        """The form's signed time must be a few seconds old before a post is accepted."""
        left = self.fetched_at + FORM_MIN_AGE_SECONDS + 0.5 - time.monotonic()
        if left > 0:
            time.sleep(left)


def comment_form(base: str, article_path: str) -> CommentPost:
    """Read the comment form of ``article_path`` as a browser would (see the module doc)."""
    browser = requests.Session()
    page = browser.get(base + article_path, timeout=30)
    page.raise_for_status()
    fetched_at = time.monotonic()
    parser = _CommentFormParser()
    parser.feed(page.text)
    if not parser.action:
        raise SystemExit(f"bench: no comment form on {article_path}")
    fields = {name: value for name, value in parser.fields.items()}
    action = urlsplit(urljoin(page.url, parser.action)).path
    if not _is_complete(fields, browser):
        # A shared page holds no token: the form's own address answers them as JSON
        # (what static/js/comment-form.js fetches), and sets the _xsrf cookie.
        extra = browser.get(base + action, headers={"Accept": "application/json"}, timeout=30)
        if extra.ok and extra.headers.get("Content-Type", "").startswith("application/json"):
            answer = extra.json()
            fields["_xsrf"] = str(answer.get("xsrf", fields.get("_xsrf", "")))
            fields["form_time"] = str(answer.get("form_time", fields.get("form_time", "")))
            fetched_at = time.monotonic()
    if not fields.get("_xsrf") and "_xsrf" not in browser.cookies:
        # The POST without a token answers with the cookie to retry with.
        browser.post(base + action, data=fields, allow_redirects=False, timeout=30)
    if not fields.get("_xsrf") and "_xsrf" in browser.cookies:
        fields["_xsrf"] = browser.cookies["_xsrf"]
    fields.pop("reply_to", None)
    fields.update(
        author_name=BENCH_COMMENT_AUTHOR,
        author_email="",
        content="A comment from the benchmark; the harness removes it after the run.",
    )
    return CommentPost(
        path=action,
        body=urlencode(fields),
        cookie=cookie_header(dict(browser.cookies.items())),
        fetched_at=fetched_at,
    )


def _is_complete(fields: dict[str, str], browser: requests.Session) -> bool:
    return bool(fields.get("form_time")) and (
        bool(fields.get("_xsrf")) or "_xsrf" in browser.cookies
    )
