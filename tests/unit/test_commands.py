"""The command line: createadmin stores an argon2id hash; demo is idempotent."""

import subprocess
import sys

from sqlalchemy import func, select

from config import ROOT
from extends.database import make_engine, make_sessionmaker
from model import Article, Category, Comment, MenuItem, Tag, User, Widget


def run_main(tmp_path, database_url, *args, stdin=""):
    env = {
        "PATH": "/usr/bin:/bin",
        "BLOG_DATABASE_URL": database_url,
        "BLOG_DATA_DIR": str(tmp_path / "var"),
        "BLOG_LOG_DIR": str(tmp_path / "logs"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def counts(database_url):
    engine = make_engine(database_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as session:
            return {
                model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (Article, Category, Comment, MenuItem, Tag, Widget)
            }
    finally:
        engine.dispose()


def test_createadmin_stores_an_argon2id_hash(tmp_path, database_url):
    result = run_main(
        tmp_path, database_url, "createadmin", "--username", "ada", stdin="a long enough secret\n"
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(database_url, pool_size=1)
    with make_sessionmaker(engine)() as session:
        user = session.scalar(select(User).where(User.username == "ada"))
    engine.dispose()
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough secret" not in user.password_hash


def test_createadmin_refuses_a_weak_password(tmp_path, sqlite_url):
    result = run_main(
        tmp_path, sqlite_url, "createadmin", "--username", "ada", "--password", "short"
    )
    assert result.returncode != 0
    assert "at least 10 characters" in result.stderr


def test_demo_is_idempotent(tmp_path, empty_database_url):
    first = run_main(tmp_path, empty_database_url, "demo")
    assert first.returncode == 0, first.stderr
    after_first = counts(empty_database_url)
    assert (
        after_first["Article"] >= 12
        and after_first["Category"] == 3
        and after_first["MenuItem"] >= 5
    )
    assert after_first["Comment"] > 0 and after_first["Widget"] > 0 and after_first["Tag"] > 0
    second = run_main(tmp_path, empty_database_url, "demo")
    assert second.returncode == 0, second.stderr
    assert counts(empty_database_url) == after_first


def test_demo_articles_do_not_look_edited(tmp_path, sqlite_url):
    # Comments loaded with the sample site must not show as "updated today".
    assert run_main(tmp_path, sqlite_url, "demo").returncode == 0
    engine = make_engine(sqlite_url, pool_size=1)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(select(Article.updated_at, Article.created_at)).all()
    engine.dispose()
    assert rows and all(updated == created for updated, created in rows)


def test_no_configuration_runs_on_sqlite_with_a_generated_secret(tmp_path):
    from config import load_settings

    settings = load_settings(environ={"BLOG_DATA_DIR": str(tmp_path / "var")})
    assert settings.database_url.startswith("sqlite:///")
    assert len(settings.cookie_secret) >= 40
    again = load_settings(environ={"BLOG_DATA_DIR": str(tmp_path / "var")})
    assert again.cookie_secret == settings.cookie_secret
    assert settings.redis_urls == []


def test_settings_precedence(tmp_path):
    from config import load_settings

    config_file = tmp_path / "blog.toml"
    config_file.write_text(
        'port = 9001\nlog_dir = "/from/file"\nposts = 1\n'.replace("posts = 1\n", "")
    )
    env = {
        "BLOG_DATA_DIR": str(tmp_path),
        "BLOG_LOG_DIR": "/from/env",
        "BLOG_REDIS_URL": "redis://a:1,redis://b:2",
    }
    settings = load_settings(str(config_file), {"port": 9100}, env)
    assert settings.port == 9100  # command line beats file
    assert settings.log_dir == "/from/env"  # environment beats file
    assert settings.redis_urls == ["redis://a:1", "redis://b:2"]
    assert load_settings(str(config_file), {}, {"BLOG_DATA_DIR": str(tmp_path)}).port == 9001
