"""Processes killed with SIGKILL half-way, on SQLite and PostgreSQL: what they committed is whole,
``verify`` passes, and running again finishes the work exactly once."""

import json
import signal
import uuid

import pytest
from sqlalchemy import func, select

from catalog.core.db import transaction
from catalog.core.models import AnnotationRow, AuditEntryRow, RecordRow, RevisionRow
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA
from tests.support.importing import alpaca, write_lines
from tests.support.live import run_cli
from tests.support.processes import finish, start_cli, wait_for

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
