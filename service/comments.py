"""Readers' comments: numbered floors, replies, plain text made safe, moderation modes."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import nh3
from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from model import Article, Comment, User
from service.articles import article_path, listable, page_path, visible
from service.avatars import avatar_html
from service.errors import Conflict, Forbidden, Invalid, NotFound

MAX_NAME = 64
MAX_EMAIL = 255
MAX_CONTENT = 5000
FLOOR_ATTEMPTS = 5

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"。，；：！？）」』"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class CommentForm:
    """What the reader typed (kept to refill the form when a comment is refused)."""

    author_name: str = ""
    author_email: str = ""
    content: str = ""
    reply_to: int | None = None


@dataclass(frozen=True)
class CommentView:
    id: int
    floor: int
    author_name: str
    is_author: bool
    created_at: dt.datetime
    html: str
    avatar_svg: str
    reply_to_floor: int | None
    author_url: str = ""


@dataclass(frozen=True)
class RecentComment:
    article_title: str
    url: str
    author_name: str
    excerpt: str


@dataclass(frozen=True)
class PostedComment:
    id: int
    floor: int
    pending: bool
    article_url: str


def comment_html(text: str) -> str:
    """Plain text to safe HTML: paragraphs, line breaks and http(s) links, nothing else."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    parts = []
    for paragraph in paragraphs:
        lines = [_linkify(line) for line in paragraph.split("\n")]
        parts.append("<p>" + "<br>".join(lines) + "</p>")
    # Everything above is escaped already; nh3 is the last gate all the same.
    return nh3.clean(
        "".join(parts),
        tags={"p", "br", "a"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel="nofollow ugc noopener",
    )


def commenter_url(url: str) -> str:
    """A commenter's website as it may be linked: an http(s) URL of at most 255
    characters, else nothing (a javascript: or malformed URL is dropped)."""
    url = url.strip()
    if len(url) > 255 or not _URL.fullmatch(url):
        return ""
    return url


def _linkify(line: str) -> str:
    out: list[str] = []
    position = 0
    for match in _URL.finditer(line):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        out.append(html.escape(line[position : match.start()]))
        out.append(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        position = end
    out.append(html.escape(line[position:]))
    return "".join(out)


def visible_comments(session: Session, article_id: int) -> list[CommentView]:
    """An article's published comments by floor, each with its avatar and reply target."""
    rows = session.scalars(
        select(Comment).where(Comment.article_id == article_id).order_by(Comment.floor)
    ).all()
    floors = {comment.id: comment.floor for comment in rows if comment.status == "visible"}
    pictures = _author_avatars(session, [c.author_email for c in rows if c.is_author])
    return [
        CommentView(
            id=comment.id,
            floor=comment.floor,
            author_name=comment.author_name,
            is_author=comment.is_author,
            created_at=comment.created_at,
            html=comment_html(comment.content),
            avatar_svg=avatar_html(
                pictures.get(comment.author_email.lower()) if comment.is_author else None,
                comment.author_email or comment.author_name,
            ),
            reply_to_floor=floors.get(comment.reply_to_id) if comment.reply_to_id else None,
            author_url=comment.author_url,
        )
        for comment in rows
        if comment.status == "visible"
    ]


def _author_avatars(session: Session, emails: list[str]) -> dict[str, str]:
    """The uploaded avatars of the users behind authors' comments, by lower-case address."""
    wanted = {email.lower() for email in emails if email}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.email, User.avatar).where(
            func.lower(User.email).in_(wanted), User.avatar.is_not(None)
        )
    ).all()
    return {email.lower(): avatar for email, avatar in rows if avatar}


def recent_comments(session: Session, limit: int = 5) -> list[RecentComment]:
    """The newest published comments on listed articles."""
    rows = session.execute(
        select(Comment, Article.title, Article.slug)
        .join(Article, Article.id == Comment.article_id)
        .where(Comment.status == "visible", *listable())
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    ).all()
    result = []
    for comment, title, slug in rows:
        text = " ".join(comment.content.split())
        result.append(
            RecentComment(
                article_title=title,
                url=f"{article_path(comment.article_id, slug)}#floor-{comment.floor}",
                author_name=comment.author_name,
                excerpt=text if len(text) <= 60 else text[:59] + "…",
            )
        )
    return result


