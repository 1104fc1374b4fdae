"""One serving path: every REST route and GraphQL field that returns record, annotation or
release text is served by :mod:`catalog.access.serving`.

Every route of the app and every field of the schema that could carry text is classified here by
hand; one that is not (a new route, a new field) fails the first tests, and so does a route
classified as returning no text whose response model holds a text-carrying DTO.

Each text-returning route and field is then called twice by an admin, who may read raw: as it
is, it must return the raw canary, with a raw-read audit entry; with serving's decision turned
to "masked" (``may_read_raw`` replaced in ``catalog.access.serving`` alone) it must return the
masked text, no canary and no raw-read entry. A path that decides for itself (its own
``may_read_raw``, raw columns read directly, its own audit entry) returns the canary, or writes
an entry serving did not, and fails.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import GraphQLObjectType, build_schema, get_named_type
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.graphql.schema import make_schema
from catalog.access import serving
from catalog.access.policy import Action
from catalog.core import audit_log
from catalog.core.config import Settings
from catalog.core.models import AuditEntryRow
from catalog.core.principal import Role
from tests.conftest import TEST_MASKING, TEST_SEALER
from tests.support.builders import TEXT_SCHEMA, Actors, Caller, chat_record, undone
from tests.support.graphql import graphql

ROOT = Path(__file__).resolve().parents[2]
CANARY = "serving-canary@example.com"  # masked by the PII gate: raw readers only
MARKER = "Quokka"  # kept by the PII gate: present in masked text as in raw
SETTINGS = Settings(
    database_url="sqlite://", log_json=True, log_level="WARNING",
    audit_seal_key=TEST_SEALER.key.decode(), audit_seal_every=TEST_SEALER.every, pii_mode="pattern",
)  # as conftest's ``settings``

# REST routes that return record, annotation or export text, each with a request body.
TEXT_ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/api/v1/datasets/{dataset_id}/records"): None,
    ("GET", "/api/v1/records/{record_id}"): None,
    ("POST", "/api/v1/records/{record_id}/retire"): {"reason": "duplicate"},
    ("GET", "/api/v1/records/{record_id}/annotations"): None,
    ("POST", "/api/v1/records/{record_id}/annotations"): {"question": "response", "value": f"{MARKER} {CANARY}"},
    ("GET", "/api/v1/annotations/{annotation_id}"): None,
    ("PATCH", "/api/v1/annotations/{annotation_id}"): {"base_revision": 2, "value": f"{MARKER} {CANARY}", "reason": "clearer"},
    ("POST", "/api/v1/annotations/{annotation_id}/reviews"): {"base_revision": 2, "decision": "accept"},
    ("GET", "/api/v1/annotations/{annotation_id}/history"): None,
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}/export"): None,
}
# Everything else: ids, counts, hashes, names, audit entries, lineage; never record or label text.
NO_TEXT_ROUTES = {
    ("GET", "/health"), ("GET", "/ready"), ("GET", "/api/v1/me"),
    ("GET", "/api/v1/principals"), ("POST", "/api/v1/principals"), ("GET", "/api/v1/principals/{principal_id}"),
    ("POST", "/api/v1/principals/{principal_id}/roles"), ("DELETE", "/api/v1/principals/{principal_id}/roles/{binding_id}"),
    ("GET", "/api/v1/principals/{principal_id}/keys"), ("POST", "/api/v1/principals/{principal_id}/keys"),
    ("POST", "/api/v1/principals/{principal_id}/keys/{key_id}/expire"),
    ("POST", "/api/v1/principals/{principal_id}/keys/{key_id}/rotate"),
    ("POST", "/api/v1/principals/{principal_id}/keys/{key_id}/revoke"),
    ("GET", "/api/v1/datasets"), ("POST", "/api/v1/datasets"), ("GET", "/api/v1/datasets/{dataset_id}"),
    ("GET", "/api/v1/datasets/{dataset_id}/guidelines"), ("POST", "/api/v1/datasets/{dataset_id}/guidelines"),
    ("POST", "/api/v1/datasets/{dataset_id}/records"),  # the new ids
    ("POST", "/api/v1/datasets/{dataset_id}/imports"),  # the import report: counts and line numbers
    ("GET", "/api/v1/audit"), ("GET", "/api/v1/audit/export"), ("GET", "/api/v1/audit/seals"),
    ("DELETE", "/api/v1/subjects/{subject_id}"),  # ids of the erased records
    ("POST", "/api/v1/datasets/{dataset_id}/releases"), ("GET", "/api/v1/datasets/{dataset_id}/releases"),
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}"), ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}/profile"),
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}/manifest"),  # the leaves: hashes, no text
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{base}/diff/{target}"),  # counts and record ids
    ("POST", "/api/v1/lineage"), ("POST", "/api/v1/lineage/batch"), ("GET", "/api/v1/lineage"),
    ("GET", "/api/v1/models"), ("GET", "/api/v1/models/{name}"), ("GET", "/api/v1/models/{name}/trace"),
    ("GET", "/api/v1/impact"),
}  # fmt: skip
# The DTOs that carry text, as the OpenAPI document names their schemas.
TEXT_SCHEMAS = {"RecordOut", "AnnotationOut", "RevisionOut", "History", "ExportRow", "ExportLabel"}

# GraphQL fields that return text: which world id each document takes as ``$id`` (a release's
# also take ``$tag``), and a document selecting only the text that field itself serves.
ONE, RELEASE = "($id: UUID!)", "($id: UUID!, $tag: String!)"
TEXT_FIELDS: dict[tuple[str, str], tuple[str, str]] = {
    ("Query", "record"): ("record_id", f"query{ONE} {{ record(id: $id) {{ messages {{ content }} candidates metadata }} }}"),
    ("Query", "annotation"): ("annotation_id", f"query{ONE} {{ annotation(id: $id) {{ value }} }}"),
    ("Query", "releaseRows"): ("dataset_id", f"query{RELEASE} {{ releaseRows(datasetId: $id, tag: $tag) "
                               "{ edges { node { messages { content } metadata } } } }"),
    ("Dataset", "records"): ("dataset_id", f"query{ONE} {{ dataset(id: $id) "
                             "{ records { edges { node { messages { content } } } } } }"),
    ("Record", "annotations"): ("record_id", f"query{ONE} {{ record(id: $id) {{ id annotations {{ value }} }} }}"),
    ("Annotation", "history"): ("annotation_id", f"query{ONE} {{ annotation(id: $id) {{ id history {{ reason }} }} }}"),
    ("ExportRow", "labels"): ("dataset_id", f"query{RELEASE} {{ releaseRows(datasetId: $id, tag: $tag) "
                              "{ edges { node { recordId labels { value } } } } }"),
    ("Mutation", "retireRecord"): ("record_id", f'mutation{ONE} {{ retireRecord(recordId: $id, input: {{reason: "dup"}}) '
                                   "{ messages { content } metadata } }"),
    ("Mutation", "annotate"): ("record_id", f'mutation{ONE} {{ annotate(recordId: $id, input: {{question: "response", '
                               f'value: "{MARKER} {CANARY}"}}) {{ value }} }}'),
    ("Mutation", "editAnnotation"): ("annotation_id", f"mutation{ONE} {{ editAnnotation(annotationId: $id, input: "
                                     f'{{baseRevision: 2, value: "{MARKER} {CANARY}", reason: "clearer"}}) {{ value }} }}'),
    ("Mutation", "review"): ("annotation_id", f"mutation{ONE} {{ review(annotationId: $id, "
                             'input: {baseRevision: 2, decision: "accept"}) { value } }'),
}  # fmt: skip
# Root fields that return no text: ids, counts, hashes (releaseManifest), names, audit, lineage.
# A dataset's records are its own field (Dataset.records), classified above.
NO_TEXT_FIELDS = {
    ("Query", name) for name in (
        "me", "datasets", "dataset", "releases", "release", "releaseProfile", "releaseDiff", "releaseManifest",
        "principals", "principal", "auditEntries", "auditSeals", "models", "model", "modelTrace", "modelTraceRows",
        "impact", "lineage",
    )
} | {
    ("Mutation", name) for name in (
        "createDataset", "addGuideline", "addRecords", "importRecords", "cutRelease", "createPrincipal", "grantRole",
        "revokeRole", "createKey", "expireKey", "rotateKey", "revokeKey", "eraseSubject",
    )
}  # fmt: skip
# The GraphQL types built from the text-carrying DTOs.
TEXT_TYPES = {"Record", "Annotation", "Revision", "ExportRow", "ExportLabel"}


# --- the classification is complete, and agrees with the response types -----------------------


def openapi() -> dict:
    return create_app(SETTINGS).openapi()


def test_every_route_of_the_app_is_classified():
    routes = {(method.upper(), path) for path, operations in openapi()["paths"].items() for method in operations}
    assert not set(TEXT_ROUTES) & NO_TEXT_ROUTES
    assert routes - set(TEXT_ROUTES) - NO_TEXT_ROUTES == set(), "classify the new route here"
    assert set(TEXT_ROUTES) | NO_TEXT_ROUTES == routes, "a classified route is gone: drop it here"


def test_a_route_classified_as_textless_returns_no_text_carrying_dto():
    document = openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = {status: response for status, response in operation["responses"].items() if status < "300"}
            reached = _schemas_reached(document, success)
            if (method.upper(), path) in NO_TEXT_ROUTES:
                assert not reached & TEXT_SCHEMAS, f"{method.upper()} {path} returns {reached & TEXT_SCHEMAS}"
            elif reached:  # streamed routes (the export) declare no schema
                assert reached & TEXT_SCHEMAS, f"{method.upper()} {path} is classified as returning text"


def _schemas_reached(document: dict, value: Any, seen: frozenset = frozenset()) -> set[str]:
    """The component schemas ``value`` refers to, directly or through other schemas."""
    if isinstance(value, list):
        return set().union(*(_schemas_reached(document, item, seen) for item in value))
    if not isinstance(value, dict):
        return set()
    found = set()
    if ref := value.get("$ref"):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            found |= {name} | _schemas_reached(document, document["components"]["schemas"][name], seen | {name})
    for key, item in value.items():
        if key != "$ref":
            found |= _schemas_reached(document, item, seen)
    return found


def schema_fields() -> dict[tuple[str, str], str]:
    """Every root field, and every other field that returns a text-carrying type (Relay plumbing
    aside), with the type it serves (a connection's node type)."""
    schema = build_schema(make_schema(SETTINGS).as_str())
    roots = {schema.query_type.name, schema.mutation_type.name}
    found = {}
    for type_name, named in schema.type_map.items():
        if not isinstance(named, GraphQLObjectType) or type_name.startswith("__") or type_name.endswith(("Edge", "Connection")):
            continue
        for field_name, field in named.fields.items():
            served = _served_type(field.type)
            if type_name in roots or served in TEXT_TYPES:
                found[(type_name, field_name)] = served
    return found


def _served_type(field_type) -> str:
    named = get_named_type(field_type)
    if isinstance(named, GraphQLObjectType) and named.name.endswith("Connection"):
        named = get_named_type(get_named_type(named.fields["edges"].type).fields["node"].type)
    return named.name


def test_every_graphql_field_is_classified():
    fields = schema_fields()
    assert not set(TEXT_FIELDS) & NO_TEXT_FIELDS
    assert set(fields) - set(TEXT_FIELDS) - NO_TEXT_FIELDS == set(), "classify the new field here"
    assert set(TEXT_FIELDS) | NO_TEXT_FIELDS == set(fields), "a classified field is gone: drop it here"
    for field, served in fields.items():
        assert (served in TEXT_TYPES) == (field in TEXT_FIELDS), f"{field} returns {served}"


def test_only_the_serving_module_decides_raw_and_audits_raw_reads():
    """The policy defines ``may_read_raw`` and ``READ_RAW``; only serving asks the one and writes the other."""
    allowed = {"catalog/access/policy.py", "catalog/access/doc.py", "catalog/access/serving.py"}
    found = [
        f"{path.relative_to(ROOT)}: {word}"
        for package in ("api", "catalog", "lineage")
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in allowed
        for word in ("may_read_raw", "READ_RAW")
        if word in path.read_text()
    ]
    assert not found, found


# --- each text-returning route and field goes through serving ----------------------------------


@dataclass
class World:
    sessions: sessionmaker[Session]
    admin: Caller
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world_sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """As conftest's ``sessions``, for the whole module: the world is built once, and every call
    below is rolled back (``undone``)."""
    connection = engine.connect()
    outer = connection.begin()
    yield sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False,
        info=audit_log.session_info(audit_log.AuditContext(client="test"), TEST_SEALER),
    )
    outer.rollback()
    connection.close()


