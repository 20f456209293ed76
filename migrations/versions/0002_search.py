"""Search: Inkwell's own inverted index (terms per article), the same on SQLite and MariaDB.

MariaDB has no ngram parser and InnoDB FULLTEXT ignores tokens shorter than three
characters; SQLite's trigram tokenizer cannot match two-character Chinese words.
The application tokenizes (words, CJK characters and bigrams) and stores one row
per (term, article); see model/search.py.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM_TYPE = sa.String(64).with_variant(
    mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb"
)


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(), nullable=False),
        sa.Column("tokenizer_version", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_search_documents_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_search_documents")),
    )
    op.create_table(
        "search_terms",
        sa.Column("term", TERM_TYPE, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_search_terms_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "article_id", name=op.f("pk_search_terms")),
    )
    with op.batch_alter_table("search_terms", schema=None) as batch_op:
        batch_op.create_index("ix_search_terms_article_id", ["article_id"], unique=False)


def downgrade() -> None:
    op.drop_table("search_terms")
    op.drop_table("search_documents")
