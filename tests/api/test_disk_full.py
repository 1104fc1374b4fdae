"""SQLite out of space (``PRAGMA max_page_count`` just above the database's size): a create through
the API is a clean 503 naming the cause, an import from the command line a clear error, and
neither leaves anything half-written; the audit chain still verifies."""

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text
from typer.testing import CliRunner

import api.cli.main
import api.cli.support
from api.app import create_app
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.core.models import AuditEntryRow, RecordRow
from catalog.core.principal import Role
from catalog.core.provenance import Broken
from catalog.verification.service import verify
from tests.conftest import TEST_MASKING, TEST_SEALER
from tests.support.builders import TEXT_SCHEMA, Actors, chat_record
from tests.support.importing import alpaca, write_lines
from tests.support.live import live_database, live_sessions, live_settings

HEADROOM = 3  # pages: room for a short audit entry, not for a batch of records


@pytest.fixture
def world(tmp_path):
    """A SQLite database with a dataset, then sessions on it that may grow it by a few pages only."""
    with live_database("sqlite", tmp_path, None) as url:
        settings = live_settings(url, TEST_SEALER.key.decode(), TEST_SEALER.every)
        roomy = live_sessions(settings)
        with TestClient(create_app(settings, sessions=roomy)) as client:
            steward = Actors(roomy, client, TEST_MASKING)(Role.DATA_STEWARD)
            dataset = steward.dataset("full", TEXT_SCHEMA)
        with transaction(roomy) as session:
            pages = session.scalar(text("PRAGMA page_count"))
        engine = make_engine(url)

        @event.listens_for(engine, "connect")
        def almost_full(dbapi_connection, _record) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count={pages + HEADROOM}")

        tight = make_sessionmaker(engine, info=roomy.kw["info"])
        try:
            yield settings, roomy, tight, steward, dataset
        finally:
            engine.dispose()
            roomy.kw["bind"].dispose()


def records_in(sessions, dataset_id: str) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).where(RecordRow.dataset_id == uuid.UUID(dataset_id)))


def audit_intact(sessions) -> int:
    with transaction(sessions) as session:
        outcome = verify(session, TEST_SEALER)
        assert not isinstance(outcome, Broken), outcome
        return session.scalar(select(func.count()).select_from(AuditEntryRow))


def test_a_create_on_a_full_sqlite_database_is_a_503_and_writes_nothing(world):
    settings, roomy, tight, steward, dataset = world
    body = {"records": [chat_record(f"prompt {i}: " + "many words " * 300) for i in range(50)]}
    with TestClient(create_app(settings, sessions=tight)) as client:
        answer = client.post(f"/api/v1/datasets/{dataset['id']}/records", json=body, headers=steward.headers)
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == {"code": "UNAVAILABLE", "message": "the database is out of space"}
        assert client.get(f"/api/v1/datasets/{dataset['id']}", headers=steward.headers).status_code == 200  # reads go on
    assert records_in(roomy, dataset["id"]) == 0
    audit_intact(roomy)


def test_an_import_on_a_full_sqlite_database_is_a_clear_cli_error_and_writes_nothing(world, tmp_path, monkeypatch):
    settings, roomy, tight, _steward, dataset = world
    source = write_lines(tmp_path / "big.jsonl", *(alpaca(f"prompt {i}: " + "many words " * 300) for i in range(200)))
    entries = audit_intact(roomy)
    monkeypatch.setattr(api.cli.support, "sessions", lambda: tight)
    monkeypatch.setattr(api.cli.support, "current_settings", lambda: settings)
    result = CliRunner().invoke(api.cli.main.app, ["import", str(source), "--dataset", "full", "--format", "alpaca"])
    assert (result.exit_code, result.exception.__class__) == (2, SystemExit), result.output
    assert result.output.strip().splitlines()[-1] == "error: the database is out of space"
    assert records_in(roomy, dataset["id"]) == 0
    assert audit_intact(roomy) == entries  # the failed batch's entry went with it
