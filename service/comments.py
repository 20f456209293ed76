"""Readers' comments: numbered floors, replies, plain text made safe, moderation modes."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, replace

import nh3
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from model import Article, Comment, User
from model.base import utcnow
from service.articles import article_path, listable, page_path, visible
from service.avatars import avatar_html
from service.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError

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
    reply_to: int | None = None


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


@dataclass(frozen=True)
class CommentRequest:
    """One reader's comment as posted: the form, the site's moderation mode at the time,
    whether a signed-in author wrote it, and the hash of the address it came from."""

    form: CommentForm
    mode: str
    is_author: bool
    ip_hash: str


def post_comment(
    session: Session,
    article_id: int,
    form: CommentForm,
    mode: str,
    is_author: bool,
    ip_hash: str,
) -> PostedComment:
    """Add a comment on the next free floor of a readable article (``post_comments`` for
    one comment: its refusal is raised)."""
    (outcome,) = post_comments(
        session, article_id, [CommentRequest(form, mode, is_author, ip_hash)]
    )
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def post_comments(
    session: Session, article_id: int, requests: list[CommentRequest]
) -> list[PostedComment | ServiceError]:
    """Add comments to one article on consecutive free floors, in one transaction; for
    each request, in order, the posted comment or why it was refused.

    The first write takes the article row's write lock on MariaDB (the database's write
    lock on SQLite), so posts to one article are serialised and two never read the same
    highest floor. Everything inside the lock is a fixed number of statements however many
    comments the batch carries.
    """
    outcomes: list[PostedComment | ServiceError | None] = [None] * len(requests)
    accepted: list[tuple[int, CommentForm, bool, CommentRequest]] = []
    for number, request in enumerate(requests):
        if request.mode == "closed":
            outcomes[number] = Forbidden("Comments are closed.")
            continue
        try:
            form = clean_form(request.form)
        except Invalid as exc:
            outcomes[number] = exc
            continue
        pending = request.mode == "moderated" and not request.is_author
        accepted.append((number, form, pending, request))
    if accepted:
        for outcome, (number, *_) in zip(
            _write_comments(session, article_id, accepted), accepted, strict=True
        ):
            outcomes[number] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


_Accepted = list[tuple[int, CommentForm, bool, CommentRequest]]


def _write_comments(
    session: Session, article_id: int, accepted: _Accepted
) -> list[PostedComment | ServiceError]:
    """``_insert_comments``, tried again when another writer held the floors or the lock."""
    for attempt in range(FLOOR_ATTEMPTS):
        try:
            return _insert_comments(session, article_id, accepted)
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            if isinstance(exc, OperationalError) and not _is_contention(exc):
                raise
            if attempt == FLOOR_ATTEMPTS - 1:
                return [
                    Conflict("Many comments are arriving at once. Please post again.")
                    for _ in accepted
                ]
    raise AssertionError("unreachable")


def _insert_comments(
    session: Session, article_id: int, accepted: _Accepted
) -> list[PostedComment | ServiceError]:
    shown = sum(1 for _, _, pending, _ in accepted if not pending)
    locked = session.execute(
        update(Article)
        .where(Article.id == article_id, *visible())
        .values(
            comment_count=Article.comment_count + shown,
            # A comment is not an edit of the article.
            updated_at=Article.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    assert isinstance(locked, CursorResult)  # an UPDATE's result: it has a rowcount
    if locked.rowcount == 0:
        session.rollback()
        return [NotFound("There is no such article.") for _ in accepted]
    # Read under the lock: on MariaDB the first read of a transaction fixes its snapshot,
    # and the highest floor must be read after the previous writer's commit.
    highest = (
        select(func.max(Comment.floor)).where(Comment.article_id == article_id).scalar_subquery()
    )
    article = session.execute(
        select(Article.comments_enabled, Article.kind, Article.slug, highest).where(
            Article.id == article_id
        )
    ).one()
    if article.comments_enabled is False:
        session.rollback()
        return [Forbidden("Comments are closed here.") for _ in accepted]
    url = (
        page_path(article.slug)
        if article.kind == "page"
        else article_path(article_id, article.slug)
    )
    answered = {form.reply_to for _, form, _, _ in accepted if form.reply_to is not None}
    if answered:
        answered = set(
            session.scalars(
                select(Comment.id).where(
                    Comment.id.in_(answered),
                    Comment.article_id == article_id,
                    Comment.status == "visible",
                )
            )
        )
    outcomes: list[PostedComment | ServiceError] = []
    rows: list[dict[str, object]] = []
    refused_shown = 0
    floor = article[3] or 0
    created_at = utcnow()
    for _, form, pending, request in accepted:
        if form.reply_to is not None and form.reply_to not in answered:
            outcomes.append(Invalid("The comment you answer does not exist."))
            refused_shown += 0 if pending else 1
            continue
        floor += 1
        rows.append(
            {
                "article_id": article_id,
                "floor": floor,
                "reply_to_id": form.reply_to,
                "author_name": form.author_name,
                "author_email": form.author_email,
                "content": form.content,
                "status": "pending" if pending else "visible",
                "is_author": request.is_author,
                "ip_hash": request.ip_hash,
                "created_at": created_at,
            }
        )
        outcomes.append(PostedComment(0, floor, pending, url, form.reply_to))
    if refused_shown:
        session.execute(
            update(Article)
            .where(Article.id == article_id)
            .values(
                comment_count=Article.comment_count - refused_shown,
                updated_at=Article.updated_at,
            )
        )
    if rows:
        inserted = session.execute(
            insert(Comment).returning(Comment.id, Comment.floor, sort_by_parameter_order=True),
            rows,
        ).all()
        ids = {row.floor: row.id for row in inserted}
        outcomes = [
            replace(outcome, id=ids[outcome.floor])
            if isinstance(outcome, PostedComment)
            else outcome
            for outcome in outcomes
        ]
    session.commit()
    return outcomes


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
