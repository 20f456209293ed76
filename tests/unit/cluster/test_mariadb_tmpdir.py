"""The launcher's MariaDB keeps its temporary tables in its own directory, not the system /tmp."""

from __future__ import annotations

from pathlib import Path

import pymysql

from deploy.servers import mariadb_tmpdir
from tests.support.servers import MariaDBServer


def test_the_running_server_uses_its_own_tmpdir_next_to_its_data(mariadb_server: MariaDBServer):
    connection = pymysql.connect(
        host="127.0.0.1", port=mariadb_server.port, user="root", password=""
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@tmpdir, @@datadir")
            tmpdir, datadir = cursor.fetchone()
    finally:
        connection.close()
    expected = mariadb_tmpdir(mariadb_server.directory)
    assert Path(tmpdir) == expected
    assert expected.is_dir()
    # Under the data directory's parent, not the system's /tmp itself.
    assert expected.parent.resolve() == Path(datadir).resolve().parent
    assert Path(tmpdir).resolve() != Path("/tmp").resolve()
