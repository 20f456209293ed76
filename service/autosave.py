"""The editor's autosave: the text an author is typing, kept on the server between saves.

One autosave per author and article (``article_id`` NULL for a new, unsaved article). It
is not a revision and changes nothing readers see: the article changes only when the
author presses Save, which deletes the autosave (service.editor.save_article). Opening the
editor elsewhere offers an autosave newer than the article's last save.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from model import Article, ArticleAutosave
from model.base import utcnow
from service.errors import Invalid, NotFound

MAX_TITLE = 200  # the column
MAX_CONTENT = 500_000  # characters: a long book chapter; a request body cap guards bytes
MAX_SUMMARY = 5_000


@dataclass(frozen=True)
class AutosaveText:
    title: str
    content: str
    summary: str


def _check(text: AutosaveText) -> None:
    if len(text.title) > MAX_TITLE:
        raise Invalid("The title must be at most {limit} characters long.", limit=MAX_TITLE)
    if len(text.content) > MAX_CONTENT:
        raise Invalid(
            "The text is too long to keep: at most {limit} characters.", limit=MAX_CONTENT
        )
    if len(text.summary) > MAX_SUMMARY:
        raise Invalid("The summary must be at most {limit} characters long.", limit=MAX_SUMMARY)


def _where(article_id: int | None, author_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        ArticleAutosave.author_id == author_id,
        ArticleAutosave.article_id.is_(None)
        if article_id is None
        else ArticleAutosave.article_id == article_id,
    )


def save_autosave(
    session: Session,
    article_id: int | None,
    author_id: int,
    text: AutosaveText,
    now: dt.datetime | None = None,
) -> dt.datetime:
    """Keep this author's latest text of the article (replacing the previous); returns when."""
    _check(text)
    if article_id is not None and session.get(Article, article_id) is None:
        raise NotFound("There is no such article.")
    now = (now or utcnow()).replace(microsecond=0)
    autosave = session.scalars(
        select(ArticleAutosave).where(*_where(article_id, author_id))
    ).first()
    if autosave is None:
        autosave = ArticleAutosave(article_id=article_id, author_id=author_id)
        session.add(autosave)
    autosave.title = text.title
    autosave.content = text.content.replace("\r\n", "\n")
    autosave.summary = text.summary
    autosave.saved_at = now
    session.commit()
    return now


def pending_autosave(
    session: Session, article_id: int | None, author_id: int
) -> ArticleAutosave | None:
    """This author's autosave worth offering: newer than the article's last save, and
    different from what is stored (a new article: any autosave)."""
    autosave = session.scalars(
        select(ArticleAutosave).where(*_where(article_id, author_id))
    ).first()
    if autosave is None:
        return None
    if article_id is None:
        return autosave if (autosave.title or autosave.content or autosave.summary) else None
    article = session.get(Article, article_id)
    if article is None or autosave.saved_at < article.updated_at:
        return None
    same = (
        autosave.title == article.title
        and autosave.content == article.content
        # An empty summary is filled from the first paragraph on save: not a difference.
        and autosave.summary in ("", article.summary)
    )
    return None if same else autosave


def discard_autosave(session: Session, article_id: int | None, author_id: int) -> None:
    """Forget this author's autosave of the article (Discard on the editor's notice)."""
    session.execute(delete(ArticleAutosave).where(*_where(article_id, author_id)))
    session.commit()
