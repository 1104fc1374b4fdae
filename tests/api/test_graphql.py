"""GraphQL at /graphql: authentication, queries, mutations, errors, rollback, audit and limits."""

import dataclasses
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

import catalog.datasets.guidelines
from api.app import create_app
from catalog.core.models import AuditEntryRow, GuidelineRow
from catalog.core.principal import Role
from tests.support.builders import FULL_SCHEMA, chat_record, undone
from tests.support.graphql import data, error_codes, graphql

MISSING = "01a201c3-1130-71c9-83b9-f34b2d41811d"
EMAIL = "jane.gql@example.com"

READ_ALL = """query($id: UUID!) {
  dataset(id: $id) {
    name labelSchema createdBy
    guidelines { version text author }
    records(first: 10) {
      edges { cursor node { id text messages { role content }
        annotations { id question value status revision
          history { revision kind actor value status reason source { kind } } } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


@pytest.fixture(scope="module")
def world(module_actors):
    """A dataset with a guideline and two records; the first has an edited, reviewed annotation.

    Built once per module; each test runs in a savepoint over it that is rolled back (``sessions``)."""
    actors = module_actors
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("gql", FULL_SCHEMA)
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/guidelines", {"text": "Be kind."}), 201)
    first, second = steward.records(dataset["id"], chat_record(f"Mail {EMAIL}"), chat_record("Second?"))
    annotation = steward.annotate(first, "safety", "safe")
    path = f"/api/v1/annotations/{annotation['id']}"
    steward.ok(steward.patch(path, {"base_revision": 1, "value": "unsafe", "reason": "a weapon"}))
    reviewer = actors(Role.REVIEWER, "rev", on=[dataset["id"]])
    reviewer.ok(reviewer.post(f"{path}/reviews", {"base_revision": 2, "decision": "accept"}), 201)
    return {"steward": steward, "reviewer": reviewer, "dataset": dataset, "records": [first, second],
            "annotation": annotation["id"]}


@pytest.fixture(autouse=True)  # every test, even one that asks only for the world: the callers in it write
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


def audit_entries(sessions, after_seq: int = 0) -> list[AuditEntryRow]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntryRow).where(AuditEntryRow.seq > after_seq).order_by(AuditEntryRow.seq)))


def audit_head(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.coalesce(func.max(AuditEntryRow.seq), 0)))


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer lt_0000000000000000_nope"}], ids=["missing", "unknown"])
def test_without_a_valid_key_it_is_a_401_with_the_rest_error_body_and_audited(client, sessions, headers):
    head = audit_head(sessions)
    response = client.post("/graphql", json={"query": "{ me { name } }"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    [entry] = audit_entries(sessions, head)
    assert (entry.outcome, entry.action, entry.resource) == ("unauthenticated", "auth:authenticate", "/graphql")


def test_me_is_the_principal_of_the_key(world):
    me = data(world["reviewer"], "{ me { name roles datasetRoles { datasetId roles } } }")["me"]
    assert me == {"name": "rev", "roles": [], "datasetRoles": [{"datasetId": world["dataset"]["id"], "roles": ["reviewer"]}]}


# --- queries ----------------------------------------------------------------------------------


def test_one_query_reads_a_dataset_its_guidelines_records_annotations_and_histories(world):
    found = data(world["steward"], READ_ALL, {"id": world["dataset"]["id"]})["dataset"]
    assert (found["name"], found["labelSchema"], found["createdBy"]) == ("gql", world["dataset"]["label_schema"], "stew")
    assert found["guidelines"] == [{"version": 1, "text": "Be kind.", "author": "stew"}]
    first, second = (edge["node"] for edge in found["records"]["edges"])
    assert (first["id"], first["text"], first["messages"][0]["content"]) == (world["records"][0], "raw", f"Mail {EMAIL}")
    [annotation] = first["annotations"]
    assert (annotation["value"], annotation["status"], annotation["revision"]) == ("unsafe", "accepted", 3)
    history = [(r["revision"], r["kind"], r["actor"], r["value"], r["status"]) for r in annotation["history"]]
    assert history == [
        (1, "create", "stew", "safe", "submitted"),
        (2, "edit", "stew", "unsafe", "submitted"),
        (3, "review", "rev", "unsafe", "accepted"),
    ]
    assert second["annotations"] == []


def test_roles_without_read_raw_get_masked_text_and_raw_reads_are_audited(world, actors, sessions):
    annotator = actors(Role.ANNOTATOR, "ann", on=[world["dataset"]["id"]])
    query = "query($id: UUID!) { record(id: $id) { text messages { content } } }"
    head = audit_head(sessions)
    masked = data(annotator, query, {"id": world["records"][0]})["record"]
    assert masked == {"text": "masked", "messages": [{"content": "Mail <EMAIL_ADDRESS>"}]}
    assert audit_entries(sessions, head) == []
    raw = data(world["steward"], query, {"id": world["records"][0]})["record"]
    assert raw["messages"][0]["content"] == f"Mail {EMAIL}"
    [entry] = audit_entries(sessions, head)
    assert (entry.action, entry.actor_name, entry.details) == ("text:read_raw", "stew", {"records": [world["records"][0]]})


def test_records_page_as_a_relay_connection_with_the_rest_cursors(world):
    steward, dataset_id = world["steward"], world["dataset"]["id"]
    query = """query($id: UUID!, $after: String) { dataset(id: $id) { records(first: 1, after: $after) {
      edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }"""
    first = data(steward, query, {"id": dataset_id})["dataset"]["records"]
    rest = steward.ok(steward.get(f"/api/v1/datasets/{dataset_id}/records", params={"limit": 1}))
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": rest["next_cursor"]}
    assert first["edges"][0]["cursor"] == rest["next_cursor"]
    second = data(steward, query, {"id": dataset_id, "after": first["pageInfo"]["endCursor"]})["dataset"]["records"]
    assert [edge["node"]["id"] for edge in first["edges"] + second["edges"]] == world["records"]
    assert second["pageInfo"]["hasNextPage"] is False


def test_a_dataset_the_caller_holds_no_role_on_is_not_found(world, actors):
    stranger = actors(Role.ANNOTATOR, "stranger", on=[])
    body = graphql(stranger, "query($id: UUID!) { dataset(id: $id) { name } }", {"id": world["dataset"]["id"]})
    assert body["data"] == {"dataset": None}
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["errors"][0]["message"] == "dataset not found"


# --- mutations --------------------------------------------------------------------------------


def test_every_write_goes_through_the_services(actors, sessions):
    """By principals of its own, so that their audit entries are this test's alone."""
    steward = actors(Role.DATA_STEWARD, "writing-stew")
    created = data(steward, """mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id name origin { licence } } }""",
                   {"input": {"name": "written", "labelSchema": FULL_SCHEMA, "origin": {"licence": "MIT"}}})["createDataset"]
    dataset_id = created["id"]
    assert (created["name"], created["origin"]["licence"]) == ("written", "MIT")
    guideline = data(steward, """mutation($id: UUID!) { addGuideline(datasetId: $id, input: {text: "Be brief."}) { version } }""",
                     {"id": dataset_id})["addGuideline"]
    assert guideline == {"version": 1}
    added = data(steward, """mutation($id: UUID!, $input: AddRecordsInput!) { addRecords(datasetId: $id, input: $input) { ids } }""",
                 {"id": dataset_id, "input": {"records": [{"messages": [{"role": "user", "content": "Hi?"}], "externalId": "x1"}]}})
    [record_id] = added["addRecords"]["ids"]
    steward.mask()
    annotation = data(steward, """mutation($id: UUID!) { annotate(recordId: $id, input: {question: "safety", value: "safe"}) {
                                    id revision status guidelineVersion } }""", {"id": record_id})["annotate"]
    assert (annotation["revision"], annotation["status"], annotation["guidelineVersion"]) == (1, "submitted", 1)
    edited = data(steward, """mutation($id: UUID!) { editAnnotation(annotationId: $id, input: {baseRevision: 1, status: "draft", reason: "unsure"}) {
                                revision value status } }""", {"id": annotation["id"]})["editAnnotation"]
    assert edited == {"revision": 2, "value": "safe", "status": "draft"}  # an edit without value keeps it
    reviewer = actors(Role.REVIEWER, "writing-rev", on=[dataset_id])
    reviewed = data(reviewer, """mutation($id: UUID!) { review(annotationId: $id, input: {baseRevision: 2, decision: "reject"}) {
                                   revision status } }""", {"id": annotation["id"]})["review"]
    assert reviewed == {"revision": 3, "status": "rejected"}
    retired = data(steward, """mutation($id: UUID!) { retireRecord(recordId: $id, input: {reason: "duplicate"}) { retireReason } }""",
                   {"id": record_id})["retireRecord"]
    assert retired == {"retireReason": "duplicate"}
    actions = [entry.action for entry in audit_entries(sessions) if entry.actor_name in ("writing-stew", "writing-rev")]
    assert actions == ["dataset:create", "guideline:create", "record:create", "annotation:create", "annotation:edit",
                       "annotation:review", "record:retire", "text:read_raw"]


def test_the_history_read_after_a_write_in_the_same_request_includes_it(world):
    """A later mutation in one document sees what an earlier one wrote, not what a loader kept."""
    steward = world["steward"]
    document = """mutation($id: UUID!) {
      first: editAnnotation(annotationId: $id, input: {baseRevision: 3, value: "safe", reason: "checked"}) { history { revision } }
      second: editAnnotation(annotationId: $id, input: {baseRevision: 4, status: "draft", reason: "again"}) { history { revision } }
    }"""
    done = data(steward, document, {"id": world["annotation"]})
    assert [len(done[name]["history"]) for name in ("first", "second")] == [4, 5]


# --- errors, rollback and the audit of failures ------------------------------------------------


def test_a_denied_mutation_is_forbidden_and_audited_as_denied(world, sessions):
    head = audit_head(sessions)
    body = graphql(world["reviewer"], """mutation($id: UUID!) { addGuideline(datasetId: $id, input: {text: "Mine."}) { version } }""",
                   {"id": world["dataset"]["id"]})
    assert body["data"] == {"addGuideline": None}
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["message"] == "roles [reviewer] are not permitted 'guideline:create'"
    [entry] = audit_entries(sessions, head)
    assert (entry.outcome, entry.action, entry.resource, entry.actor_name) == (
        "denied", "guideline:create", f"dataset:{world['dataset']['id']}", "rev")
    assert entry.details["code"] == "FORBIDDEN"


def test_a_failed_mutation_is_rolled_back_and_only_its_failure_is_kept(world, sessions, monkeypatch):
    """The service writes the guideline and its audit entry, then fails: the savepoint takes both back."""
    from catalog.core.errors import Conflict

    def failing(*_args, **_kwargs):
        raise Conflict("refused after the write")

    monkeypatch.setattr(catalog.datasets.guidelines, "_to_dto", failing)
    head = audit_head(sessions)
    body = graphql(world["steward"], """mutation($id: UUID!) { addGuideline(datasetId: $id, input: {text: "Lost."}) { version } }""",
                   {"id": world["dataset"]["id"]})
    assert error_codes(body) == ["CONFLICT"]
    with sessions() as session:
        assert session.scalars(select(GuidelineRow.text)).all() == ["Be kind."]
    [entry] = audit_entries(sessions, head)
    assert (entry.outcome, entry.action, entry.details["code"]) == ("failed", "graphql:addGuideline", "CONFLICT")


def test_a_failing_mutation_does_not_undo_the_ones_before_it(world, sessions):
    document = """mutation($id: UUID!) {
      ok: addGuideline(datasetId: $id, input: {text: "Second version."}) { version }
      refused: addRecords(datasetId: $id, input: {records: [{messages: [{role: "user", content: "a"}], externalId: "dup"},
                                                            {messages: [{role: "user", content: "b"}], externalId: "dup"}]}) { ids }
    }"""
    body = graphql(world["steward"], document, {"id": world["dataset"]["id"]})
    assert body["data"] == {"ok": {"version": 2}, "refused": None}
    assert error_codes(body) == ["CONFLICT"]
    with sessions() as session:
        assert session.scalars(select(GuidelineRow.version).order_by(GuidelineRow.version)).all() == [1, 2]
    records = world["steward"].ok(world["steward"].get(f"/api/v1/datasets/{world['dataset']['id']}/records"))
    assert len(records["items"]) == 2


def test_invalid_input_names_the_field_and_a_failed_write_is_audited(world, sessions):
    head = audit_head(sessions)
    body = graphql(world["steward"], """mutation($id: UUID!) { editAnnotation(annotationId: $id, input: {baseRevision: 0, reason: "x"}) { revision } }""",
                   {"id": world["annotation"]})
    assert error_codes(body) == ["INVALID_INPUT"]
    assert body["errors"][0]["message"] == "input.baseRevision: Input should be greater than or equal to 1"
    [entry] = audit_entries(sessions, head)
    assert (entry.outcome, entry.resource) == ("failed", f"annotation:{world['annotation']}")


def test_a_query_that_finds_nothing_is_not_found_and_not_audited(world, sessions):
    head = audit_head(sessions)
    body = graphql(world["steward"], f'{{ record(id: "{MISSING}") {{ id }} annotation(id: "{MISSING}") {{ id }} }}')
    assert body["data"] == {"record": None, "annotation": None}
    assert sorted(error["message"] for error in body["errors"]) == ["annotation not found", "record not found"]
    assert error_codes(body) == ["NOT_FOUND", "NOT_FOUND"]
    assert audit_entries(sessions, head) == []


def test_a_denied_read_is_audited_as_denied(world, sessions):
    head = audit_head(sessions)
    body = graphql(world["reviewer"], "{ auditSeals { seq } }")
    assert (body["data"], error_codes(body)) == ({"auditSeals": None}, ["FORBIDDEN"])
    [entry] = audit_entries(sessions, head)
    assert (entry.outcome, entry.action, entry.resource) == ("denied", "audit:read", "/graphql")


def test_errors_in_the_document_are_invalid_input_and_audited_for_mutations(world, sessions):
    steward = world["steward"]
    head = audit_head(sessions)
    query = graphql(steward, "{ dataset(id: 42) { nam } }")
    assert error_codes(query) and set(error_codes(query)) == {"INVALID_INPUT"}
    variables = graphql(steward, "query($id: UUID!) { dataset(id: $id) { name } }", {"id": "not-a-uuid"})
    assert error_codes(variables) == ["INVALID_INPUT"] and "$id" in variables["errors"][0]["message"]
    assert audit_entries(sessions, head) == []
    mutation = graphql(steward, 'mutation { annotate(recordId: "x", input: {question: "safety"}) { id } }')
    assert set(error_codes(mutation)) == {"INVALID_INPUT"}
    [entry] = audit_entries(sessions, head)
    assert (entry.outcome, entry.action, entry.resource) == ("failed", "graphql:mutation", "/graphql")


def test_unexpected_errors_are_masked_and_logged_with_the_request_id(world, monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(catalog.datasets.guidelines, "_guidelines_of", broken)
    steward = world["steward"]
    capsys.readouterr()
    response = steward.client.post(
        "/graphql", json={"query": "query($id: UUID!) { dataset(id: $id) { name guidelines { version } } }",
                          "variables": {"id": world["dataset"]["id"]}}, headers=steward.headers)
    request_id = response.headers["x-request-id"]
    [error] = response.json()["errors"]
    assert (error["message"], error["extensions"]) == (f"internal error (request id {request_id})", {"code": "INTERNAL"})
    assert "secret" not in response.text
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"unhandled error"' in line]
    assert [(entry["request_id"], "RuntimeError: secret detail" in entry["exception"]) for entry in logged] == [(request_id, True)]


def test_a_request_graphql_cannot_read_gets_the_rest_error_body(world):
    response = world["steward"].client.post("/graphql", json={}, headers=world["steward"].headers)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "BAD_REQUEST", "message": "No GraphQL query found in the request"}}


# --- protection -------------------------------------------------------------------------------


@pytest.fixture
def strict(world, sessions, settings):
    """The steward, against an app with small limits."""
    limited = settings.model_copy(update={"graphql_max_depth": 3, "graphql_max_aliases": 2, "graphql_max_tokens": 60})
    return dataclasses.replace(world["steward"], client=TestClient(create_app(limited, sessions=sessions)))


def test_a_query_deeper_than_the_limit_is_refused(strict, world):
    deep = "query($id: UUID!) { dataset(id: $id) { records { edges { node { id } } } } }"
    body = graphql(strict, deep, {"id": world["dataset"]["id"]})
    assert body["data"] is None and error_codes(body) == ["INVALID_INPUT"]
    assert "exceeds maximum operation depth of 3" in body["errors"][0]["message"]
    assert data(strict, "query($id: UUID!) { dataset(id: $id) { guidelines { version } } }", {"id": world["dataset"]["id"]})


def test_too_many_aliases_are_refused(strict):
    body = graphql(strict, "{ a: me { name } b: me { name } c: me { name } }")
    assert body["data"] is None and error_codes(body) == ["INVALID_INPUT"]
    assert body["errors"][0]["message"] == "3 aliases found. Allowed: 2"
    assert data(strict, "{ a: me { name } b: me { name } }")


def test_a_document_longer_than_the_token_limit_is_refused(strict):
    body = graphql(strict, "{ me { " + "name " * 60 + "} }")
    assert error_codes(body) == ["INVALID_INPUT"]
    assert "more than 60 tokens" in body["errors"][0]["message"]


def test_graphiql_is_not_served_and_nothing_loads_from_a_cdn(world):
    steward = world["steward"]
    page = steward.client.get("/graphql", headers={**steward.headers, "accept": "text/html"})
    assert page.status_code == 404
    assert "<script" not in page.text and "cdn" not in page.text


def test_the_rest_openapi_document_does_not_list_graphql(client):
    assert not [path for path in client.app.openapi()["paths"] if "graphql" in path]


def test_subscriptions_are_not_served(world):
    with pytest.raises(WebSocketDisconnect):
        with world["steward"].client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]):
            pass


