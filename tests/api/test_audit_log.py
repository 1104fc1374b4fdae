"""The audit trail through HTTP: every write, every raw read, every refusal and failure leaves an
entry naming who, with which roles, did what to which resource, how it ended, in which request and
from where; the log is readable (filtered, paged, exported) only by compliance officers and admins,
never writable through the API; and the chain it forms still verifies afterwards, even when
writers append concurrently.
"""

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from catalog.access import service as principals
from catalog.access.schemas import BindingIn, PrincipalCreate
from catalog.audit.verify import AuditIntact, verify_audit
from catalog.core import audit_log, migrate
from catalog.core.config import Settings
from catalog.core.db import make_engine, make_sessionmaker, scratch_postgres, transaction
from catalog.core.models import AnnotationRow, AuditEntryRow, AuditSealRow, DatasetRow, RecordRow
from catalog.core.principal import Role
from tests.conftest import POSTGRES_URL, TEST_SEALER
from tests.support.builders import FULL_SCHEMA, TEXT_SCHEMA, Caller, chat_record, undone

AUDIT = "/api/v1/audit"
CLIENT = "testclient"  # the client address Starlette's TestClient reports


# --- helpers ------------------------------------------------------------------------------


def send(caller: Caller, method: str, path: str, request_id: str, json_body=None, **kwargs):
    """A request as ``caller``, tagged with our own X-Request-ID."""
    headers = {**caller.headers, "X-Request-ID": request_id}
    return caller.client.request(method, path, json=json_body, headers=headers, **kwargs)


def stored(sessions, **where) -> list[dict]:
    """The audit log as stored, oldest first, optionally filtered by column values."""
    with sessions() as session:
        stmt = select(AuditEntryRow).order_by(AuditEntryRow.seq)
        for column, value in where.items():
            stmt = stmt.where(getattr(AuditEntryRow, column) == value)
        return [
            {
                "seq": row.seq, "actor_id": row.actor_id, "actor_name": row.actor_name, "roles": row.roles,
                "action": row.action, "resource": row.resource, "outcome": row.outcome,
                "request_id": row.request_id, "client": row.client, "details": row.details,
                "occurred_at": row.occurred_at,
            }
            for row in session.scalars(stmt)
        ]


def head_seq(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.coalesce(func.max(AuditEntryRow.seq), 0)))


def assert_chain_intact(sessions, entries: int | None = None) -> AuditIntact:
    with sessions() as session:
        outcome = verify_audit(session, TEST_SEALER)
    assert isinstance(outcome, AuditIntact), str(outcome)
    assert outcome.seals_authenticated
    if entries is not None:
        assert outcome.entries == entries
    return outcome


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def walk(caller: Caller, limit: int, **params) -> list[list[dict]]:
    """Every page of GET /audit, following next_cursor."""
    pages, cursor = [], None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = caller.ok(caller.get(AUDIT, params=query))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


# --- fixtures -----------------------------------------------------------------------------


@dataclass
class Audited:
    """Who acts on the audited dataset: built once per module and backend, each test's writes undone."""

    steward: Caller
    dataset: dict
    annotator: Caller
    reviewer: Caller
    auditor: Caller


@pytest.fixture(scope="module")
def audited(module_actors) -> Audited:
    steward = module_actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("audited", TEXT_SCHEMA)
    annotator = module_actors(Role.ANNOTATOR, "ann")  # assigned on the dataset, the only one yet
    reviewer = module_actors(Role.REVIEWER, "rev")
    return Audited(steward, dataset, annotator, reviewer, module_actors(Role.COMPLIANCE_OFFICER, "auditor"))


@pytest.fixture
def sessions(module_sessions, audited):
    """The module's sessions, in a savepoint rolled back after the test. The fixtures below take it
    too: a test that only asks for the callers still has its writes undone."""
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def steward(audited, sessions) -> Caller:
    return audited.steward


@pytest.fixture
def dataset(audited, sessions) -> dict:
    return audited.dataset


@pytest.fixture
def annotator(audited, sessions) -> Caller:
    return audited.annotator


@pytest.fixture
def reviewer(audited, sessions) -> Caller:
    return audited.reviewer


@pytest.fixture
def auditor(audited, sessions) -> Caller:
    return audited.auditor


@pytest.fixture
def busy(steward, dataset, annotator, reviewer, auditor) -> dict:
    """A dozen-odd entries of several kinds, by several actors, on two resources."""
    ids = steward.records(dataset["id"], chat_record("one"), chat_record("two"), chat_record("three"))
    made = [annotator.annotate(record_id, "response", f"answer {n}") for n, record_id in enumerate(ids)]
    review = {"base_revision": 1, "decision": "accept"}
    reviewer.ok(reviewer.post(f"/api/v1/annotations/{made[0]['id']}/reviews", review), 201)
    steward.ok(steward.get(f"/api/v1/records/{ids[0]}"))
    other = steward.dataset("other", TEXT_SCHEMA)
    steward.ok(steward.post(f"/api/v1/datasets/{other['id']}/guidelines", {"text": "Be kind."}), 201)
    assert annotator.post("/api/v1/datasets", {"name": "nope", "label_schema": TEXT_SCHEMA}).status_code == 403
    return {"records": ids, "annotations": [m["id"] for m in made], "other": other}


