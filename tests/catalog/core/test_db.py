"""The embedded SQLite database runs with the settings its integrity depends on."""

import importlib.util

import pytest
from sqlalchemy import text

from catalog.core.db import make_engine, normalise_url


def test_sqlite_has_wal_foreign_keys_and_savepoints(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        with connection.begin_nested():
            connection.execute(text("INSERT INTO t VALUES (1)"))
        nested = connection.begin_nested()
        connection.execute(text("INSERT INTO t VALUES (2)"))
        nested.rollback()
        assert connection.execute(text("SELECT x FROM t")).scalars().all() == [1]
    engine.dispose()


def test_plain_postgresql_urls_use_psycopg_3():
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.skipif(importlib.util.find_spec("pysqlite3") is None, reason="pysqlite3-binary has wheels for Linux x86-64 only")
def test_sqlite_runs_on_the_bundled_newer_sqlite_where_it_is_installed(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        version = connection.execute(text("SELECT sqlite_version()")).scalar()
    engine.dispose()
    assert tuple(int(part) for part in version.split(".")) >= (3, 51)
