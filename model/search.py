"""The search index: Inkwell's own inverted index, identical on SQLite and MariaDB.

Why not the engines' full-text features: MariaDB has no ngram parser and InnoDB
FULLTEXT drops tokens shorter than three characters; SQLite's trigram tokenizer
cannot match one- or two-character queries, and most Chinese words have two.
So the application splits text into terms (words for alphabetic scripts, single
characters and bigrams for Chinese/Japanese/Korean) and keeps one row per
(term, article) with a weight; a query is a few B-tree lookups on both engines.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base

# Terms compare byte for byte: MariaDB's default *_ci collations would make
# "café" and "cafe" (or full- and half-width forms) collide in the primary key.
TermType = String(64).with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")


class SearchDocument(Base):
    """When an article was last indexed: an article saved since then is indexed again.

    Times are whole seconds (MariaDB DATETIME): an article saved in the same second
    it was indexed counts as changed, so a quick second save is never missed.
    """

    __tablename__ = "search_documents"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    indexed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    tokenizer_version: Mapped[str] = mapped_column(String(16))


class SearchTerm(Base):
    """One term of one article, weighted by where and how often it occurs."""

    __tablename__ = "search_terms"
    __table_args__ = (Index("ix_search_terms_article_id", "article_id"),)

    term: Mapped[str] = mapped_column(TermType, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[int] = mapped_column(Integer)