# --- every write, every raw read ------------------------------------------------------------


def test_every_write_leaves_one_ok_entry_naming_actor_roles_action_resource_request_and_client(
    sessions, actors, steward
):
    def expect(request_id: str, caller: Caller, roles: str, *entries: tuple[str, str, dict]) -> None:
        found = stored(sessions, request_id=request_id)
        assert [(e["action"], e["resource"]) for e in found] == [(a, r) for a, r, _ in entries], found
        for entry, (_action, _resource, details) in zip(found, entries, strict=True):
            assert (entry["actor_id"], entry["actor_name"]) == (caller.principal.id, caller.principal.name)
            assert entry["roles"] == roles
            assert entry["outcome"] == "ok"
            assert entry["client"] == CLIENT
            assert details.items() <= entry["details"].items(), (details, entry["details"])

    response = send(steward, "POST", "/api/v1/datasets", "w-dataset", {"name": "writes", "label_schema": TEXT_SCHEMA})
    created = steward.ok(response, 201)
    assert response.headers["x-request-id"] == "w-dataset"
    dataset_id = created["id"]
    on_dataset = f"dataset:{dataset_id}"
    expect("w-dataset", steward, "data_steward", ("dataset:create", on_dataset, {"name": "writes"}))

    body = {"records": [chat_record("a"), chat_record("b")]}
    ids = steward.ok(send(steward, "POST", f"/api/v1/datasets/{dataset_id}/records", "w-records", body), 201)["ids"]
    expect("w-records", steward, "data_steward", ("record:create", on_dataset, {"records": 2}))
    steward.mask()  # the PII gate releases the records to the annotator

    guideline = steward.ok(
        send(steward, "POST", f"/api/v1/datasets/{dataset_id}/guidelines", "w-guideline", {"text": "Be brief."}), 201
    )
    expect("w-guideline", steward, "data_steward",
           ("guideline:create", on_dataset, {"version": 1, "sha256": guideline["sha256"]}))

    # Assigned on "writes" (and on "audited", which exists too); named apart from the module's "ann" and "rev".
    annotator, reviewer = actors(Role.ANNOTATOR, "writes-ann"), actors(Role.REVIEWER, "writes-rev")
    body = {"question": "response", "value": "one"}
    made = annotator.ok(send(annotator, "POST", f"/api/v1/records/{ids[0]}/annotations", "w-annotate", body), 201)
    path = f"/api/v1/annotations/{made['id']}"
    annotator.ok(send(annotator, "PATCH", path, "w-edit", {"base_revision": 1, "value": "two", "reason": "typo"}))
    reviewer.ok(send(reviewer, "POST", f"{path}/reviews", "w-review", {"base_revision": 2, "decision": "accept"}), 201)
    revisions = steward.ok(steward.get(f"{path}/history"))["revisions"]
    on_annotation = f"annotation:{made['id']}"
    sha256 = [revision["sha256"] for revision in revisions]
    expect("w-annotate", annotator, "annotator",
           ("annotation:create", on_annotation, {"revision": 1, "status": "submitted", "sha256": sha256[0]}))
    expect("w-edit", annotator, "annotator",
           ("annotation:edit", on_annotation, {"revision": 2, "sha256": sha256[1]}))
    expect("w-review", reviewer, "reviewer",
           ("annotation:review", on_annotation, {"revision": 3, "status": "accepted", "sha256": sha256[2]}))

    steward.ok(send(steward, "POST", f"/api/v1/records/{ids[1]}/retire", "w-retire", {"reason": "duplicate"}))
    expect(
        "w-retire", steward, "data_steward",
        ("record:retire", on_dataset, {"records": 1, "reason": "duplicate"}),
        ("text:read_raw", on_dataset, {"records": [ids[1]]}),  # the retired record is served back raw
    )
    assert_chain_intact(sessions, head_seq(sessions))


@pytest.mark.parametrize(
    "offered", [None, "has spaces", "x" * 65, "semi;colon"], ids=["none", "spaces", "too-long", "punctuation"]
)
def test_a_missing_or_unusable_request_id_is_replaced_by_a_fresh_one_and_that_one_is_stored(sessions, steward, offered):
    headers = {**steward.headers, **({"X-Request-ID": offered} if offered else {})}
    before = head_seq(sessions)
    response = steward.client.post("/api/v1/datasets", json={"name": "d", "label_schema": TEXT_SCHEMA}, headers=headers)
    assert response.status_code == 201, response.text
    issued = response.headers["x-request-id"]
    assert issued != offered and uuid.UUID(issued)
    [entry] = [entry for entry in stored(sessions, action="dataset:create") if entry["seq"] > before]
    assert entry["request_id"] == issued


