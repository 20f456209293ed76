"""Images: dimensions, resized variants, alt text and caption of media; featured images.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 04:10:00

Existing media rows keep width/height NULL here: the "media-variants" job measures them
and makes their variants (it reads the files through service/media.py, so it works
whatever stores them, and copes with a file that is gone).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("variant_widths", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("webp_widths", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("alt_text", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("caption", sa.String(length=500), nullable=False, server_default="")
        )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("featured_image_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_articles_featured_image_id_media"),
            "media",
            ["featured_image_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # A new image's alt text starts as its file name without the extension (as uploads do).
    media = sa.table(
        "media", sa.column("id", sa.Integer()), sa.column("original_name", sa.String())
    )
    connection = op.get_bind()
    for media_id, name in connection.execute(sa.select(media.c.id, media.c.original_name)):
        connection.execute(
            sa.text("UPDATE media SET alt_text = :alt WHERE id = :id"),
            {"alt": _alt_from_name(name or ""), "id": media_id},
        )


def _alt_from_name(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem.replace("[", "").replace("]", "")[:255]


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_articles_featured_image_id_media"), type_="foreignkey"
        )
        batch_op.drop_column("featured_image_id")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_column("caption")
        batch_op.drop_column("alt_text")
        batch_op.drop_column("webp_widths")
        batch_op.drop_column("variant_widths")
        batch_op.drop_column("height")
        batch_op.drop_column("width")
