"""One GraphQL query for a page of records with their annotations and each annotation's history
issues the same number of SQL statements for 10 records as for 100: the DataLoaders batch."""

import uuid

import pytest
from sqlalchemy import event

from catalog.annotations import service as annotations
from catalog.annotations.schemas import AnnotationCreate, AnnotationEdit
from catalog.core.db import transaction
from catalog.core.principal import Role
from catalog.pii_gate.service import SCANNER_KEY, scan_function
from catalog.records import service as records
from catalog.records.schemas import RecordIn
from pii import ScannerConfig
from tests.support.builders import FULL_SCHEMA, undone
from tests.support.graphql import data

PAGE = """query($id: UUID!, $first: Int!) {
  dataset(id: $id) {
    records(first: $first) {
      edges { node { id text messages { content }
        annotations { id value text
          history { revision kind actor value reason text } } } }
    }
  }
}"""
RECORDS = 100


def unsealed(settings):
    """No seals: a seal falls on every fifth audit entry and would add a statement now and then."""
    return settings.model_copy(update={"audit_seal_key": None})


@pytest.fixture
def settings(settings):
    return unsealed(settings)


@pytest.fixture(scope="module")
def module_settings(module_settings):
    return unsealed(module_settings)


@pytest.fixture(scope="module")
def dataset_id(module_actors, module_sessions) -> str:
    """100 records, each with a span annotation and an edited text annotation (three revisions each).

    Built once per module; each test runs in a savepoint over it that is rolled back (``sessions``)."""
    actors, sessions = module_actors, module_sessions
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("counted", FULL_SCHEMA)
    with transaction(sessions) as session:
        principal = steward.principal
        added = records.add_records(
            session, principal=principal, dataset_id=uuid.UUID(dataset["id"]),
            records=[RecordIn(messages=[{"role": "user", "content": f"Ask ann{n}@example.com, number {n}"}])
                     for n in range(RECORDS)],
        )
    steward.mask()
    with transaction(sessions) as session:
        session.info[SCANNER_KEY] = scan_function(ScannerConfig(mode="pattern"))  # as a request's session has
        for record_id in added.ids:
            span = AnnotationCreate(question="pii", value=[{"message": 0, "start": 4, "end": 21, "label": "EMAIL"}])
            annotations.create_annotation(session, principal=principal, record_id=record_id, data=span)
            made = annotations.create_annotation(
                session, principal=principal, record_id=record_id, data=AnnotationCreate(question="response", value="Hi.")
            )
            for revision in (1, 2):
                edit = AnnotationEdit(base_revision=revision, value=f"Hi, v{revision + 1}.", reason="clearer")
                annotations.edit_annotation(session, principal=principal, annotation_id=made.id, data=edit)
    return dataset["id"]


@pytest.fixture(autouse=True)  # every test, even one that asks only for the dataset_id: the callers in it write
def sessions(module_sessions, dataset_id):
    with undone(module_sessions):
        yield module_sessions


def statements_for(engine, caller, dataset_id: str, first: int) -> tuple[int, dict]:
    executed = []

    def count(_connection, _cursor, statement, *_args):
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = data(caller, PAGE, {"id": dataset_id, "first": first})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(executed), page


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.DATA_STEWARD])
def test_statements_do_not_grow_with_the_page(actors, engine, dataset_id, role):
    """Annotators read masked text (spans mapped onto it), stewards raw text (the read audited)."""
    caller = actors(role, f"reader-{role.value}", on=[dataset_id])
    data(caller, "{ me { name } }")  # the key's first use is stamped once; not part of the count
    small, small_page = statements_for(engine, caller, dataset_id, 10)
    large, large_page = statements_for(engine, caller, dataset_id, RECORDS)
    edges = large_page["dataset"]["records"]["edges"]
    assert len(small_page["dataset"]["records"]["edges"]) == 10 and len(edges) == RECORDS
    assert all(len(edge["node"]["annotations"]) == 2 for edge in edges)
    served = [a for edge in edges for a in edge["node"]["annotations"]]
    assert sum(len(a["history"]) for a in served) == RECORDS * 4
    assert {a["text"] for a in served} == {"masked" if role is Role.ANNOTATOR else "raw"}
    assert small == large, f"{small} statements for 10 records, {large} for {RECORDS}"
    assert large < RECORDS // 4  # and far from one per record
