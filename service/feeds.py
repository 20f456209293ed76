"""Atom and RSS feeds with full content, the sitemap and robots.txt, written with ElementTree."""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from model import Article, Category, Tag, article_tags
from service.articles import (
    ArticleSummary,
    MovedTo,
    article_path,
    author_path,
    category_path,
    ensure_rendered,
    find_author,
    find_category,
    listable,
    page_path,
    summarize,
    summary_options,
    tag_path,
    visible,
)
from service.errors import NotFound

FEED_SIZE = 20
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
# RSS's own <author> must be an e-mail address: the author's name goes in dc:creator.
DUBLIN_CORE = "http://purl.org/dc/elements/1.1/"
# Names are written literally ("atom:link", xmlns attributes): ElementTree's global
# namespace registry is shared by every thread, so nothing here changes it.


@dataclass(frozen=True)
class FeedEntry:
    article: ArticleSummary
    content_html: str


@dataclass(frozen=True)
class SiteInfo:
    """What a feed says about the site; base_url is the request's scheme and host."""

    title: str
    subtitle: str
    base_url: str
    language: str
    # The listing a feed follows ("" for the whole site, "/tag/x" for one tag's articles).
    path: str = ""


@dataclass(frozen=True)
class ListingFeed:
    """What a category's or tag's feed is about and where its listing lives."""

    name: str
    path: str
    entries: list[FeedEntry]


def feed_entries(
    session: Session,
    limit: int = FEED_SIZE,
    conditions: tuple[ColumnElement[bool], ...] = (),
) -> list[FeedEntry]:
    """The newest listed articles (narrowed by ``conditions``) with their full content."""
    articles = session.scalars(
        select(Article)
        .where(*listable(), *conditions)
        .options(*summary_options())
        .order_by(Article.publish_at.desc(), Article.id.desc())
        .limit(limit)
    ).all()
    entries = []
    for article in articles:
        ensure_rendered(session, article)
        entries.append(FeedEntry(summarize(article), article.content_html))
    return entries


def category_feed(session: Session, slug: str) -> ListingFeed | MovedTo:
    """The feed of a category's articles; for an id or an old slug, where the category is now."""
    category = find_category(session, slug)
    if isinstance(category, MovedTo):
        return category
    entries = feed_entries(session, conditions=(Article.category_id == category.id,))
    return ListingFeed(category.name, category_path(category.slug), entries)


def author_feed(session: Session, username: str) -> ListingFeed:
    """The feed of an author's listed articles."""
    author = find_author(session, username)
    entries = feed_entries(session, conditions=(Article.author_id == author.id,))
    return ListingFeed(author.shown_name, author_path(author.username), entries)


def tag_feed(session: Session, name: str) -> ListingFeed:
    """The feed of a tag's listed articles."""
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        raise NotFound("There is no such tag.")
    tagged = select(article_tags.c.article_id).where(article_tags.c.tag_id == tag.id)
    entries = feed_entries(session, conditions=(Article.id.in_(tagged),))
    return ListingFeed(tag.name, tag_path(tag.name), entries)


def sitemap_entries(session: Session) -> list[tuple[str, dt.datetime]]:
    """Every readable article and page (hidden categories included: their URLs work), the
    listed categories and tags, each with its lastmod."""
    rows = session.execute(
        select(Article.id, Article.kind, Article.slug, Article.updated_at, Article.publish_at)
        .where(*visible())
        .order_by(Article.kind, Article.publish_at.desc(), Article.id.desc())
    ).all()
    entries = [
        # visible() leaves no article without a publication time.
        (
            page_path(slug) if kind == "page" else article_path(i, slug),
            max(updated, published or updated),
        )
        for i, kind, slug, updated, published in rows
    ]
    newest = func.max(Article.updated_at)
    categories = session.execute(
        select(Category.slug, newest)
        .join(Article, Article.category_id == Category.id)
        .where(*listable())
        .group_by(Category.id, Category.slug)
        .order_by(Category.slug)
    ).all()
    entries += [(category_path(slug), when) for slug, when in categories]
    tags = session.execute(
        select(Tag.name, newest)
        .join(article_tags, article_tags.c.tag_id == Tag.id)
        .join(Article, Article.id == article_tags.c.article_id)
        .where(*listable())
        .group_by(Tag.id, Tag.name)
        .order_by(Tag.name)
    ).all()
    entries += [(tag_path(name), when) for name, when in tags]
    return entries


def _document(root: ET.Element) -> bytes:
    """The UTF-8 XML document of ``root``, with its declaration."""
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def _rfc3339(when: dt.datetime) -> str:
    return when.replace(microsecond=0).isoformat() + "Z"


def _updated(entry: FeedEntry) -> dt.datetime:
    return max(entry.article.updated_at, entry.article.publish_at)


