"""Articles as readers see them."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from model import Article
from model.base import utcnow
from model.pager import Pager
from service.errors import NotFound
from service.rendering import RENDERER_VERSION, render_markdown


def _visible():
    """Published, or scheduled with a time that has come (the job may not have run yet)."""
    now = utcnow()
    return (
        Article.status.in_(("published", "scheduled")),
        Article.publish_at.is_not(None),
        Article.publish_at <= now,
    )


def list_published(session: Session, page: int, per_page: int) -> tuple[list[Article], Pager]:
    """One page of readable articles, newest first; NotFound past the last page."""
    total = session.scalar(select(func.count()).select_from(Article).where(*_visible())) or 0
    pager = Pager(page=page, per_page=per_page, total=total)
    if page < 1 or page > pager.pages:
        raise NotFound("There is no such page.")
    articles = session.scalars(
        select(Article)
        .where(*_visible())
        .options(selectinload(Article.category), selectinload(Article.tags))
        .order_by(Article.publish_at.desc(), Article.id.desc())
        .offset(pager.offset)
        .limit(per_page)
    ).all()
    return list(articles), pager


def get_published(session: Session, article_id: int) -> Article:
    """A readable article with what its page shows; drafts and future ones are NotFound."""
    article = session.scalar(
        select(Article)
        .where(Article.id == article_id, *_visible())
        .options(
            selectinload(Article.category),
            selectinload(Article.tags),
            selectinload(Article.source),
        )
    )
    if article is None:
        raise NotFound("There is no such article.")
    ensure_rendered(session, article)
    return article


def ensure_rendered(session: Session, article: Article) -> None:
    """Re-render cached HTML made by an older renderer (rendering happens once per save)."""
    if article.renderer_version != RENDERER_VERSION:
        rendered = render_markdown(article.content)
        # A re-render is not an edit: keep updated_at as it was.
        session.execute(
            update(Article)
            .where(Article.id == article.id)
            .values(
                content_html=rendered.html,
                toc_html=rendered.toc_html,
                renderer_version=RENDERER_VERSION,
                updated_at=Article.updated_at,
            )
        )
        session.commit()
        article.content_html = rendered.html
        article.toc_html = rendered.toc_html
        article.renderer_version = RENDERER_VERSION
