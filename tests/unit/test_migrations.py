"""Alembic revisions: up, down, up again on SQLite and MariaDB; models and migrations agree."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from config import ROOT
from extends.database import make_engine
from model import Base


def alembic_config(url):
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


def table_names(url):
    engine = make_engine(url, pool_size=1)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    created = table_names(empty_database_url)
    assert {"articles", "comments", "users", "site_settings", "article_tags"} <= created
    command.downgrade(config, "base")
    assert table_names(empty_database_url) == set()
    command.upgrade(config, "head")
    assert table_names(empty_database_url) == created


def test_models_and_migrations_do_not_drift(database_url):
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], differences


def test_0006_turns_about_and_menus_into_a_page_and_menu_items(empty_database_url):
    """Up: the About text becomes a page, menus become entries; down: both come back."""
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0005")
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO site_settings (id, title, signature, about, navbar_style, footer,"
                    " posts_per_page, comment_mode, language, require_two_factor, updated_at)"
                    " VALUES (1, 'Blog', '', 'I write **here**.', 'light', '', 10, 'open',"
                    " 'auto', 0, '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text("INSERT INTO menus (id, name, sort_order) VALUES (1, 'Work', 0)")
            )
            for row in (
                "(1, 'Python 入门', '', 0, 1, 0)",
                "(2, 'Travel', '', 0, NULL, 1)",
                "(3, 'Secret', '', 1, NULL, 2)",
                "(4, 'Travel', '', 0, NULL, 3)",
            ):
                connection.execute(
                    text(
                        "INSERT INTO categories (id, name, intro, hidden, menu_id, sort_order)"
                        f" VALUES {row}"
                    )
                )
        command.upgrade(config, "0006")
        with engine.connect() as connection:
            page = connection.execute(
                text("SELECT title, slug, kind, status, content, comments_enabled FROM articles")
            ).one()
            assert tuple(page[:5]) == ("About", "about", "page", "published", "I write **here**.")
            assert not page.comments_enabled
            slugs = dict(connection.execute(text("SELECT id, slug FROM categories")).all())
            assert slugs == {1: "python-ru-men", 2: "travel", 3: "secret", 4: "travel-2"}
            items = connection.execute(
                text(
                    "SELECT id, parent_id, kind, target_id, label FROM menu_items"
                    " ORDER BY parent_id IS NOT NULL, sort_order"
                )
            ).all()
            top = [
                (kind, target, label) for _, parent, kind, target, label in items if parent is None
            ]
            assert top == [("link", None, "Work"), ("category", 2, ""), ("category", 4, "")]
            work = next(item.id for item in items if item.label == "Work")
            assert [(i.kind, i.target_id) for i in items if i.parent_id == work] == [
                ("category", 1)
            ]
            assert "about" not in {
                c["name"] for c in inspect(connection).get_columns("site_settings")
            }
        command.downgrade(config, "0005")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT about FROM site_settings")).scalar() == (
                "I write **here**."
            )
            assert connection.execute(text("SELECT COUNT(*) FROM articles")).scalar() == 0
            assert connection.execute(text("SELECT id, name FROM menus")).all() == [(1, "Work")]
            menu_ids = dict(connection.execute(text("SELECT id, menu_id FROM categories")).all())
            assert menu_ids == {1: 1, 2: None, 3: None, 4: None}
    finally:
        engine.dispose()


def test_0006_without_about_text_creates_no_page(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0005")
    engine = make_engine(empty_database_url, pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO site_settings (id, title, signature, about, navbar_style, footer,"
                    " posts_per_page, comment_mode, language, require_two_factor, updated_at)"
                    " VALUES (1, 'Blog', '', '  ', 'light', '', 10, 'open', 'auto', 0,"
                    " '2026-01-01 00:00:00')"
                )
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM articles")).scalar() == 0
    finally:
        engine.dispose()