@pytest.fixture(scope="module")
def world(world_sessions) -> World:
    """A masked record and an annotation on it (edited once) holding the canary beside the marker
    in every free text, and release r1 of them."""
    actors = Actors(world_sessions, TestClient(create_app(SETTINGS, sessions=world_sessions)), TEST_MASKING)
    steward = actors(Role.DATA_STEWARD, "serving-steward")
    dataset = steward.dataset("serving", TEXT_SCHEMA)
    record = chat_record(f"{MARKER}: write to {CANARY}", candidates=[f"{MARKER} {CANARY}", "No."])
    [record_id] = steward.records(dataset["id"], {**record, "metadata": {"note": f"{MARKER} {CANARY}"}})
    annotation = steward.annotate(record_id, "response", f"{MARKER} replied to {CANARY}")
    edit = {"base_revision": 1, "value": f"{MARKER} wrote to {CANARY}", "reason": f"{MARKER} asked by {CANARY}"}
    steward.ok(steward.patch(f"/api/v1/annotations/{annotation['id']}", edit))
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "r1"}), 201)
    admin = actors(Role.ADMIN, "serving-admin")
    ids = {"dataset_id": dataset["id"], "record_id": record_id, "annotation_id": annotation["id"], "tag": "r1",
           "base": "r1", "target": "r1", "principal_id": str(admin.principal.id), "name": "no-such-model"}  # fmt: skip
    return World(world_sessions, admin, ids)


