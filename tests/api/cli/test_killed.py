"""Processes killed with SIGKILL half-way, on SQLite and PostgreSQL: what they committed is whole,
``verify`` passes, and running again finishes the work exactly once."""

import json
import signal
import socket
import uuid

import pytest
from sqlalchemy import func, select, update

from catalog.access.service import system_principal
from catalog.core.db import transaction
from catalog.core.models import (
    MASKED,
    AnnotationRow,
    AuditEntryRow,
    OutboxRow,
    PiiFindingRow,
    RecordRow,
    RevisionRow,
    utcnow,
)
from catalog.core.principal import Role
from lineage.delivery import waiting
from tests.support.builders import TEXT_SCHEMA
from tests.support.importing import alpaca, import_file, write_lines
from tests.support.live import run_cli
from tests.support.processes import descendants, finish, living, start_cli, wait_for
from tests.support.receiver import receiving

pytestmark = pytest.mark.slow

ITEMS = 6000
BATCH = 100  # 60 batches: the kill lands after the first commits and long before the last


def counts(sessions, dataset_id: str) -> tuple[int, int, int, int]:
    """Records, annotations and revisions in the dataset, and the import batches audited."""
    dataset = uuid.UUID(dataset_id)
    with transaction(sessions) as session:
        records = session.scalar(select(func.count()).where(RecordRow.dataset_id == dataset))
        annotations = session.scalar(select(func.count()).where(AnnotationRow.dataset_id == dataset))
        revisions = session.scalar(
            select(func.count()).select_from(RevisionRow).join(AnnotationRow, AnnotationRow.id == RevisionRow.annotation_id)
            .where(AnnotationRow.dataset_id == dataset)
        )  # fmt: skip
        batches = session.scalar(
            select(func.count()).where(AuditEntryRow.action == "import:run", AuditEntryRow.resource == f"dataset:{dataset}")
        )
    return records, annotations, revisions, batches


def test_an_import_killed_mid_way_leaves_whole_batches_and_sync_finishes_it(live, tmp_path):
    steward = live.actors(Role.DATA_STEWARD)
    dataset = steward.dataset("killed", TEXT_SCHEMA)
    source = write_lines(tmp_path / "items.jsonl", *(alpaca(f"prompt {i}", f"answer {i}") for i in range(ITEMS)))
    args = ("import", str(source), "--dataset", "killed", "--format", "alpaca", "--batch-size", str(BATCH))

    importing = start_cli(live.settings, *args)
    wait_for(lambda: counts(live.sessions, dataset["id"])[0] > 0 or importing.poll() is not None, "a committed batch")
    importing.send_signal(signal.SIGKILL)
    code, _out, err = finish(importing)
    assert code == -signal.SIGKILL, f"the import ended before it was killed: {code} {err[-2000:]}"

    records, annotations, revisions, batches = counts(live.sessions, dataset["id"])
    assert 0 < records < ITEMS  # killed mid-way
    assert records % BATCH == 0 and records == annotations == revisions == batches * BATCH  # whole batches only
    verified = run_cli(live.settings, "verify")
    assert verified.returncode == 0, verified.stderr

    resumed = run_cli(live.settings, *args, "--sync")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert (report["records_matched"], report["records_added"], report["records_retired"]) == (records, ITEMS - records, 0)
    assert (report["annotations_unchanged"], report["annotations_added"]) == (records, ITEMS - records)
    assert counts(live.sessions, dataset["id"])[:3] == (ITEMS, ITEMS, ITEMS)
    verified = run_cli(live.settings, "verify")
    assert verified.returncode == 0, verified.stderr
    assert f"intact: {ITEMS} records, {ITEMS} annotations, {ITEMS} revisions" in verified.stdout


PENDING_RECORDS = 2000
MASK_BATCH = 10  # 200 masking runs, each an outbox row: the kill lands among them


