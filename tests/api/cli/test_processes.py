"""Several processes writing one database at once, on SQLite and PostgreSQL: the audit log stays
one unbroken chain, and releases cut at the same moment are numbered apart and both verify."""

import json

import pytest
from sqlalchemy import func, select

from catalog.core.db import transaction
from catalog.core.models import AuditEntryRow, AuditHeadRow, ReleaseRow
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA, chat_record
from tests.support.live import run_cli
from tests.support.processes import WAIT_FOR_GO, finish, release_together, start_cli, start_python

pytestmark = pytest.mark.slow

PROCESSES = 4
WRITES_EACH = 15

WRITER = WAIT_FOR_GO + """
from api.cli.support import sessions
from catalog.access.service import system_principal
from catalog.core.db import transaction
from catalog.datasets.schemas import DatasetCreate
from catalog.datasets.service import create_dataset

factory, name = sessions(), sys.argv[2]
for n in range(int(sys.argv[3])):
    with transaction(factory, write=True) as session:  # one audited write per transaction
        data = DatasetCreate.model_validate({"name": f"{name}-{n}", "label_schema": {"questions": [{"name": "r", "kind": "text"}]}})
        create_dataset(session, principal=system_principal(session), data=data)
"""


def chain(sessions) -> tuple[list[int], int, list[str]]:
    """Every entry's seq in order, the head's seq, and the actions of the datasets' creations."""
    with transaction(sessions) as session:
        seqs = list(session.scalars(select(AuditEntryRow.seq).order_by(AuditEntryRow.seq)))
        head = session.scalar(select(AuditHeadRow.seq))
        creates = session.scalar(select(func.count()).where(AuditEntryRow.action == "dataset:create"))
    return seqs, head, creates


def test_audited_writes_from_several_processes_keep_one_unbroken_chain(live, tmp_path):
    seqs_before, _, creates_before = chain(live.sessions)
    go = tmp_path / "go"
    writers = [start_python(live.settings, WRITER, str(go), f"p{i}", str(WRITES_EACH)) for i in range(PROCESSES)]
    release_together(go)
    outcomes = [finish(writer) for writer in writers]
    assert [(code, err[-2000:]) for code, _out, err in outcomes] == [(0, "")] * PROCESSES

    seqs, head, creates = chain(live.sessions)
    assert creates == creates_before + PROCESSES * WRITES_EACH  # every write audited, none twice
    assert seqs == list(range(1, len(seqs) + 1))  # contiguous, no gap, no fork
    assert head == seqs[-1] and len(seqs) >= len(seqs_before) + PROCESSES * WRITES_EACH
    verified = run_cli(live.settings, "verify")
    assert verified.returncode == 0, verified.stderr
    assert f"{len(seqs)} audit entries" in verified.stdout


def test_two_releases_cut_at_once_get_their_own_numbers_and_both_verify(live):
    steward = live.actors(Role.DATA_STEWARD)
    dataset = steward.dataset("cut-twice", TEXT_SCHEMA)
    steward.records(dataset["id"], *(chat_record(f"prompt {i}") for i in range(20)))
    reason = ("--override-reason", "a test of two cuts at once")
    cuts = [start_cli(live.settings, "release", "cut-twice", "--tag", tag, *reason) for tag in ("a", "b")]
    outcomes = [finish(cut) for cut in cuts]
    assert [(code, err[-2000:]) for code, _out, err in outcomes] == [(0, "")] * 2

    with transaction(live.sessions) as session:
        made = session.execute(select(ReleaseRow.tag, ReleaseRow.number, ReleaseRow.root, ReleaseRow.records)).all()
    assert sorted(tag for tag, *_ in made) == ["a", "b"]
    assert len({number for _, number, *_ in made}) == 2  # numbered apart, whichever committed first
    assert {(root, records) for *_, root, records in made} == {(made[0].root, 20)}  # same data, same root
    assert sorted((json.loads(out)["tag"], json.loads(out)["root"]) for _code, out, _err in outcomes) == [
        ("a", made[0].root), ("b", made[0].root)
    ]  # what each process printed is what it committed
    verified = run_cli(live.settings, "verify")
    assert verified.returncode == 0, verified.stderr
    assert "2 releases" in verified.stdout
