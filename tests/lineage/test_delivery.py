"""Delivering the outbox: a transport that fails keeps the rows, counts attempts and backs off;
once it works, each row goes out as START then COMPLETE under its own runId, once. The client is
configured the standard way; with nothing configured, nothing is sent and the rows wait."""

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import HttpConfig, HttpTransport
from sqlalchemy import select, update
from typer.testing import CliRunner

import api.cli.main
import api.cli.server
import api.cli.support
import catalog.core.logging
import lineage.delivery
from api.app import create_app
from catalog.core import audit_log, migrate
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.core.models import OutboxRow, utcnow
from catalog.core.principal import Role
from catalog.pii_gate.worker import MaskingLoop
from lineage.delivery import Delivery, DeliveryLoop, backoff, configured_delivery, deliver_due, safe_error
from pii import ScannerConfig
from tests.support.builders import TEXT_SCHEMA, Actors, chat_record
from tests.support.lineage_out import MemoryTransport, memory_client

NAMESPACE = "labeltrail://localhost"
CAP = timedelta(minutes=5)


def rows(sessions) -> list[OutboxRow]:
    with transaction(sessions) as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def make_due(sessions) -> None:
    """Skip the wait: every undelivered row is due now."""
    with transaction(sessions) as session:
        session.execute(update(OutboxRow).where(OutboxRow.delivered_at.is_(None)).values(next_attempt_at=utcnow()))


def delivery(client: OpenLineageClient) -> Delivery:
    return Delivery(client=client, namespace=NAMESPACE, retry_cap=CAP)


@pytest.fixture
def two_runs(actors, sessions) -> list[OutboxRow]:
    """Two outbox rows: a masking batch and a release."""
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("chat", TEXT_SCHEMA)
    steward.records(dataset["id"], chat_record("What is 2 + 2?"))
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    return rows(sessions)


def test_a_failing_transport_keeps_the_rows_and_backs_off_until_it_works(sessions, two_runs):
    transport = MemoryTransport()
    transport.failure = ConnectionError("connection refused")
    started = utcnow()
    for attempt in (1, 2, 3):
        assert deliver_due(sessions, delivery(memory_client(transport))) == 0
        first, second = rows(sessions)
        assert first.attempts == attempt and first.delivered_at is None
        assert first.last_error == "ConnectionError: connection refused"
        assert first.next_attempt_at >= started + backoff(attempt, CAP)
        assert second.attempts == attempt - 1  # the pass stopped at the first failure
        assert deliver_due(sessions, delivery(memory_client(transport))) == 0  # the first is not due: the second is tried
        assert [row.attempts for row in rows(sessions)] == [attempt, attempt]
        make_due(sessions)
    transport.failure = None
    assert deliver_due(sessions, delivery(memory_client(transport))) == 2
    assert [(e["eventType"], e["run"]["runId"]) for e in transport.events] == [
        (state, str(row.run_id)) for row in two_runs for state in ("START", "COMPLETE")
    ]
    assert all(row.delivered_at is not None for row in rows(sessions))
    make_due(sessions)
    assert deliver_due(sessions, delivery(memory_client(transport))) == 0 and len(transport.events) == 4


def test_backoff_doubles_from_ten_seconds_up_to_its_cap():
    assert [backoff(n, CAP).total_seconds() for n in (1, 2, 3, 5, 6, 1000)] == [10, 20, 40, 160, 300, 300]


def test_a_row_being_sent_is_not_taken_by_a_second_deliverer(sessions, two_runs):
    """While one deliverer sends a row, the row's lease keeps it from everyone else."""
    seen_by_other: list[int] = []

    class Racing(MemoryTransport):
        def emit(self, event) -> None:
            if not seen_by_other:
                seen_by_other.append(deliver_due(sessions, delivery(memory_client(MemoryTransport())), limit=1))
            super().emit(event)

    transport = Racing()
    assert deliver_due(sessions, delivery(memory_client(transport)), limit=1) == 1
    assert seen_by_other == [1]  # the other deliverer took the next row, not this one
    assert {e["run"]["runId"] for e in transport.events} == {str(two_runs[0].run_id)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unavailable() -> Iterator[str]:
    """An OpenLineage endpoint that answers 503 to everything."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def http_client(url: str) -> OpenLineageClient:
    """openlineage-python's HTTP transport, without its own retries (they only slow the test)."""
    return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict({"url": url, "retry": {"total": 0}})))


