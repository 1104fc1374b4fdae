"""`labeltrail pii mask`, `pii rescan` and `erase`, and the masking loop `serve` runs."""

import os
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.cli.support import operator_name
from catalog.core import audit_log, migrate
from catalog.core.config import Settings
from catalog.core.db import make_engine, make_sessionmaker
from catalog.core.models import AuditEntryRow, RecordRow
from catalog.core.principal import Role
from catalog.pii_gate import worker
from catalog.pii_gate.worker import MaskingLoop
from pii import ScannerConfig, detector_version
from tests.support.builders import TEXT_SCHEMA, Actors, chat_record

EMAIL = "kim.cli@example.com"


def statuses(sessions) -> dict[str, tuple[str, str | None]]:
    with sessions() as session:
        rows = session.execute(select(RecordRow.external_id, RecordRow.mask_status, RecordRow.detector_version))
        return {external_id: (status, version) for external_id, status, version in rows}


def add_pending(actors, count: int = 3) -> dict:
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("cli-pii", TEXT_SCHEMA)
    records = [chat_record(f"Note {n}: mail {EMAIL}", external_id=f"r{n}") for n in range(count)]
    steward.records(dataset["id"], *records, masked=False)
    return dataset


def test_pii_mask_masks_every_pending_record(cli, actors, sessions):
    add_pending(actors)
    result = cli("pii", "mask")
    assert result.exit_code == 0, result.output
    version = detector_version(ScannerConfig(mode="pattern"))
    assert f"3 records masked, 3 findings ({version})" in result.output
    assert set(statuses(sessions).values()) == {("masked", version)}
    assert "0 records masked" in cli("pii", "mask").output


def test_pii_rescan_remasks_a_dataset_with_the_new_detector(cli, actors, sessions, settings, tmp_path):
    add_pending(actors)
    cli("pii", "mask")
    config = tmp_path / "pii.yaml"
    config.write_text("mode: pattern\nentities: [PHONE_NUMBER]\n")  # emails are no longer looked for
    changed = Settings(**{**settings.model_dump(), "pii_config": config, "pii_mode": None})
    result = cli("pii", "rescan", "cli-pii", settings=changed)
    assert result.exit_code == 0, result.output
    new_version = detector_version(changed.scanner_config())
    assert f"3 records of cli-pii re-masked, 0 findings ({new_version})" in result.output
    assert set(statuses(sessions).values()) == {("masked", new_version)}
    with sessions() as session:
        masked = session.scalars(select(RecordRow.masked_content)).all()
    assert all(EMAIL in content["messages"][0]["content"] for content in masked)
    assert "0 records of cli-pii re-masked" in cli("pii", "rescan", "cli-pii", settings=changed).output


def test_pii_rescan_of_an_unknown_dataset_exits_2(cli):
    result = cli("pii", "rescan", "nope")
    assert result.exit_code == 2 and "dataset 'nope' not found" in result.output


def test_erase_from_the_cli_is_audited_as_the_host_operator(cli, actors, sessions):
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("cli-erase", TEXT_SCHEMA)
    steward.records(dataset["id"], chat_record(f"I am {EMAIL}", metadata={"subject_id": "s-9"}))
    result = cli("erase", "--subject", "s-9", "--reason", "DSR-9")
    assert result.exit_code == 0, result.output
    assert "subject s-9: 1 records erased, 0 erased before, in 1 datasets" in result.output
    with sessions() as session:
        [entry] = session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == "subject:erase")).all()
        [content] = session.scalars(select(RecordRow.content)).all()
    assert (entry.actor_name, entry.details["reason"]) == (f"os:{operator_name()}", "DSR-9")
    assert EMAIL not in str(content)


def test_erase_needs_a_reason(cli):
    result = cli("erase", "--subject", "s-9")
    assert result.exit_code == 2 and "reason" in result.output.lower()


def test_the_serve_loop_masks_records_as_they_arrive(tmp_path, settings):
    """On a database of its own: the loop's thread and the test's must not share one connection."""
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, info=audit_log.session_info(audit_log.AuditContext(client="test"), None))
    add_pending(Actors(sessions, TestClient(create_app(settings, sessions=sessions))), count=2)
    loop = MaskingLoop(sessions, ScannerConfig(mode="pattern"), batch_size=10, interval=0.05)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and {s for s, _ in statuses(sessions).values()} != {"masked"}:
            time.sleep(0.05)
    finally:
        loop.stop()
        loop.join(timeout=10)
        engine.dispose()
    assert {status for status, _ in statuses(sessions).values()} == {"masked"}
    assert not loop.is_alive()


class Recorded:
    """Stands in for the worker's logger: keeps each event with its fields."""

    def __init__(self):
        self.events: list[tuple[str, dict]] = []

    def info(self, event: str, **fields) -> None:
        self.events.append((event, fields))

    def exception(self, event: str, **fields) -> None:
        self.events.append((event, fields))

    def named(self, event: str) -> list[dict]:
        return [fields for name, fields in self.events if name == event]


@pytest.mark.slow
def test_the_serve_loop_scans_in_worker_processes_and_logs_each_batch(tmp_path, settings, monkeypatch):
    """Two scanning processes, as LABELTRAIL_PII_WORKERS asks; a log line per batch with the backlog and rate."""
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, info=audit_log.session_info(audit_log.AuditContext(client="test"), None))
    add_pending(Actors(sessions, TestClient(create_app(settings, sessions=sessions))), count=5)
    recorded = Recorded()
    monkeypatch.setattr(worker, "log", recorded)
    loop = MaskingLoop(sessions, ScannerConfig(mode="pattern"), batch_size=2, interval=0.05, workers=2)
    loop.start()
    try:
        deadline = time.monotonic() + 120  # the fork server and its workers start fresh interpreters
        while time.monotonic() < deadline and not recorded.named("masking_done"):
            time.sleep(0.05)
        processes = list(loop._scanner._pool._processes.values())  # kept between runs, until stopped
    finally:
        loop.stop()
        loop.join(timeout=30)
        engine.dispose()
    assert {status for status, _ in statuses(sessions).values()} == {"masked"}
    assert recorded.named("masking_workers_ready") == [{"workers": 2}]
    [started] = recorded.named("masking_started")
    assert (started["backlog_records"], started["workers"]) == (5, 2)
    batches = recorded.named("masking_batch")
    assert [(b["records"], b["backlog_records"]) for b in batches] == [(2, 3), (2, 1), (1, 0)]
    assert all(b["per_second"] > 0 and b["findings"] == b["records"] for b in batches)
    [done] = recorded.named("masking_done")
    assert (done["records"], done["findings"]) == (5, 5)
    assert len(processes) == 2 and os.getpid() not in {process.pid for process in processes}
    assert not any(process.is_alive() for process in processes)  # stop() ended them
    assert not loop.is_alive()
