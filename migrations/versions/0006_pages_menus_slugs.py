"""Pages, menu items, category slugs and old slugs; the About setting becomes a page.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:10:00

- articles: `kind` ("article" | "page") and `comments_enabled`;
- categories: a unique `slug` filled from the name; `menu_id` goes;
- `menu_items` replaces `menus`: a menu becomes a top-level entry with its categories as
  children, each loose visible category a top-level entry;
- `slug_history` keeps old slugs so old URLs answer 301;
- site_settings.about becomes a published page "about" (when not empty) and goes.

Downgrade: menus come back from the top-level entries that have category children, the About
page's text goes back into the setting (the page is deleted), other pages become draft
articles (the old schema has no pages).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from slugify import slugify

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

articles = sa.table(
    "articles",
    sa.column("id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("slug", sa.String),
    sa.column("content", sa.Text),
    sa.column("content_html", sa.Text),
    sa.column("renderer_version", sa.String),
    sa.column("toc_html", sa.Text),
    sa.column("summary", sa.Text),
    sa.column("status", sa.String),
    sa.column("kind", sa.String),
    sa.column("comments_enabled", sa.Boolean),
    sa.column("publish_at", sa.DateTime),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
    sa.column("view_count", sa.Integer),
    sa.column("comment_count", sa.Integer),
)
categories = sa.table(
    "categories",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("slug", sa.String),
    sa.column("hidden", sa.Boolean),
    sa.column("menu_id", sa.Integer),
    sa.column("sort_order", sa.Integer),
)
menus = sa.table(
    "menus",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("sort_order", sa.Integer),
)
menu_items = sa.table(
    "menu_items",
    sa.column("id", sa.Integer),
    sa.column("parent_id", sa.Integer),
    sa.column("sort_order", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("target_id", sa.Integer),
    sa.column("label", sa.String),
    sa.column("url", sa.String),
)
site_settings = sa.table(
    "site_settings",
    sa.column("id", sa.Integer),
    sa.column("about", sa.Text),
)


def _category_slug(name: str, category_id: int, taken: set[str]) -> str:
    """The same rule as service.slugs.category_slug, frozen here as it was at this revision."""
    base = slugify(name, max_length=80, word_boundary=True) or f"category-{category_id}"
    if base.isdigit():
        base = f"category-{base}"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base[:74]}-{n}", n + 1
    taken.add(slug)
    return slug


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="article", nullable=False)
        )
        batch_op.add_column(
            sa.Column("comments_enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_index(
            "ix_articles_kind_status_publish_at", ["kind", "status", "publish_at"], unique=False
        )
        batch_op.create_index("ix_articles_kind_slug", ["kind", "slug"], unique=False)

    op.create_table(
        "menu_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["menu_items.id"],
            name=op.f("fk_menu_items_parent_id_menu_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_menu_items")),
    )
    with op.batch_alter_table("menu_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_menu_items_parent_id_sort_order", ["parent_id", "sort_order"], unique=False
        )
    op.create_table(
        "slug_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slug_history")),
        sa.UniqueConstraint("kind", "slug", name=op.f("uq_slug_history_kind_slug")),
    )
    with op.batch_alter_table("slug_history", schema=None) as batch_op:
        batch_op.create_index("ix_slug_history_kind_target_id", ["kind", "target_id"], unique=False)

    # Menus and their categories become menu entries, in the order the header showed them.
    rows = bind.execute(
        sa.select(
            categories.c.id, categories.c.name, categories.c.hidden, categories.c.menu_id
        ).order_by(categories.c.sort_order, categories.c.id)
    ).all()
    order = 0
    for menu_id, name in bind.execute(
        sa.select(menus.c.id, menus.c.name).order_by(menus.c.sort_order, menus.c.id)
    ).all():
        bind.execute(
            sa.insert(menu_items).values(
                parent_id=None, sort_order=order, kind="link", target_id=None, label=name, url=""
            )
        )
        # The row just inserted (lightweight tables know no primary key to return).
        parent = bind.execute(sa.select(sa.func.max(menu_items.c.id))).scalar()
        order += 1
        children = [row for row in rows if row.menu_id == menu_id]
        for child_order, row in enumerate(children):
            bind.execute(
                sa.insert(menu_items).values(
                    parent_id=parent,
                    sort_order=child_order,
                    kind="category",
                    target_id=row.id,
                    label="",
                    url="",
                )
            )
    for row in rows:
        if row.menu_id is None and not row.hidden:
            bind.execute(
                sa.insert(menu_items).values(
                    parent_id=None,
                    sort_order=order,
                    kind="category",
                    target_id=row.id,
                    label="",
                    url="",
                )
            )
            order += 1

    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=80), nullable=True))
    taken: set[str] = set()
    for row in rows:
        bind.execute(
            sa.update(categories)
            .where(categories.c.id == row.id)
            .values(slug=_category_slug(row.name, row.id, taken))
        )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.alter_column("slug", existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_categories_slug"), ["slug"])
        # MySQL keeps an index a foreign key uses: the key goes first.
        batch_op.drop_constraint("fk_categories_menu_id_menus", type_="foreignkey")
        batch_op.drop_index("ix_categories_menu_id_sort_order")
        batch_op.drop_column("menu_id")
    op.drop_table("menus")

    # The About text becomes a published page at /about (rendered on its first view).
    about = bind.execute(sa.select(site_settings.c.about).where(site_settings.c.id == 1)).scalar()
    if about and about.strip():
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        bind.execute(
            sa.insert(articles).values(
                title="About",
                slug="about",
                content=about,
                content_html="",
                renderer_version="",
                toc_html="",
                summary="",
                status="published",
                kind="page",
                comments_enabled=False,
                publish_at=now,
                created_at=now,
                updated_at=now,
                view_count=0,
                comment_count=0,
            )
        )
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.drop_column("about")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about", sa.Text(), nullable=True))
    about_page = bind.execute(
        sa.select(articles.c.id, articles.c.content).where(
            articles.c.kind == "page", articles.c.slug == "about"
        )
    ).first()
    bind.execute(sa.update(site_settings).values(about=about_page.content if about_page else ""))
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.alter_column("about", existing_type=sa.Text(), nullable=False)
    if about_page is not None:
        for table in ("comments", "article_revisions", "article_tags"):
            rows = sa.table(table, sa.column("article_id", sa.Integer))
            bind.execute(sa.delete(rows).where(rows.c.article_id == about_page.id))
        bind.execute(sa.delete(articles).where(articles.c.id == about_page.id))
    # The old schema has no pages: the others are kept as draft articles.
    bind.execute(sa.update(articles).where(articles.c.kind == "page").values(status="draft"))

    op.create_table(
        "menus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_menus")),
    )
    with op.batch_alter_table("menus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_menus_sort_order"), ["sort_order"], unique=False)
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("menu_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_categories_menu_id_menus", "menus", ["menu_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(
            "ix_categories_menu_id_sort_order", ["menu_id", "sort_order"], unique=False
        )
        batch_op.drop_constraint("uq_categories_slug", type_="unique")
        batch_op.drop_column("slug")

    # Top-level entries with category children become menus again; the rest is lost.
    items = bind.execute(
        sa.select(
            menu_items.c.id,
            menu_items.c.parent_id,
            menu_items.c.kind,
            menu_items.c.target_id,
            menu_items.c.label,
        ).order_by(menu_items.c.sort_order, menu_items.c.id)
    ).all()
    names = dict(bind.execute(sa.select(categories.c.id, categories.c.name)).all())
    for order, item in enumerate(row for row in items if row.parent_id is None):
        children = [
            row.target_id
            for row in items
            if row.parent_id == item.id and row.kind == "category" and row.target_id in names
        ]
        if not children:
            continue
        label = item.label or (names.get(item.target_id, "") if item.kind == "category" else "")
        bind.execute(sa.insert(menus).values(name=(label or "Menu")[:64], sort_order=order))
        menu = bind.execute(sa.select(sa.func.max(menus.c.id))).scalar()
        bind.execute(
            sa.update(categories).where(categories.c.id.in_(children)).values(menu_id=menu)
        )
    op.drop_table("menu_items")
    op.drop_table("slug_history")

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_kind_slug")
        batch_op.drop_index("ix_articles_kind_status_publish_at")
        batch_op.drop_column("comments_enabled")
        batch_op.drop_column("kind")
