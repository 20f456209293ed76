"""Alembic revisions: up, down, up again on SQLite and MariaDB; models and migrations agree."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
