"""POST /api/v1/lineage: Marquez's semantics, stricter about the spec, idempotent, authenticated."""

import copy
import json
import uuid

import pytest
from sqlalchemy import func, select

from catalog.core.models import LineageDatasetRow, LineageEventRow, LineageIoRow, LineageRunRow
from catalog.core.principal import Role
from tests.conftest import SHARED_DATA

MARQUEZ_EVENTS = SHARED_DATA / "marquez" / "test_events"
# What the spec says these break, and Marquez lets through.
INVALID = {
    "event_required_no_timezone.json": "eventTime: a timestamp must carry its timezone",
    "event_without_schema_url.json": "schemaURL: Field required",
    "listener/1.json": "schemaURL: Field required",
    "listener/2.json": "schemaURL: Field required",
}
PRODUCER = "https://github.com/acme/trainer"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def run_event(event_type="COMPLETE", run_id=None, **fields) -> dict:
    return {
        "eventType": event_type, "eventTime": "2026-12-01T10:00:00Z", "producer": PRODUCER, "schemaURL": SCHEMA,
        "run": {"runId": str(run_id or uuid.uuid4())}, "job": {"namespace": "training", "name": "sft"},
        "inputs": [], "outputs": [], **fields,
    }  # fmt: skip


@pytest.fixture
def engineer(actors):
    return actors(Role.ML_ENGINEER, "mle")


def post(caller, event):
    return caller.post("/api/v1/lineage", event)


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def marquez_events() -> list:
    if not MARQUEZ_EVENTS.exists():
        pytest.skip(f"public test data not present: {MARQUEZ_EVENTS} (it lives in ../shared/data beside the clone)")
    return sorted(MARQUEZ_EVENTS.rglob("*.json"))


def test_marquez_test_events_are_accepted_except_the_ones_that_break_the_spec(engineer, sessions):
    refused = {}
    for path in marquez_events():
        response = post(engineer, json.loads(path.read_text()))
        if response.status_code != 201:
            assert response.status_code == 400, response.text
            refused[path.relative_to(MARQUEZ_EVENTS).as_posix()] = response.json()["error"]["message"]
    assert set(refused) == set(INVALID), refused
    for name, rule in INVALID.items():
        assert rule in refused[name], refused[name]
    assert count(sessions, LineageEventRow) == len(marquez_events()) - len(INVALID)


def test_the_same_event_twice_is_stored_once(engineer, sessions):
    event = run_event()
    first, again = engineer.ok(post(engineer, event), 201), engineer.ok(post(engineer, copy.deepcopy(event)), 201)
    assert (first["duplicate"], again["duplicate"]) == (False, True) and first["event_id"] == again["event_id"]
    assert count(sessions, LineageEventRow) == 1


def test_a_run_reported_start_then_complete_is_one_run_with_its_edges(engineer, sessions):
    run_id = uuid.uuid4()
    data = [{"namespace": "s3://bucket", "name": "tokens"}]
    engineer.ok(post(engineer, run_event("START", run_id, eventTime="2026-12-01T09:00:00+01:00", inputs=data)), 201)
    engineer.ok(post(engineer, run_event("COMPLETE", run_id, inputs=data)), 201)
    with sessions() as session:
        run = session.get(LineageRunRow, run_id)
        assert (run.state, run.started_at.hour, run.ended_at.hour) == ("COMPLETE", 8, 10)
        assert session.scalar(select(func.count()).select_from(LineageIoRow)) == 1
        assert session.scalar(select(LineageDatasetRow.name)) == "tokens"


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"eventTime": "2026-12-01T10:00:00"}, "eventTime: a timestamp must carry its timezone"),
        ({"run": {"runId": "not-a-uuid"}}, "run.runId"),
        ({"job": {"namespace": "training"}}, "job.name: Field required"),
        ({"run": {"runId": str(uuid.uuid4()), "facets": {"nominalTime": {"nominalStartTime": "2026-12-01T10:00:00Z"}}}},
         "every facet must carry '_producer' and '_schemaURL'"),
        ({"eventType": "FINISHED"}, "eventType"),
        ({"producer": None}, "producer"),
    ],
    ids=["no-timezone", "run-id", "job-name", "facet-schema-url", "event-type", "producer"],
)
def test_an_event_that_breaks_the_spec_is_400_naming_the_rule(engineer, sessions, change, rule):
    response = post(engineer, run_event(**change))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_EVENT" and rule in response.json()["error"]["message"]
    assert count(sessions, LineageEventRow) == 0


def test_a_batch_is_stored_whole_or_refused_whole(engineer, sessions):
    good, bad = run_event(), run_event(eventTime="yesterday")
    refused = engineer.post("/api/v1/lineage/batch", [good, bad])
    assert refused.status_code == 400 and refused.json()["error"]["message"].startswith("event 1: ")
    assert count(sessions, LineageEventRow) == 0
    stored = engineer.ok(engineer.post("/api/v1/lineage/batch", [good, run_event(), good]), 201)
    assert [r["duplicate"] for r in stored] == [False, False, True]
    assert count(sessions, LineageEventRow) == 2


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.DATA_STEWARD, Role.COMPLIANCE_OFFICER])
def test_reporting_lineage_needs_lineage_write(actors, role):
    caller = actors(role, f"no-{role.value}")
    assert post(caller, run_event()).status_code == 403


def test_reporting_lineage_needs_a_key(client):
    assert client.post("/api/v1/lineage", json=run_event()).status_code == 401