def test_erasure_through_graphql(actors, sessions):
    admin = actors(Role.ADMIN, "root")
    dataset = admin.dataset("subjects", FULL_SCHEMA)
    [record_id] = admin.records(dataset["id"], chat_record(f"I am {EMAIL}", metadata={"subject_id": "s-1"}))
    erased = data(admin, 'mutation { eraseSubject(subjectId: "s-1", input: {reason: "DSR-7"}) { subjectId erased datasets } }')
    assert erased["eraseSubject"] == {"subjectId": "s-1", "erased": [record_id], "datasets": [dataset["id"]]}
    empty = graphql(admin, 'mutation { eraseSubject(subjectId: "s-1", input: {reason: ""}) { subjectId } }')
    assert error_codes(empty) == ["INVALID_INPUT"]
    assert empty["errors"][0]["message"].startswith("input.reason: String should have at least 1 character")


def test_an_unknown_id_in_a_mutation_is_not_found(world):
    body = graphql(world["steward"], f'mutation {{ annotate(recordId: "{MISSING}", input: {{question: "safety", value: "safe"}}) {{ id }} }}')
    assert error_codes(body) == ["NOT_FOUND"]
    assert uuid.UUID(body["errors"][0]["extensions"]["details"]["record_id"]) == uuid.UUID(MISSING)