@dataclass
class Served:
    text: str
    raw_reads: int  # raw-read audit entries the call wrote
    by_serving: int  # of those, written by the serving module


def assert_served_through_serving(world: World, monkeypatch, call: Callable[[], str]) -> None:
    raw = served(world, monkeypatch, call)
    assert CANARY in raw.text, "the call serves no raw text to a raw reader: the world does not reach it"
    assert raw.raw_reads >= 1 and raw.raw_reads == raw.by_serving, raw
    monkeypatch.setattr(serving, "may_read_raw", lambda principal, dataset_id: False)  # "masked" for everyone
    masked = served(world, monkeypatch, call)
    assert CANARY not in masked.text, f"raw text served without the serving module: {masked.text[:500]}"
    assert MARKER in masked.text, f"no masked text served: {masked.text[:500]}"
    assert masked.raw_reads == 0, masked


def served(world: World, monkeypatch, call: Callable[[], str]) -> Served:
    """What ``call`` returns and the raw-read entries it writes, in a savepoint rolled back after."""
    written = []
    with monkeypatch.context() as patch, undone(world.sessions):
        audit = serving.Serving._audit
        patch.setattr(serving.Serving, "_audit", lambda self, *args: (written.append(args), audit(self, *args)))
        before = _raw_reads(world)
        text = call()
        return Served(text, _raw_reads(world) - before, len(written))


