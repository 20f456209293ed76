"""Indexes for the reader's lists and archive (see tests/unit/test_query_plans.py).

Revision ID: 0019
Revises: 0012
Create Date: 2026-11-22 07:45:00

``(kind, publish_at)`` walks the newest articles in order, so a list page reads its rows
and stops (no sort of every listed article); ``(kind, status, publish_at, category_id)``
replaces ``(kind, status, publish_at)`` and holds every column the list counts, the
archive's months and their first and last dates test, so those never read the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch_op:
        batch_op.create_index("ix_articles_kind_publish_at", ["kind", "publish_at"], unique=False)
        batch_op.create_index(
            "ix_articles_kind_status_publish_at_category_id",
            ["kind", "status", "publish_at", "category_id"],
            unique=False,
        )
        batch_op.drop_index("ix_articles_kind_status_publish_at")


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch_op:
        batch_op.create_index(
            "ix_articles_kind_status_publish_at", ["kind", "status", "publish_at"], unique=False
        )
        batch_op.drop_index("ix_articles_kind_status_publish_at_category_id")
        batch_op.drop_index("ix_articles_kind_publish_at")