def test_a_raw_read_is_audited_and_a_masked_read_is_not(sessions, steward, dataset, annotator):
    secret = "Call Jane Roe on 212-555-0100"
    first, second = steward.records(dataset["id"], chat_record(secret), chat_record("Hello"))
    on_dataset = f"dataset:{dataset['id']}"
    before = head_seq(sessions)

    raw = steward.ok(send(steward, "GET", f"/api/v1/records/{first}", "r-raw"))
    assert raw["text"] == "raw" and raw["messages"][0]["content"] == secret
    [entry] = stored(sessions, request_id="r-raw")
    assert (entry["seq"], entry["action"], entry["resource"], entry["outcome"]) == (
        before + 1, "text:read_raw", on_dataset, "ok",
    )
    assert (entry["actor_name"], entry["roles"], entry["client"]) == ("stew", "data_steward", CLIENT)
    assert entry["details"] == {"records": [first]}

    response = send(annotator, "GET", f"/api/v1/records/{first}", "r-masked")
    masked = annotator.ok(response)
    assert (masked["text"], masked["messages"][0]["content"]) == ("masked", "Call Jane Roe on <PHONE_NUMBER>")
    assert "555-0100" not in response.text
    assert stored(sessions, request_id="r-masked") == []

    listed = steward.ok(send(steward, "GET", f"/api/v1/datasets/{dataset['id']}/records", "r-list"))["items"]
    [entry] = stored(sessions, request_id="r-list")  # one entry for the page, naming every record served raw
    assert entry["action"] == "text:read_raw" and sorted(entry["details"]["records"]) == sorted([first, second])
    assert sorted(item["id"] for item in listed) == sorted([first, second])
    annotator.ok(send(annotator, "GET", f"/api/v1/datasets/{dataset['id']}/records", "r-list-masked"))
    assert stored(sessions, request_id="r-list-masked") == []
    assert head_seq(sessions) == before + 2
    assert_chain_intact(sessions, before + 2)


# --- refusals and failures ------------------------------------------------------------------


def test_a_refusal_leaves_a_denied_entry_that_survives_the_rollback(sessions, annotator):
    before = head_seq(sessions)
    response = send(annotator, "POST", "/api/v1/datasets", "d-403", {"name": "mine", "label_schema": TEXT_SCHEMA})
    assert response.status_code == 403, response.text
    [entry] = stored(sessions, request_id="d-403")
    assert entry["seq"] == before + 1
    assert (entry["actor_id"], entry["actor_name"]) == (annotator.principal.id, "ann")
    assert (entry["action"], entry["resource"], entry["outcome"], entry["client"]) == (
        "dataset:create", "/api/v1/datasets", "denied", CLIENT,
    )
    assert {k: entry["details"][k] for k in ("method", "status", "code")} == {
        "method": "POST", "status": 403, "code": "FORBIDDEN",
    }
    assert "dataset:create" in entry["details"]["message"]
    assert count(sessions, DatasetRow, DatasetRow.name == "mine") == 0
    assert_chain_intact(sessions, before + 1)


def test_reviewing_ones_own_annotation_is_refused_and_audited_as_a_review(sessions, steward, dataset):
    [record_id] = steward.records(dataset["id"], chat_record())
    made = steward.annotate(record_id, "response", "mine")
    body = {"base_revision": 1, "decision": "accept"}
    response = send(steward, "POST", f"/api/v1/annotations/{made['id']}/reviews", "d-own", body)
    assert response.status_code == 403, response.text
    [entry] = stored(sessions, request_id="d-own")
    assert (entry["actor_name"], entry["roles"], entry["action"], entry["outcome"]) == (
        "stew", "data_steward", "annotation:review", "denied",
    )
    assert len(steward.ok(steward.get(f"/api/v1/annotations/{made['id']}/history"))["revisions"]) == 1


@pytest.mark.parametrize(
    "authorization",
    ["Bearer lt_nosuchkey_nosecret", "Bearer not-an-api-key", "wrong-secret", "Basic dXNlcjpwYXNz", None],
    ids=["unknown-key", "malformed", "wrong-secret", "basic-scheme", "missing"],
)
def test_failed_authentication_leaves_an_unauthenticated_entry_without_an_actor(
    sessions, client, steward, authorization
):
    if authorization == "wrong-secret":  # a real key id: the entry must still not name its owner
        authorization = f"Bearer {steward.key[:-4]}{'AAAA' if not steward.key.endswith('AAAA') else 'BBBB'}"
    headers = {"X-Request-ID": "u-401", **({"Authorization": authorization} if authorization else {})}
    before = head_seq(sessions)
    response = client.get("/api/v1/datasets", headers=headers)
    assert response.status_code == 401, response.text
    [entry] = stored(sessions, request_id="u-401")
    assert entry["seq"] == before + 1
    assert (entry["actor_id"], entry["actor_name"], entry["roles"]) == (None, None, "")
    assert (entry["action"], entry["resource"], entry["outcome"], entry["client"]) == (
        "auth:authenticate", "/api/v1/datasets", "unauthenticated", CLIENT,
    )
    assert {k: entry["details"][k] for k in ("method", "status", "code")} == {
        "method": "GET", "status": 401, "code": "UNAUTHENTICATED",
    }
    assert_chain_intact(sessions, before + 1)