def atom_feed(site: SiteInfo, entries: list[FeedEntry]) -> bytes:
    """An Atom 1.0 document (RFC 4287)."""
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": site.language})
    ET.SubElement(feed, "title").text = site.title
    if site.subtitle:
        ET.SubElement(feed, "subtitle").text = site.subtitle
    ET.SubElement(feed, "id").text = site.base_url + (site.path or "/")
    ET.SubElement(feed, "link", {"rel": "self", "href": site.base_url + site.path + "/feed.atom"})
    ET.SubElement(
        feed, "link", {"rel": "alternate", "type": "text/html", "href": site.base_url + site.path}
    )
    newest = max((_updated(entry) for entry in entries), default=dt.datetime(2000, 1, 1))
    ET.SubElement(feed, "updated").text = _rfc3339(newest)
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = site.title
    for entry in entries:
        atom_entry(feed, site, entry)
    return _document(feed)


def atom_entry(feed: ET.Element, site: SiteInfo, entry: FeedEntry) -> None:
    """One article as an Atom <entry>: author, featured image as an enclosure, full content."""
    article = entry.article
    url = site.base_url + article.url
    node = ET.SubElement(feed, "entry")
    ET.SubElement(node, "title").text = article.title
    ET.SubElement(node, "id").text = f"{site.base_url}/article/{article.id}"
    ET.SubElement(node, "link", {"rel": "alternate", "href": url})
    if article.featured:
        image = article.featured
        ET.SubElement(
            node,
            "link",
            {
                "rel": "enclosure",
                "href": site.base_url + image.url,
                "type": image.content_type,
                "length": str(image.size),
            },
        )
    ET.SubElement(node, "published").text = _rfc3339(article.publish_at)
    ET.SubElement(node, "updated").text = _rfc3339(_updated(entry))
    if article.author_name:
        author = ET.SubElement(node, "author")
        ET.SubElement(author, "name").text = article.author_name
    if article.category:
        ET.SubElement(node, "category", {"term": article.category.name})
    for tag in article.tags:
        ET.SubElement(node, "category", {"term": tag})
    if article.summary:
        ET.SubElement(node, "summary").text = article.summary
    content = ET.SubElement(node, "content", {"type": "html", "xml:base": site.base_url + "/"})
    content.text = entry.content_html


def rss_item(channel: ET.Element, site: SiteInfo, entry: FeedEntry) -> None:
    """One article as an RSS <item> (the document declares the dc: namespace)."""
    article = entry.article
    url = site.base_url + article.url
    item = ET.SubElement(channel, "item")
    ET.SubElement(item, "title").text = article.title
    ET.SubElement(item, "link").text = url
    ET.SubElement(
        item, "guid", {"isPermaLink": "false"}
    ).text = f"{site.base_url}/article/{article.id}"
    ET.SubElement(item, "pubDate").text = _rfc822(article.publish_at)
    if article.author_name:
        ET.SubElement(item, "dc:creator").text = article.author_name
    if article.category:
        ET.SubElement(item, "category").text = article.category.name
    if article.featured:
        image = article.featured
        ET.SubElement(
            item,
            "enclosure",
            {
                "url": site.base_url + image.url,
                "length": str(image.size),
                "type": image.content_type,
            },
        )
    ET.SubElement(item, "description").text = entry.content_html


def rss_feed(site: SiteInfo, entries: list[FeedEntry]) -> bytes:
    """An RSS 2.0 document."""
    rss = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM, "xmlns:dc": DUBLIN_CORE})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = site.title
    ET.SubElement(channel, "link").text = site.base_url + (site.path or "/")
    ET.SubElement(channel, "description").text = site.subtitle or site.title
    ET.SubElement(channel, "language").text = site.language
    ET.SubElement(
        channel,
        "atom:link",
        {
            "rel": "self",
            "type": "application/rss+xml",
            "href": site.base_url + site.path + "/feed.rss",
        },
    )
    if entries:
        newest = max(_updated(entry) for entry in entries)
        ET.SubElement(channel, "lastBuildDate").text = _rfc822(newest)
    for entry in entries:
        rss_item(channel, site, entry)
    return _document(rss)


def _rfc822(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.replace(tzinfo=dt.UTC, microsecond=0), usegmt=True)


def sitemap_xml(base_url: str, entries: list[tuple[str, dt.datetime]]) -> bytes:
    """A sitemaps.org urlset: the home page and every entry, with lastmod."""
    urlset = ET.Element("urlset", {"xmlns": SITEMAP})
    home = ET.SubElement(urlset, "url")
    ET.SubElement(home, "loc").text = base_url + "/"
    if entries:
        ET.SubElement(home, "lastmod").text = _rfc3339(max(e[1] for e in entries))
    for path, lastmod in entries:
        node = ET.SubElement(urlset, "url")
        ET.SubElement(node, "loc").text = base_url + path
        ET.SubElement(node, "lastmod").text = _rfc3339(lastmod)
    return _document(urlset)


def robots_txt(base_url: str) -> str:
    """Everything readable may be crawled; the admin and sign-in pages are not for robots."""
    return (
        "User-agent: *\n"
        "Disallow: /admin\n"
        "Disallow: /auth/\n"
        "Disallow: /search\n"
        f"\nSitemap: {base_url}/sitemap.xml\n"
    )
