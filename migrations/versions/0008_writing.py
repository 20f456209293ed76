"""Writing: the site's time zone and look, article versions, the editor's autosaves.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 04:10:00

Only adds its own columns and table, so it may follow any revision after 0005.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# TEXT columns take no portable default: added nullable, filled, then made NOT NULL.
TEXT_SETTINGS = ("custom_css", "header_code", "footer_code")


def upgrade() -> None:
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False)
        )
        batch_op.add_column(
            sa.Column("accent_color", sa.String(length=7), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("logo_url", sa.String(length=255), server_default="", nullable=False)
        )
        for name in TEXT_SETTINGS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
    settings = sa.table("site_settings", *(sa.column(name) for name in TEXT_SETTINGS))
    op.execute(settings.update().values({name: "" for name in TEXT_SETTINGS}))
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        for name in TEXT_SETTINGS:
            batch_op.alter_column(name, existing_type=sa.Text(), nullable=False)

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))

    op.create_table(
        "article_autosaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_autosaves_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_article_autosaves_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_autosaves")),
    )
    with op.batch_alter_table("article_autosaves", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_autosaves_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_article_autosaves_author_id_article_id"),
            ["author_id", "article_id"],
            unique=False,
        )


def downgrade() -> None:
    # Dropping the table drops its indexes (MySQL refuses to drop some indexes first).
    op.drop_table("article_autosaves")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        for name in (*reversed(TEXT_SETTINGS), "logo_url", "accent_color", "time_zone"):
            batch_op.drop_column(name)