@dataclass
class Attempt:
    """A write that must fail; ``route`` is its route template, ``absent`` checks it changed nothing."""

    caller: Caller
    method: str
    path: str
    route: str
    body: Any
    status: int
    absent: Callable[[], bool]


def _name_taken(steward, annotator, dataset, sessions) -> Attempt:
    body = {"name": "audited", "label_schema": TEXT_SCHEMA}
    return Attempt(steward, "POST", "/api/v1/datasets", "/datasets", body, 409,
                   lambda: count(sessions, DatasetRow, DatasetRow.name == "audited") == 1)


def _external_id_taken(steward, annotator, dataset, sessions) -> Attempt:
    steward.records(dataset["id"], chat_record("first", external_id="x"))
    body = {"records": [chat_record("fresh", external_id="y"), chat_record("again", external_id="x")]}
    return Attempt(steward, "POST", f"/api/v1/datasets/{dataset['id']}/records", "/datasets/{dataset_id}/records",
                   body, 409, lambda: count(sessions, RecordRow, RecordRow.external_id == "y") == 0)


def _invalid_value(steward, annotator, dataset, sessions) -> Attempt:
    [record_id] = steward.records(dataset["id"], chat_record())
    body = {"question": "response", "value": "   "}
    return Attempt(annotator, "POST", f"/api/v1/records/{record_id}/annotations", "/records/{record_id}/annotations",
                   body, 422, lambda: count(sessions, AnnotationRow) == 0)


def _invalid_body(steward, annotator, dataset, sessions) -> Attempt:
    return Attempt(steward, "POST", f"/api/v1/datasets/{dataset['id']}/records", "/datasets/{dataset_id}/records",
                   {"records": []}, 422, lambda: count(sessions, RecordRow) == 0)


def _stale_edit(steward, annotator, dataset, sessions) -> Attempt:
    [record_id] = steward.records(dataset["id"], chat_record())
    made = annotator.annotate(record_id, "response", "one")
    path = f"/api/v1/annotations/{made['id']}"
    annotator.ok(annotator.patch(path, {"base_revision": 1, "value": "two", "reason": "better"}))

    def values() -> list:
        return [revision["value"] for revision in annotator.ok(annotator.get(f"{path}/history"))["revisions"]]

    body = {"base_revision": 1, "value": "three", "reason": "lost update"}
    return Attempt(annotator, "PATCH", path, "/annotations/{annotation_id}", body, 409,
                   lambda: values() == ["one", "two"])


def _retired_twice(steward, annotator, dataset, sessions) -> Attempt:
    [record_id] = steward.records(dataset["id"], chat_record())
    steward.ok(steward.post(f"/api/v1/records/{record_id}/retire", {"reason": "first"}))
    return Attempt(steward, "POST", f"/api/v1/records/{record_id}/retire", "/records/{record_id}/retire",
                   {"reason": "second"}, 409,
                   lambda: count(sessions, RecordRow, RecordRow.retire_reason == "second") == 0)


@pytest.mark.parametrize(
    "prepare",
    [_name_taken, _external_id_taken, _invalid_value, _invalid_body, _stale_edit, _retired_twice],
    ids=["dataset-name-taken", "external-id-taken", "invalid-value", "invalid-body", "stale-edit", "retired-twice"],
)
def test_a_failed_write_leaves_a_failed_entry_and_none_of_the_change(sessions, steward, annotator, dataset, prepare):
    attempt: Attempt = prepare(steward, annotator, dataset, sessions)
    caller, method = attempt.caller, attempt.method
    before = head_seq(sessions)
    response = send(caller, method, attempt.path, "f-write", attempt.body)
    assert response.status_code == attempt.status, response.text
    after = [entry for entry in stored(sessions) if entry["seq"] > before]
    assert [entry["request_id"] for entry in after] == ["f-write"], after  # the one entry, nothing the write logged
    [entry] = after
    assert (entry["actor_id"], entry["actor_name"], entry["outcome"], entry["client"]) == (
        caller.principal.id, caller.principal.name, "failed", CLIENT,
    )
    assert entry["resource"] == attempt.path
    # The route template, not the path (that is the resource). Whether it carries the router's
    # /api/v1 prefix depends on how the FastAPI version exposes included routes.
    assert entry["action"] in (f"{method} {attempt.route}", f"{method} /api/v1{attempt.route}"), entry["action"]
    assert {k: entry["details"][k] for k in ("method", "status", "code")} == {
        "method": method, "status": attempt.status, "code": response.json()["error"]["code"],
    }
    assert attempt.absent()
    assert_chain_intact(sessions, before + 1)


