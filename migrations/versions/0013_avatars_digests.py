"""Avatars, review notices, media owners, and mail digests held back by the per-recipient limit.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 07:40:00

``users.avatar`` names a file in the media store (NULL: the identicon); ``users.notify_reviews``
is an editor's wish for email about articles submitted for review; ``media.uploaded_by`` lets
an author edit the details of their own uploads (older rows: unknown, editors only);
``mail_digest_items`` holds the notices that wait to go out together in one digest.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("avatar", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("notify_reviews", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("media") as batch_op:
        batch_op.add_column(sa.Column("uploaded_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_media_uploaded_by_users"),
            "users",
            ["uploaded_by"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "mail_digest_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unsubscribe_token", sa.String(length=120), nullable=False),
        sa.Column("base_url", sa.String(length=255), nullable=False),
        sa.Column("site_name", sa.String(length=255), nullable=False),
        sa.Column("article_title", sa.String(length=255), nullable=False),
        sa.Column("article_url", sa.String(length=500), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_digest_items")),
    )
    op.create_index(
        op.f("ix_mail_digest_items_due_at"), "mail_digest_items", ["due_at"], unique=False
    )
    op.create_index(
        op.f("ix_mail_digest_items_email"), "mail_digest_items", ["email"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_digest_items_email"), table_name="mail_digest_items")
    op.drop_index(op.f("ix_mail_digest_items_due_at"), table_name="mail_digest_items")
    op.drop_table("mail_digest_items")
    with op.batch_alter_table("media") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_media_uploaded_by_users"), type_="foreignkey")
        batch_op.drop_column("uploaded_by")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("notify_reviews")
        batch_op.drop_column("avatar")