def masking(sessions) -> tuple[int, int, int, int]:
    """Records masked, records the ``pii:mask`` entries say they masked, findings stored and found."""
    with transaction(sessions) as session:
        masked = session.scalar(select(func.count()).where(RecordRow.mask_status == MASKED))
        details = list(session.scalars(select(AuditEntryRow.details).where(AuditEntryRow.action == "pii:mask")))
        stored = session.scalar(select(func.count()).select_from(PiiFindingRow))
    return masked, sum(d["records"] for d in details), stored, sum(d["findings"] for d in details)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_killed_while_masking_and_delivering_resumes_without_doubles_or_losses(live, tmp_path):
    steward = live.actors(Role.DATA_STEWARD)
    dataset = steward.dataset("served", TEXT_SCHEMA)
    source = write_lines(tmp_path / "items.jsonl", *(alpaca(f"prompt {i} from u{i}@example.com") for i in range(PENDING_RECORDS)))
    with transaction(live.sessions, write=True) as session:
        import_file(session, system_principal(session), dataset["id"], source)  # pending records, one outbox row

    with receiving() as receiver:
        env = {
            "OPENLINEAGE_URL": receiver.url, "LABELTRAIL_PII_BATCH_SIZE": str(MASK_BATCH),
            "LABELTRAIL_PII_INTERVAL_SECONDS": "0.2", "LABELTRAIL_LINEAGE_INTERVAL_SECONDS": "0.2",
        }  # fmt: skip
        receiver.hold_next = True  # the first event arrives, and its sender is killed before it hears so
        server = start_cli(live.settings, "serve", "--port", str(free_port()), **env)
        wait_for(lambda: (receiver.held.is_set() and masking(live.sessions)[0] > 0) or server.poll() is not None,
                 "a masked batch and an event sent")  # fmt: skip
        scanners = descendants(server.pid)  # the masking workers, and the fork server that started them
        server.send_signal(signal.SIGKILL)
        code, _out, err = finish(server)
        assert code == -signal.SIGKILL, f"serve ended before it was killed: {code} {err[-2000:]}"
        assert scanners and wait_for(lambda: not living(scanners), "the masking workers to end with their server")
        killed_at = masking(live.sessions)
        assert 0 < killed_at[0] < PENDING_RECORDS  # killed mid-way through masking
        with transaction(live.sessions, write=True) as session:  # the killed server's lease on its row runs out
            session.execute(update(OutboxRow).where(OutboxRow.delivered_at.is_(None)).values(next_attempt_at=utcnow()))

        server = start_cli(live.settings, "serve", "--port", str(free_port()), **env)
        try:
            wait_for(lambda: (masking(live.sessions)[0] == PENDING_RECORDS and waiting(live.sessions) == 0)
                     or server.poll() is not None, "every record masked and every row delivered")  # fmt: skip
        finally:
            server.send_signal(signal.SIGTERM)
            code, _out, err = finish(server, timeout=120)
        runs = receiver.runs()

    masked, audited, stored, found = masking(live.sessions)
    assert (masked, audited) == (PENDING_RECORDS, PENDING_RECORDS)  # nothing masked twice, nothing left pending
    assert stored == found >= PENDING_RECORDS  # each finding stored once (an email in every record, and some more)
    with transaction(live.sessions) as session:
        rows = session.execute(select(OutboxRow.run_id, OutboxRow.delivered_at, OutboxRow.kind)).all()
    assert all(delivered is not None for _, delivered, _ in rows)
    assert {str(run_id) for run_id, _, _ in rows} == set(runs)  # at least once: no run lost
    resent = 0
    for run_id, events in runs.items():
        kinds = [event["eventType"] for event in events]
        assert kinds[0] == "START" and kinds[-1] == "COMPLETE", (run_id, kinds)
        for kind in ("START", "COMPLETE"):
            copies = [event for event in events if event["eventType"] == kind]
            assert all(copy == copies[0] for copy in copies), (run_id, kind)  # a resend is the same event
            resent += len(copies) - 1
    assert resent >= 1  # the event whose answer never came was sent again, under its runId
    verified = run_cli(live.settings, "verify")
    assert verified.returncode == 0, verified.stderr