def test_a_write_that_fails_after_logging_part_of_itself_leaves_only_the_failed_entry(
    sessions, client, steward, dataset, monkeypatch
):
    """An import commits nothing unless it all succeeds: the first batch's import:run entry goes with
    the rollback, and the failed entry takes its place in the chain without a gap."""
    monkeypatch.setattr(client.app.state.settings, "import_batch_size", 1)
    steward.records(dataset["id"], chat_record("taken", external_id="x"))
    before = head_seq(sessions)
    upload = b'{"instruction": "new", "output": "o", "id": "y"}\n{"instruction": "dup", "output": "o", "id": "x"}\n'
    response = client.post(
        f"/api/v1/datasets/{dataset['id']}/imports", params={"format": "alpaca"}, content=upload,
        headers={**steward.headers, "X-Request-ID": "f-import"},
    )
    assert response.status_code == 409, response.text
    after = [entry for entry in stored(sessions) if entry["seq"] > before]
    assert [(e["seq"], e["outcome"], e["request_id"]) for e in after] == [(before + 1, "failed", "f-import")]
    assert count(sessions, RecordRow, RecordRow.external_id == "y") == 0
    assert_chain_intact(sessions, before + 1)


# --- reading the log --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [AUDIT, f"{AUDIT}/export", f"{AUDIT}/seals"], ids=["list", "export", "seals"])
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ANNOTATOR, False), (Role.REVIEWER, False), (Role.ML_ENGINEER, False), (Role.DATA_STEWARD, False),
        (Role.COMPLIANCE_OFFICER, True), (Role.ADMIN, True),
    ],
)
def test_only_compliance_officers_and_admins_read_the_log(sessions, actors, dataset, path, role, allowed):
    caller = actors(role)  # annotators and reviewers hold their role on the dataset
    response = send(caller, "GET", path, "a-read")
    if allowed:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 403, response.text
    assert list(response.json()) == ["error"] and response.json()["error"]["code"] == "FORBIDDEN"
    [entry] = stored(sessions, request_id="a-read")
    assert (entry["actor_name"], entry["action"], entry["outcome"]) == (caller.principal.name, "audit:read", "denied")


