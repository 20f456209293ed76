"""What search engines and link previews read: schema.org JSON-LD for articles and the home.

Plain functions over data the pages already have; the handlers pass the result to the
template as text, written inside ``<script type="application/ld+json">`` (a data block:
the browser never runs it, so the Content-Security-Policy has nothing to allow).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from service.articles import ArticleSummary

HEADLINE_LIMIT = 110  # what search engines show of a headline


def iso_utc(when: dt.datetime) -> str:
    """A stored (naive UTC) time as ISO 8601 with its zone."""
    return when.replace(microsecond=0).isoformat() + "Z"


def script_json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element: no "</script>", "<!--" or "&" can end or bend it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def blog_posting(article: ArticleSummary, base_url: str, site_title: str) -> dict[str, Any]:
    """A schema.org BlogPosting for one article."""
    url = base_url + article.url
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": article.title[:HEADLINE_LIMIT],
        "description": article.summary,
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "datePublished": iso_utc(article.publish_at),
        "dateModified": iso_utc(max(article.updated_at, article.publish_at)),
        "author": {"@type": "Person", "name": article.author_name or site_title},
        "publisher": {"@type": "Organization", "name": site_title, "url": base_url + "/"},
    }
    if article.featured:
        share = article.featured.share()
        data["image"] = {
            "@type": "ImageObject",
            "url": base_url + share.url,
            "width": share.width,
            "height": share.height,
        }
    if article.category:
        data["articleSection"] = article.category.name
    if article.tags:
        data["keywords"] = ", ".join(article.tags)
    return data


def website(site_title: str, description: str, base_url: str) -> dict[str, Any]:
    """A schema.org WebSite with its search box (a SearchAction to /search?q=)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": site_title,
        "url": base_url + "/",
        "potentialAction": {
            "@type": "SearchAction",
            "target": {
                "@type": "EntryPoint",
                "urlTemplate": base_url + "/search?q={search_term_string}",
            },
            "query-input": "required name=search_term_string",
        },
    }
    if description:
        data["description"] = description
    return data
