"""Old URLs of an imported site (WordPress, Ghost) and where each lives now.

The table is small (a few per imported item) and read on every miss, so the web layer
keeps all of it in memory (``load_map``) and drops it through the cache bus whenever it
changes: answering an old link costs no query.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from model import Redirect
from service.errors import Invalid, NotFound

# The cache scope (and key) of the in-memory map; publish it after every change.
SCOPE = "redirects"
MAX_PATH = 500
# Query arguments that name content on WordPress's front page (/?p=123, /?page_id=7 ...).
_CONTENT_QUERY = ("p", "page_id", "cat", "tag", "author")


def normalize(url: str) -> str:
    """The key an old URL is stored and looked up under: the decoded path without the
    host or a trailing slash, plus the one content argument of ``/?p=123``-style links."""
    parts = urlsplit(url.strip())
    path = unquote(parts.path or "/")
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if parts.query:
        for name, value in parse_qsl(parts.query):
            if name in _CONTENT_QUERY and value:
                return f"{path}?{name}={value}"
    return path


def load_map(session: Session) -> dict[str, str]:
    """Every redirect, old key → new path."""
    return {
        path: target for path, target in session.execute(select(Redirect.path, Redirect.target))
    }


def resolve(redirects: Mapping[str, str], path: str, query: str = "") -> str | None:
    """Where an old URL now lives, or None."""
    return redirects.get(normalize(f"{path}?{query}" if query else path))


def list_redirects(session: Session) -> list[Redirect]:
    return list(session.scalars(select(Redirect).order_by(Redirect.path)))


def _check_target(target: str) -> str:
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or len(target) > MAX_PATH:
        raise Invalid("The new address must be a path on this site, starting with one /.")
    return target


def put(session: Session, old: str, target: str) -> Redirect:
    """Add or replace the redirect of ``old`` (the caller commits)."""
    key = normalize(old)
    if key == "/" or len(key) > MAX_PATH:
        raise Invalid("The old address cannot be redirected: {path}", path=old[:100])
    target = _check_target(target)
    if normalize(target) == key:
        raise Invalid("An address cannot redirect to itself.")
    redirect = session.scalar(select(Redirect).where(Redirect.path == key))
    if redirect is None:
        redirect = Redirect(path=key, target=target)
        session.add(redirect)
    else:
        redirect.target = target
    session.flush()
    return redirect


def add_redirect(session: Session, old: str, target: str) -> Redirect:
    """An author's own redirect, from the admin page."""
    redirect = put(session, old, target)
    session.commit()
    return redirect


def remove_redirect(session: Session, redirect_id: int) -> None:
    if session.get(Redirect, redirect_id) is None:
        raise NotFound("That redirect does not exist.")
    session.execute(delete(Redirect).where(Redirect.id == redirect_id))
    session.commit()
