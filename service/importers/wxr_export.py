"""Leave freely: the blog as a WordPress eXtended RSS 1.2 file, the format WordPress's own
importer reads (posts, pages, comments with their threads, categories, tags, authors, images
as attachment URLs). Written item by item, so memory stays flat."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import IO
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from model import Article, Category, Comment, Media, Tag, User
from service.rendering import render_markdown
from service.slugs import clean_slug

_STATUS = {"published": "publish", "scheduled": "future", "draft": "draft"}
# A hidden comment was held back, not thrown away: WordPress's "0" (unapproved), not "trash".
_COMMENT_STATUS = {"visible": "1", "pending": "0", "hidden": "0", "spam": "spam"}
_ANCHOR = re.compile(r'\s*<a class="header-anchor"[^>]*>#</a>')
_ZERO = "0000-00-00 00:00:00"
BATCH = 200


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: split it across two sections.
    return "<![CDATA[" + (text or "").replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _date(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else _ZERO


def _html(markdown: str) -> str:
    return _ANCHOR.sub("", render_markdown(markdown).html)


def export_wxr(session: Session, out: IO[str], base_url: str, title: str) -> int:
    """Write the WXR file to ``out``; returns how many posts and pages it holds."""
    base = base_url.rstrip("/")
    out.write('<?xml version="1.0" encoding="UTF-8" ?>\n')
    out.write(
        '<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
    )
    out.write(f"<title>{_cdata(title)}</title>\n<link>{base}</link>\n")
    out.write("<wp:wxr_version>1.2</wp:wxr_version>\n")
    out.write(f"<wp:base_site_url>{base}</wp:base_site_url>\n")
    out.write(f"<wp:base_blog_url>{base}</wp:base_blog_url>\n")
    users = {user.id: user for user in session.scalars(select(User))}
    for user in users.values():
        out.write(
            f"<wp:author><wp:author_id>{user.id}</wp:author_id>"
            f"<wp:author_login>{_cdata(user.username)}</wp:author_login>"
            f"<wp:author_email>{_cdata(user.email)}</wp:author_email>"
            f"<wp:author_display_name>{_cdata(user.display_name)}</wp:author_display_name>"
            "</wp:author>\n"
        )
    categories = {c.id: c for c in session.scalars(select(Category).order_by(Category.sort_order))}
    for category in categories.values():
        out.write(
            f"<wp:category><wp:term_id>{category.id}</wp:term_id>"
            f"<wp:category_nicename>{_cdata(quote(category.slug))}</wp:category_nicename>"
            "<wp:category_parent></wp:category_parent>"
            f"<wp:cat_name>{_cdata(category.name)}</wp:cat_name></wp:category>\n"
        )
    for tag in session.scalars(select(Tag).order_by(Tag.name)):
        out.write(
            f"<wp:tag><wp:term_id>{tag.id}</wp:term_id>"
            f"<wp:tag_slug>{_cdata(_tag_slug(tag.name))}</wp:tag_slug>"
            f"<wp:tag_name>{_cdata(tag.name)}</wp:tag_name></wp:tag>\n"
        )
    for media in session.scalars(select(Media).order_by(Media.id)):
        url = f"{base}/media/{media.filename}"
        out.write(
            f"<item><title>{_cdata(media.original_name)}</title>"
            f'<guid isPermaLink="false">{url}</guid>'
            f"<wp:post_id>{_attachment_id(media.id)}</wp:post_id>"
            f"<wp:post_date>{_cdata(_date(media.created_at))}</wp:post_date>"
            f"<wp:post_date_gmt>{_cdata(_date(media.created_at))}</wp:post_date_gmt>"
            f"<wp:post_name>{_cdata(media.filename.split('.')[0])}</wp:post_name>"
            "<wp:status>inherit</wp:status><wp:post_type>attachment</wp:post_type>"
            f"<wp:attachment_url>{_cdata(url)}</wp:attachment_url></item>\n"
        )
    count = 0
    for article, comments in _articles(session):
        out.write(_item(article, comments, base, users, categories))
        count += 1
    out.write("</channel>\n</rss>\n")
    return count


def _attachment_id(media_id: int) -> int:
    # Post and attachment ids share one sequence in WordPress: keep them apart.
    return 1_000_000_000 + media_id


def _open(enabled: bool) -> str:
    return "open" if enabled else "closed"


def _tag_slug(name: str) -> str:
    return quote(clean_slug(name) or name, safe="")


def _articles(session: Session) -> Iterator[tuple[Article, list[Comment]]]:
    last = 0
    while True:
        batch = session.scalars(
            select(Article)
            .where(Article.id > last)
            .order_by(Article.id)
            .limit(BATCH)
            .options(selectinload(Article.tags))
        ).all()
        if not batch:
            return
        comments: dict[int, list[Comment]] = {}
        for comment in session.scalars(
            select(Comment)
            .where(Comment.article_id.in_([a.id for a in batch]))
            .order_by(Comment.article_id, Comment.floor)
        ):
            comments.setdefault(comment.article_id, []).append(comment)
        for article in batch:
            yield article, comments.get(article.id, [])
        last = batch[-1].id
        session.expunge_all()


def _item(
    article: Article,
    comments: list[Comment],
    base: str,
    users: dict[int, User],
    categories: dict[int, Category],
) -> str:
    author = users.get(article.author_id or 0)
    kind = "post" if article.kind == "article" else "page"
    link = f"{base}/article/{article.id}" if kind == "post" else f"{base}/{quote(article.slug)}"
    parts = [
        f"<item><title>{_cdata(article.title)}</title><link>{link}</link>",
        f"<dc:creator>{_cdata(author.username if author else '')}</dc:creator>",
        f'<guid isPermaLink="false">{base}/?p={article.id}</guid>',
        "<description></description>",
        f"<content:encoded>{_cdata(_html(article.content))}</content:encoded>",
        f"<excerpt:encoded>{_cdata(article.summary)}</excerpt:encoded>",
        f"<wp:post_id>{article.id}</wp:post_id>",
        f"<wp:post_date>{_cdata(_date(article.publish_at or article.created_at))}</wp:post_date>",
        f"<wp:post_date_gmt>{_cdata(_date(article.publish_at))}</wp:post_date_gmt>",
        f"<wp:comment_status>{_open(article.comments_enabled)}</wp:comment_status>",
        f"<wp:post_name>{_cdata(quote(article.slug))}</wp:post_name>",
        f"<wp:status>{_cdata(_STATUS.get(article.status, 'draft'))}</wp:status>",
        "<wp:post_parent>0</wp:post_parent><wp:menu_order>0</wp:menu_order>",
        f"<wp:post_type>{kind}</wp:post_type><wp:post_password></wp:post_password>",
        "<wp:is_sticky>0</wp:is_sticky>",
    ]
    category = categories.get(article.category_id or 0)
    if category is not None:
        parts.append(
            f'<category domain="category" nicename="{quote(category.slug)}">'
            f"{_cdata(category.name)}</category>"
        )
    for tag in article.tags:
        parts.append(
            f'<category domain="post_tag" nicename="{_tag_slug(tag.name)}">'
            f"{_cdata(tag.name)}</category>"
        )
    if article.featured_image_id:
        parts.append(
            "<wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key>"
            f"<wp:meta_value>{_attachment_id(article.featured_image_id)}</wp:meta_value></wp:postmeta>"
        )
    for comment in comments:
        user_id = article.author_id if comment.is_author and article.author_id else 0
        parts.append(
            f"<wp:comment><wp:comment_id>{comment.id}</wp:comment_id>"
            f"<wp:comment_author>{_cdata(comment.author_name)}</wp:comment_author>"
            f"<wp:comment_author_email>{_cdata(comment.author_email)}</wp:comment_author_email>"
            f"<wp:comment_author_url>{xml_escape(comment.author_url)}</wp:comment_author_url>"
            "<wp:comment_author_IP></wp:comment_author_IP>"
            f"<wp:comment_date>{_cdata(_date(comment.created_at))}</wp:comment_date>"
            f"<wp:comment_date_gmt>{_cdata(_date(comment.created_at))}</wp:comment_date_gmt>"
            f"<wp:comment_content>{_cdata(comment.content)}</wp:comment_content>"
            f"<wp:comment_approved>{_COMMENT_STATUS.get(comment.status, '0')}</wp:comment_approved>"
            "<wp:comment_type>comment</wp:comment_type>"
            f"<wp:comment_parent>{comment.reply_to_id or 0}</wp:comment_parent>"
            f"<wp:comment_user_id>{user_id}</wp:comment_user_id></wp:comment>"
        )
    parts.append("</item>\n")
    return "".join(parts)
