"""``python main.py users list|role|disable``: the users page's work from the shell."""

from sqlalchemy import select

from extends.database import make_engine, make_sessionmaker
from model import User
from tests.unit.test_commands import run_main

PASSWORD = "violet-harbour-lantern-42"


def user(database_url, username):
    engine = make_engine(database_url, pool_size=1)
    with make_sessionmaker(engine)() as session:
        found = session.scalar(select(User).where(User.username == username))
    engine.dispose()
    return found


def test_list_role_and_disable(tmp_path, database_url):
    for name in ("ada", "ann"):
        created = run_main(
            tmp_path, database_url, "createadmin", "--username", name, "--password", PASSWORD
        )
        assert created.returncode == 0, created.stderr
    assert user(database_url, "ada").role == "administrator"

    changed = run_main(tmp_path, database_url, "users", "role", "ann", "author")
    assert changed.returncode == 0, changed.stderr
    assert user(database_url, "ann").role == "author"

    disabled = run_main(tmp_path, database_url, "users", "disable", "ann")
    assert disabled.returncode == 0, disabled.stderr
    assert user(database_url, "ann").disabled

    listed = run_main(tmp_path, database_url, "users", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1:3] for line in listed.stdout.splitlines()[1:]}
    assert rows == {"ada": ["administrator", "active"], "ann": ["author", "disabled"]}

    enabled = run_main(tmp_path, database_url, "users", "disable", "ann", "--enable")
    assert enabled.returncode == 0 and not user(database_url, "ann").disabled


def test_the_last_administrator_and_unknown_users_are_refused(tmp_path, sqlite_url):
    run_main(tmp_path, sqlite_url, "createadmin", "--username", "ada", "--password", PASSWORD)
    demoted = run_main(tmp_path, sqlite_url, "users", "role", "ada", "editor")
    assert demoted.returncode == 2 and "last administrator" in demoted.stderr
    disabled = run_main(tmp_path, sqlite_url, "users", "disable", "ada")
    assert disabled.returncode == 2 and "last administrator" in disabled.stderr
    assert user(sqlite_url, "ada").role == "administrator" and not user(sqlite_url, "ada").disabled
    unknown = run_main(tmp_path, sqlite_url, "users", "role", "nobody", "author")
    assert unknown.returncode == 2 and "no such user" in unknown.stderr
    wrong = run_main(tmp_path, sqlite_url, "users", "role", "ada", "overlord")
    assert wrong.returncode != 0
