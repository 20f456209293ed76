"""Counter flushes: the traffic batches the database has applied, so none is applied twice.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:15:18
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counter_flushes",
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("flushed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("batch", name=op.f("pk_counter_flushes")),
    )
    with op.batch_alter_table("counter_flushes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_counter_flushes_flushed_at"), ["flushed_at"], unique=False
        )


def downgrade() -> None:
    # Dropping the table drops its index (MySQL refuses to drop some indexes first).
    op.drop_table("counter_flushes")