def _raw_reads(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count()).where(AuditEntryRow.action == Action.READ_RAW))


@pytest.mark.parametrize(("method", "path"), list(TEXT_ROUTES))
def test_each_text_route_is_served_through_the_serving_module(world, monkeypatch, method, path):
    def call() -> str:
        response = world.admin.client.request(
            method, path.format(**world.ids), json=TEXT_ROUTES[(method, path)], headers=world.admin.headers
        )
        assert response.status_code in (200, 201), response.text
        return response.text

    assert_served_through_serving(world, monkeypatch, call)


@pytest.mark.parametrize("field", list(TEXT_FIELDS), ids="{0[0]}.{0[1]}".format)
def test_each_text_field_is_served_through_the_serving_module(world, monkeypatch, field):
    id_name, document = TEXT_FIELDS[field]
    variables = {"id": world.ids[id_name], **({"tag": world.ids["tag"]} if "$tag" in document else {})}

    def call() -> str:
        body = graphql(world.admin, document, variables)
        assert "errors" not in body, body["errors"]
        return json.dumps(body)

    assert_served_through_serving(world, monkeypatch, call)


def test_no_textless_read_route_serves_text(world):
    """The routes classified as returning no text, read by an admin: neither raw nor masked text."""
    for method, path in sorted(NO_TEXT_ROUTES):
        if method == "GET":
            response = world.admin.get(path.format(**world.ids), params={"limit": 500})
            assert MARKER not in response.text and CANARY not in response.text, f"{path}: {response.text[:300]}"