def test_the_http_transport_raises_on_a_closed_port_and_on_a_5xx_so_rows_stay(sessions, two_runs, unavailable):
    for url, error in ((f"http://127.0.0.1:{_free_port()}", "ConnectionError"), (unavailable, "RetryError")):
        make_due(sessions)
        assert deliver_due(sessions, delivery(http_client(url))) == 0
        assert rows(sessions)[0].last_error.startswith(f"{error}: ")
    assert [row.attempts for row in rows(sessions)] == [2, 0]


def test_errors_are_kept_without_the_credentials_a_url_carries():
    error = ConnectionError("POST https://bob:s3cret@lineage.example.com/api/v1/lineage?api_key=k3y failed")
    kept = safe_error(error)
    assert "s3cret" not in kept and "k3y" not in kept
    assert kept == "ConnectionError: POST https://…@lineage.example.com/api/v1/lineage?… failed"


@pytest.fixture
def openlineage_env(monkeypatch, tmp_path):
    """No OpenLineage configuration from the machine: no variables, no openlineage.yml found."""
    for name in [name for name in os.environ if name.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


@pytest.fixture
def labeltrail(monkeypatch, sessions, settings):
    """The ``labeltrail`` program in the test's transaction."""
    monkeypatch.setattr(api.cli.support, "sessions", lambda: sessions)
    monkeypatch.setattr(api.cli.support, "current_settings", lambda: settings)
    return lambda *args: CliRunner().invoke(api.cli.main.app, list(args))


def test_with_no_transport_configured_nothing_is_sent_and_the_rows_wait(
    openlineage_env, settings, labeltrail, two_runs, sessions
):
    assert configured_delivery(settings) is None
    result = labeltrail("worker", "--once")
    assert result.exit_code == 2 and "no OpenLineage transport is configured" in result.output
    assert all(row.delivered_at is None and row.attempts == 0 for row in rows(sessions))


def test_the_worker_delivers_through_the_transport_configured_in_the_environment(
    openlineage_env, tmp_path, labeltrail, two_runs
):
    log = tmp_path / "events.jsonl"
    openlineage_env.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    openlineage_env.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log))
    openlineage_env.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    result = labeltrail("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "2 runs delivered, 0 waiting" in result.output
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["eventType"], e["run"]["runId"]) for e in events] == [
        (state, str(row.run_id)) for row in two_runs for state in ("START", "COMPLETE")
    ]


def test_serve_logs_as_configured_from_its_first_line(openlineage_env, labeltrail, monkeypatch):
    """The warning that no transport is configured is the first thing `serve` logs: it must come
    out as the JSON lines log collectors parse, not structlog's default console lines."""
    calls = []
    # `serve` imports these when it runs (so that other commands do not load them): patched where they live.
    monkeypatch.setattr(catalog.core.logging, "configure_logging", lambda level, as_json: calls.append(("logging", as_json)))
    monkeypatch.setattr(lineage.delivery, "configured_delivery", lambda settings: calls.append(("delivery",)))
    monkeypatch.setattr(api.cli.server, "run_server", lambda host, port, background, **options: calls.append(("serve",)))
    result = labeltrail("serve")
    assert result.exit_code == 0, result.output
    assert calls == [("logging", True), ("delivery",), ("serve",)]


def test_serve_masks_and_delivers_in_the_background(empty_database_url, settings):
    """The two threads `serve` runs, on a database of their own (a thread must not share the
    test's connection): records arrive, are masked, and the masking run goes out."""
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    sessions = make_sessionmaker(engine, info=audit_log.session_info(audit_log.AuditContext(client="test"), None))
    steward = Actors(sessions, TestClient(create_app(settings, sessions=sessions)))(Role.DATA_STEWARD, "stew")
    steward.records(steward.dataset("chat", TEXT_SCHEMA)["id"], chat_record("Mail ada@example.com"), masked=False)
    transport = MemoryTransport()
    loops = [
        MaskingLoop(sessions, ScannerConfig(mode="pattern"), batch_size=10, interval=0.05),
        DeliveryLoop(sessions, delivery(memory_client(transport)), interval=0.05),
    ]
    for loop in loops:
        loop.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(transport.events) < 2:
            time.sleep(0.05)
    finally:
        for loop in loops:
            loop.stop()
            loop.join(timeout=10)
        engine.dispose()
    assert [(e["job"]["name"], e["eventType"]) for e in transport.events] == [
        ("pii.masking", "START"), ("pii.masking", "COMPLETE")
    ]  # fmt: skip
