"""User roles: administrator, editor, author, contributor.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-22 05:40:00

Adds one column to users; every existing user (the administrator(s) created with
``python main.py createadmin``) becomes an administrator.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="administrator", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("role")