def test_filters_select_by_actor_action_resource_and_time(auditor, busy, dataset):
    everything = [entry for page in walk(auditor, 500) for entry in page]
    assert len(everything) >= 12

    def get(**params) -> list[dict]:
        return [entry for page in walk(auditor, 500, **params) for entry in page]

    def where(test) -> list[dict]:
        chosen = [entry for entry in everything if test(entry)]
        assert 0 < len(chosen) < len(everything)  # a filter that keeps all or nothing proves nothing
        return chosen

    on_dataset = f"dataset:{dataset['id']}"
    assert get(actor="stew") == where(lambda e: e["actor_name"] == "stew")
    assert get(actor="ann") == where(lambda e: e["actor_name"] == "ann")
    assert get(action="annotation:create") == where(lambda e: e["action"] == "annotation:create")
    assert len(get(action="annotation:create")) == 3
    assert get(resource=on_dataset) == where(lambda e: e["resource"] == on_dataset)
    assert get(actor="stew", resource=on_dataset, action="text:read_raw") == where(
        lambda e: (e["actor_name"], e["resource"], e["action"]) == ("stew", on_dataset, "text:read_raw")
    )
    assert get(actor="nobody") == []

    at = datetime.fromisoformat
    middle = everything[len(everything) // 2]["occurred_at"]
    since, until = get(since=middle), get(until=middle)
    assert since == where(lambda e: at(e["occurred_at"]) >= at(middle))
    assert until == where(lambda e: at(e["occurred_at"]) < at(middle))
    assert until + since == everything
    same_instant_elsewhere = at(middle).astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert get(since=same_instant_elsewhere) == since and get(until=same_instant_elsewhere) == until
    start, end = everything[4]["occurred_at"], everything[9]["occurred_at"]
    assert get(since=start, until=end) == where(lambda e: at(start) <= at(e["occurred_at"]) < at(end))
    assert get(since=start, until=end, actor="ann") == where(
        lambda e: at(start) <= at(e["occurred_at"]) < at(end) and e["actor_name"] == "ann"
    )


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize("path", [AUDIT, f"{AUDIT}/export"], ids=["list", "export"])
def test_a_naive_time_filter_is_refused_with_422(sessions, auditor, param, path):
    before = head_seq(sessions)
    response = auditor.get(path, params={param: "2026-01-01T00:00:00"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_INPUT"
    assert "timezone" in response.json()["error"]["message"].lower()
    assert head_seq(sessions) == before  # no export was recorded for an export that never ran
    assert auditor.get(path, params={param: "2026-01-01T00:00:00Z"}).status_code == 200


def test_cursor_pagination_walks_every_entry_once_in_order(sessions, auditor, busy):
    expected = [entry["seq"] for entry in stored(sessions)]
    assert expected == list(range(1, len(expected) + 1)) and len(expected) >= 12
    for limit in (1, 4, 5, len(expected) - 1, len(expected), len(expected) + 1):
        pages = walk(auditor, limit)
        assert [entry["seq"] for page in pages for entry in page] == expected, limit
        assert all(len(page) == limit for page in pages[:-1]) and 1 <= len(pages[-1]) <= limit
    by_steward = [entry["seq"] for entry in stored(sessions, actor_name="stew")]
    assert [entry["seq"] for page in walk(auditor, 2, actor="stew") for entry in page] == by_steward
    assert auditor.get(AUDIT, params={"cursor": "not-a-seq"}).status_code == 422
    assert auditor.get(AUDIT, params={"cursor": str(expected[-1])}).json() == {"items": [], "next_cursor": None}


def test_export_returns_jsonl_of_the_same_entries_and_records_itself(sessions, auditor, busy):
    listed = [entry for page in walk(auditor, 500) for entry in page]
    response = send(auditor, "GET", f"{AUDIT}/export", "e-all")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.text.endswith("\n")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[:-1] == listed
    export = lines[-1]  # recorded before the export began, so it is in the export itself
    assert export["seq"] == listed[-1]["seq"] + 1
    assert (export["actor_name"], export["roles"], export["action"], export["resource"], export["outcome"]) == (
        "auditor", ["compliance_officer"], "audit:export", "audit", "ok",
    )
    assert (export["request_id"], export["client"], export["details"]) == ("e-all", CLIENT, {})
    assert [entry["action"] for entry in stored(sessions, request_id="e-all")] == ["audit:export"]

    response = send(auditor, "GET", f"{AUDIT}/export", "e-some", params={"action": "annotation:create"})
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == [entry for entry in listed if entry["action"] == "annotation:create"] and len(lines) == 3
    [recorded] = stored(sessions, request_id="e-some")
    assert (recorded["action"], recorded["details"]) == ("audit:export", {"action": "annotation:create"})
    assert_chain_intact(sessions, head_seq(sessions))


def test_seals_are_listed_and_each_authenticates_the_entry_it_names(sessions, auditor, busy):
    seals = auditor.ok(auditor.get(f"{AUDIT}/seals"))
    by_seq = {entry["seq"]: entry for entry in stored_with_hashes(sessions)}
    assert [seal["seq"] for seal in seals] == list(range(TEST_SEALER.every, max(by_seq) + 1, TEST_SEALER.every))
    assert len(seals) >= 2
    for seal in seals:
        assert seal["entry_sha256"] == by_seq[seal["seq"]]["sha256"]
        assert seal["key_id"] == TEST_SEALER.key_id
        assert TEST_SEALER.holds(seal["seq"], seal["entry_sha256"], seal["hmac_sha256"])


def stored_with_hashes(sessions) -> list[dict]:
    with sessions() as session:
        return [{"seq": row.seq, "sha256": row.sha256} for row in session.scalars(select(AuditEntryRow))]


# --- nothing writes to the log through the API -----------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", [AUDIT, f"{AUDIT}/1", f"{AUDIT}/export", f"{AUDIT}/seals", f"{AUDIT}/seals/5"])
def test_no_route_under_the_audit_api_changes_anything(sessions, actors, busy, method, path):
    admin = actors(Role.ADMIN)
    entries, seals = stored(sessions), count(sessions, AuditSealRow)
    response = admin.client.request(method, path, headers=admin.headers, json={"action": "forged", "outcome": "ok"})
    assert response.status_code in (404, 405), response.text
    assert stored(sessions) == entries and count(sessions, AuditSealRow) == seals


def test_the_app_serves_only_reads_under_the_audit_api(client):
    paths = client.app.openapi()["paths"]
    served = {path: set(operations) for path, operations in paths.items() if path.startswith(AUDIT)}
    assert served == {AUDIT: {"get"}, f"{AUDIT}/export": {"get"}, f"{AUDIT}/seals": {"get"}}


def test_after_all_that_the_chain_verifies(sessions, client, steward, auditor, busy):
    """Writes, raw reads, a refusal, a failed write, a failed authentication and an export: one chain
    holding every outcome, which verifies under the seal key."""
    send(steward, "POST", "/api/v1/datasets", "x-409", {"name": "audited", "label_schema": TEXT_SCHEMA})
    client.get("/api/v1/me", headers={"Authorization": "Bearer lt_bad_key"})
    assert auditor.get(f"{AUDIT}/export").status_code == 200
    outcomes = {entry["outcome"] for entry in stored(sessions)}
    assert outcomes == {"ok", "denied", "failed", "unauthenticated"}
    intact = assert_chain_intact(sessions, head_seq(sessions))
    assert intact.seals == head_seq(sessions) // TEST_SEALER.every


# --- attempts whose echoed values no column or canonical JSON would take as they are -----------


def test_a_failed_write_on_a_long_path_is_still_audited(sessions, steward):
    response = send(steward, "POST", f"/api/v1/datasets/{'x' * 250}/records", "b-long", {"records": [chat_record()]})
    assert response.status_code == 422
    [entry] = stored(sessions, request_id="b-long")
    assert (entry["actor_name"], entry["outcome"]) == ("stew", "failed")
    assert entry["action"] == "POST /api/v1/datasets/{dataset_id}/records"
    assert entry["resource"] == f"/api/v1/datasets/{'x' * 250}/records"[:200]


def test_an_unauthenticated_attempt_on_a_long_path_is_still_audited(sessions, client, steward):
    path = f"/api/v1/principals/{steward.principal.id}/keys/{'k' * 250}/revoke"
    response = client.post(path, headers={"Authorization": "Bearer lt_guess_guess", "X-Request-ID": "b-long-401"})
    assert response.status_code == 401
    [entry] = stored(sessions, request_id="b-long-401")
    assert (entry["actor_name"], entry["outcome"]) == (None, "unauthenticated")


def test_a_failed_write_whose_message_echoes_a_nul_character_is_still_audited(sessions, steward):
    dataset = steward.dataset("labels", FULL_SCHEMA)
    [record_id] = steward.records(dataset["id"], chat_record())
    body = {"question": "safety", "value": "\u0000"}
    response = send(steward, "POST", f"/api/v1/records/{record_id}/annotations", "b-nul", body)
    assert response.status_code == 422
    [entry] = stored(sessions, request_id="b-nul")
    assert entry["outcome"] == "failed"


def test_a_failed_write_whose_message_echoes_a_lone_surrogate_is_still_audited(sessions, steward):
    dataset = steward.dataset("labels", FULL_SCHEMA)
    [record_id] = steward.records(dataset["id"], chat_record())
    body = '{"question": "safety", "value": "\\ud800"}'  # JSON text: a lone surrogate, escaped
    response = steward.client.post(
        f"/api/v1/records/{record_id}/annotations", content=body,
        headers={**steward.headers, "Content-Type": "application/json", "X-Request-ID": "b-surrogate"},
    )
    assert response.status_code == 422
    [entry] = stored(sessions, request_id="b-surrogate")
    assert entry["outcome"] == "failed"


# --- concurrency (PostgreSQL) -------------------------------------------------------------------

THREADS = 8
ROUNDS = 12


@pytest.fixture
def committed_engine(engine):
    """An engine on a database of its own, where transactions really commit and really race.

    The shared test database cannot serve: every test there runs inside one connection's
    transaction that is rolled back, so nothing is ever committed and nothing runs concurrently,
    and committing to it would leave entries in the chain every later test starts from.
    """
    if engine.dialect.name != "postgresql":
        pytest.skip(
            "concurrent appends race on audit_head's row lock, which only PostgreSQL has; "
            "SQLite lets one writer at a time hold the whole database"
        )
    with scratch_postgres(POSTGRES_URL, "labeltrail_audit_race") as url:
        migrate.upgrade(url)
        own = make_engine(url, pool_size=2 * THREADS + 2, max_overflow=0)
        try:
            yield own
        finally:
            own.dispose()


def _run_together(work, count: int) -> list[BaseException]:
    start, errors = threading.Barrier(count), []

    def run(n: int) -> None:
        try:
            start.wait(timeout=30)
            work(n)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "appenders deadlocked or hung"
    return errors


def test_concurrent_appends_queue_on_the_head_and_never_fork_the_chain(committed_engine):
    committed: dict[int, list[int]] = {}
    failures_recorded: dict[int, int] = {}

    def work(n: int) -> None:
        context = audit_log.AuditContext(request_id=f"thread-{n}", client="race")
        sessions = make_sessionmaker(committed_engine, info=audit_log.session_info(context, TEST_SEALER))
        mine, failures = [], 0

        def append(session, action: str = "test:race") -> int:
            return audit_log.append(session, actor=None, action=action, resource=f"thread:{n}", details=details)

        for round_ in range(ROUNDS):
            details = {"thread": n, "round": round_}
            if round_ % 4 == 3:  # appended, then rolled back: the next writer must take its seq
                with sessions() as session:
                    append(session, "test:rolled-back")
                    session.rollback()
            elif round_ % 4 == 2:  # a failure's entry, in a transaction of its own
                audit_log.record_failure(
                    sessions, context=context, sealer=TEST_SEALER, actor=None, action="test:failure",
                    resource=f"thread:{n}", outcome=audit_log.Outcome.DENIED, details=details,
                )
                failures += 1
            else:
                with transaction(sessions) as session:
                    mine.append(append(session))
                    if round_ % 4 == 0:  # two entries in one transaction stay adjacent
                        mine.append(append(session))
                        assert mine[-1] == mine[-2] + 1
        committed[n], failures_recorded[n] = mine, failures

    errors = _run_together(work, THREADS)
    assert not errors, errors

    with transaction(make_sessionmaker(committed_engine)) as session:
        outcome = verify_audit(session, TEST_SEALER)
        rows = session.execute(
            select(AuditEntryRow.seq, AuditEntryRow.resource, AuditEntryRow.action).order_by(AuditEntryRow.seq)
        ).all()
        seals = list(session.scalars(select(AuditSealRow.seq).order_by(AuditSealRow.seq)))
    total = sum(len(mine) for mine in committed.values()) + sum(failures_recorded.values())
    assert [row.seq for row in rows] == list(range(1, total + 1))  # unique and continuous: no fork, no gap
    assert isinstance(outcome, AuditIntact), str(outcome)
    assert (outcome.entries, outcome.seals, outcome.seals_authenticated) == (total, total // TEST_SEALER.every, True)
    assert seals == list(range(TEST_SEALER.every, total + 1, TEST_SEALER.every))
    assert not any(row.action == "test:rolled-back" for row in rows)
    for n, mine in committed.items():
        assert mine == sorted(mine)
        assert [row.seq for row in rows if row.resource == f"thread:{n}" and row.action == "test:race"] == mine
    switches = sum(1 for a, b in zip(rows, rows[1:]) if a.resource != b.resource)
    assert switches > THREADS, "the threads never interleaved: this test raced nothing"


def test_concurrent_requests_and_their_refusals_keep_one_chain(committed_engine):
    url = committed_engine.url.render_as_string(hide_password=False)
    settings = Settings(
        database_url=url, log_json=True, log_level="WARNING",
        audit_seal_key=TEST_SEALER.key.decode(), audit_seal_every=TEST_SEALER.every,
    )
    app = create_app(settings, sessions=make_sessionmaker(committed_engine))
    setup = make_sessionmaker(
        committed_engine, info=audit_log.session_info(audit_log.AuditContext(client="setup"), TEST_SEALER)
    )
    with transaction(setup) as session:
        system = principals.system_principal(session)
        steward_key = principals.create_principal(
            session, principal=system, data=PrincipalCreate(name="stew", roles=[BindingIn(role=Role.DATA_STEWARD)])
        ).api_key
    steward = {"Authorization": f"Bearer {steward_key}"}
    dataset = TestClient(app).post(
        "/api/v1/datasets", json={"name": "raced", "label_schema": TEXT_SCHEMA}, headers=steward
    )
    assert dataset.status_code == 201, dataset.text
    with transaction(setup) as session:
        annotator_key = principals.create_principal(
            session, principal=principals.system_principal(session),
            data=PrincipalCreate(
                name="ann", roles=[BindingIn(role=Role.ANNOTATOR, dataset_id=uuid.UUID(dataset.json()["id"]))]
            ),
        ).api_key
    annotator = {"Authorization": f"Bearer {annotator_key}"}
    rounds = 4

    def work(n: int) -> None:
        client = TestClient(app)
        for round_ in range(rounds):
            added = client.post(
                f"/api/v1/datasets/{dataset.json()['id']}/records",
                json={"records": [chat_record(f"thread {n} round {round_}")]}, headers=steward,
            )
            assert added.status_code == 201, added.text
            body = {"name": f"t{n}r{round_}", "label_schema": TEXT_SCHEMA}
            denied = client.post("/api/v1/datasets", json=body, headers=annotator)
            assert denied.status_code == 403, denied.text
            refused = client.get("/api/v1/datasets", headers={"Authorization": "Bearer lt_bad_key"})
            assert refused.status_code == 401, refused.text

    errors = _run_together(work, THREADS)
    assert not errors, errors

    with transaction(make_sessionmaker(committed_engine)) as session:
        outcome = verify_audit(session, TEST_SEALER)
        outcomes = session.execute(
            select(AuditEntryRow.outcome, func.count()).group_by(AuditEntryRow.outcome)
        ).all()
        records = session.scalar(select(func.count()).select_from(RecordRow))
    requests = THREADS * rounds
    assert dict(outcomes) == {"ok": 3 + requests, "denied": requests, "unauthenticated": requests}
    assert records == requests
    assert isinstance(outcome, AuditIntact), str(outcome)
    assert outcome.entries == 3 + 3 * requests


def test_a_failed_write_that_echoes_personal_data_is_audited_with_it_masked(sessions, steward):
    dataset = steward.dataset("labels", FULL_SCHEMA)
    [record_id] = steward.records(dataset["id"], chat_record())
    body = {"question": "safety", "value": "mail jane.roe@example.com"}
    response = send(steward, "POST", f"/api/v1/records/{record_id}/annotations", "b-pii", body)
    assert response.status_code == 422 and "jane.roe@example.com" in response.text  # the caller sees its input
    [entry] = stored(sessions, request_id="b-pii")
    assert "jane.roe@example.com" not in entry["details"]["message"]
    assert "<EMAIL_ADDRESS>" in entry["details"]["message"]