def clean_form(form: CommentForm) -> CommentForm:
    """The form trimmed and checked; Invalid says what to fix."""
    name = " ".join(form.author_name.split())
    email = form.author_email.strip()
    content = form.content.strip()
    if not name:
        raise Invalid("Please give a name.")
    if len(name) > MAX_NAME:
        raise Invalid("The name is too long (at most {limit} characters).", limit=MAX_NAME)
    if email and (len(email) > MAX_EMAIL or not _EMAIL.match(email)):
        raise Invalid("That e-mail address does not look right.")
    if not content:
        raise Invalid("The comment is empty.")
    if len(content) > MAX_CONTENT:
        raise Invalid("The comment is too long (at most {limit} characters).", limit=MAX_CONTENT)
    return CommentForm(name, email, content, form.reply_to)


def post_comment(
    session: Session,
    article_id: int,
    form: CommentForm,
    mode: str,
    is_author: bool,
    ip_hash: str,
) -> PostedComment:
    """Add a comment on the next free floor of a readable article.

    The first statement writes the article row (the comment count), which takes its
    write lock on MariaDB and the database write lock on SQLite: posts to one article
    are serialised, so two of them never read the same highest floor.
    """
    if mode == "closed":
        raise Forbidden("Comments are closed.")
    if session.scalar(select(Article.comments_enabled).where(Article.id == article_id)) is False:
        raise Forbidden("Comments are closed here.")
    form = clean_form(form)
    pending = mode == "moderated" and not is_author
    for attempt in range(FLOOR_ATTEMPTS):
        try:
            return _insert_comment(session, article_id, form, pending, is_author, ip_hash)
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            if isinstance(exc, OperationalError) and not _is_contention(exc):
                raise
            if attempt == FLOOR_ATTEMPTS - 1:
                raise Conflict("Many comments are arriving at once. Please post again.") from exc
    raise AssertionError("unreachable")


def _insert_comment(
    session: Session,
    article_id: int,
    form: CommentForm,
    pending: bool,
    is_author: bool,
    ip_hash: str,
) -> PostedComment:
    locked = session.execute(
        update(Article)
        .where(Article.id == article_id, *visible())
        .values(
            comment_count=Article.comment_count + (0 if pending else 1),
            # A comment is not an edit of the article.
            updated_at=Article.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    assert isinstance(locked, CursorResult)  # an UPDATE's result: it has a rowcount
    if locked.rowcount == 0:
        session.rollback()
        raise NotFound("There is no such article.")
    reply_to = None
    if form.reply_to is not None:
        reply_to = session.scalar(
            select(Comment.id).where(
                Comment.id == form.reply_to,
                Comment.article_id == article_id,
                Comment.status == "visible",
            )
        )
        if reply_to is None:
            session.rollback()
            raise Invalid("The comment you answer does not exist.")
    floor = (
        session.scalar(select(func.max(Comment.floor)).where(Comment.article_id == article_id)) or 0
    ) + 1
    comment = Comment(
        article_id=article_id,
        floor=floor,
        reply_to_id=reply_to,
        author_name=form.author_name,
        author_email=form.author_email,
        content=form.content,
        status="pending" if pending else "visible",
        is_author=is_author,
        ip_hash=ip_hash,
    )
    session.add(comment)
    session.commit()
    kind, slug = session.execute(
        select(Article.kind, Article.slug).where(Article.id == article_id)
    ).one()
    url = page_path(slug) if kind == "page" else article_path(article_id, slug)
    return PostedComment(comment.id, floor, pending, url)


def _is_contention(exc: OperationalError) -> bool:
    """A lock wait, deadlock or busy database: worth another try."""
    code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return code in (1205, 1213) or "locked" in str(exc.orig).lower()


def recount_comments(session: Session, article_id: int) -> int:
    """Set an article's comment count from its published comments (after moderation)."""
    count = (
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.article_id == article_id, Comment.status == "visible")
        )
        or 0
    )
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(comment_count=count, updated_at=Article.updated_at)
    )
    session.commit()
    return count
