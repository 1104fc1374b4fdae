"""``labeltrail serve`` refuses a database whose schema is not the code's, and ``--migrate``
upgrades it first. uvicorn is replaced by a client that starts the app (its lifespan) and asks
``/ready``, so nothing listens on a port."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

import api.cli.main
import api.cli.support
from catalog.core import migrate
from catalog.core.db import make_engine

HEAD = migrate.head()
BEHIND = migrate._scripts().get_revision(HEAD).down_revision


@pytest.fixture
def serve(monkeypatch, empty_database_url, settings):
    """Runs ``labeltrail serve ARGS`` on the test's own database; returns the result and what the
    stand-in for uvicorn saw (``/ready``'s answer), or None when the server was never started."""
    import uvicorn

    monkeypatch.setattr(api.cli.support, "current_settings", lambda: settings.model_copy(
        update={"database_url": empty_database_url, "pii_interval_seconds": 60}))  # fmt: skip
    served = []

    def run(app, **_options):
        with TestClient(app) as client:
            served.append(client.get("/ready"))

    monkeypatch.setattr(uvicorn, "run", run)

    def invoke(*args):
        result = CliRunner().invoke(api.cli.main.app, ["serve", *args])
        return result, (served[-1] if served else None)

    return invoke


def test_serve_refuses_a_database_that_was_never_migrated(serve):
    result, ready = serve()
    assert result.exit_code == 2, result.output
    assert ready is None
    [line] = result.output.strip().splitlines()  # one line, naming the command that fixes it
    assert line.startswith("error: the database has no labeltrail schema") and "labeltrail db upgrade" in line


def test_serve_refuses_a_schema_behind_the_code(serve, empty_database_url):
    migrate.upgrade(empty_database_url, BEHIND)
    result, ready = serve()
    assert (result.exit_code, ready) == (2, None), result.output
    assert f"at revision {BEHIND}, behind the code's {HEAD}" in result.output
    assert "labeltrail db upgrade" in result.output


def test_serve_refuses_a_schema_newer_than_the_code_even_with_migrate(serve, empty_database_url):
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for args in ((), ("--migrate",)):
        result, ready = serve(*args)
        assert (result.exit_code, ready) == (2, None), result.output
        assert "revision 9999, which this code does not know" in result.output


@pytest.mark.parametrize("revision", [None, BEHIND], ids=["never-migrated", "behind"])
def test_serve_migrate_upgrades_then_serves(serve, empty_database_url, revision):
    if revision:
        migrate.upgrade(empty_database_url, revision)
    result, ready = serve("--migrate")
    assert result.exit_code == 0, result.output
    assert ready.status_code == 200 and ready.json()["schema_revision"]["current"] == HEAD
    result, ready = serve()  # migrated: it serves without being asked to migrate
    assert result.exit_code == 0 and ready.status_code == 200
