"""Every REST operation × every role, derived from the app's routes and the policy table.

Each role holds its role the way it would in production: globally, or (annotators, reviewers)
on dataset A only. The expected outcome comes from ``catalog.access.policy`` itself: 2xx when the policy
grants the action, 404 when the role cannot see the dataset at all, 403 when it can see it but
may not act, 401 without a key. A route added without a row here fails the first test.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from api.app import create_app
from catalog.access.policy import Action, can, may_read_raw
from catalog.core.principal import Principal, Role
from tests.support.builders import TEXT_SCHEMA, Caller, chat_record, undone

pytestmark = pytest.mark.slow

PUBLIC = {("GET", "/health"), ("GET", "/ready")}
# Raw record text that the PII gate masks: only roles with read_raw may ever see it.
CANARY = "Write to jane.canary@example.com or call 212-555-0100"


@dataclass(frozen=True)
class Op:
    """One operation: what the policy must grant, where it applies, and a valid request."""

    action: Action | None  # None: any authenticated principal
    on_dataset: bool = True
    body: Any = None
    params: dict | None = None
    raw: bytes | None = None
    owned: bool = False  # the target was made by the steward (OWN reach and review rules apply)


ALPACA = b'{"instruction": "Say hi", "output": "Hi"}\n'
LINEAGE_EVENT = {
    "eventType": "COMPLETE", "eventTime": "2026-12-01T10:00:00Z", "producer": "https://example.com/trainer",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "01a201c3-1130-71c9-83b9-f34b2d41811d"}, "job": {"namespace": "training", "name": "sft"},
}  # fmt: skip
MODEL_OUTPUT = {"namespace": "s3://ml", "name": "sft-model", "facets": {"datasetType": {
    "_producer": "https://example.com/trainer", "datasetType": "MODEL",
    "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet",
}}}  # fmt: skip
OPS: dict[tuple[str, str], Op] = {
    ("GET", "/api/v1/me"): Op(None, on_dataset=False),
    ("GET", "/api/v1/principals"): Op(Action.PRINCIPAL_MANAGE, on_dataset=False),
    ("POST", "/api/v1/principals"): Op(Action.PRINCIPAL_MANAGE, on_dataset=False, body={"name": "someone-new"}),
    ("GET", "/api/v1/principals/{principal_id}"): Op(Action.PRINCIPAL_MANAGE, on_dataset=False),
    ("POST", "/api/v1/principals/{principal_id}/roles"): Op(
        Action.PRINCIPAL_MANAGE, on_dataset=False, body={"role": "compliance_officer"}
    ),
    ("DELETE", "/api/v1/principals/{principal_id}/roles/{binding_id}"): Op(Action.PRINCIPAL_MANAGE, on_dataset=False),
    ("POST", "/api/v1/principals/{principal_id}/keys"): Op(Action.PRINCIPAL_MANAGE, on_dataset=False, body={}),
    ("GET", "/api/v1/principals/{principal_id}/keys"): Op(Action.PRINCIPAL_MANAGE, on_dataset=False),
    ("POST", "/api/v1/principals/{principal_id}/keys/{key_id}/expire"): Op(
        Action.PRINCIPAL_MANAGE, on_dataset=False, body={"expires_at": "2030-01-01T00:00:00Z"}
    ),
    ("POST", "/api/v1/principals/{principal_id}/keys/{key_id}/rotate"): Op(
        Action.PRINCIPAL_MANAGE, on_dataset=False, body={}
    ),
    ("POST", "/api/v1/principals/{principal_id}/keys/{key_id}/revoke"): Op(Action.PRINCIPAL_MANAGE, on_dataset=False),
    ("GET", "/api/v1/datasets"): Op(None, on_dataset=False),
    ("POST", "/api/v1/datasets"): Op(
        Action.DATASET_CREATE, on_dataset=False, body={"name": "new", "label_schema": TEXT_SCHEMA}
    ),
    ("GET", "/api/v1/datasets/{dataset_id}"): Op(Action.DATASET_READ),
    ("GET", "/api/v1/datasets/{dataset_id}/guidelines"): Op(Action.DATASET_READ),
    ("POST", "/api/v1/datasets/{dataset_id}/guidelines"): Op(Action.GUIDELINE_CREATE, body={"text": "Be kind."}),
    ("GET", "/api/v1/datasets/{dataset_id}/records"): Op(Action.DATASET_READ),
    ("POST", "/api/v1/datasets/{dataset_id}/records"): Op(Action.RECORD_CREATE, body={"records": [chat_record("new")]}),
    ("POST", "/api/v1/datasets/{dataset_id}/imports"): Op(Action.IMPORT_RUN, params={"format": "alpaca"}, raw=ALPACA),
    ("GET", "/api/v1/records/{record_id}"): Op(Action.DATASET_READ),
    ("POST", "/api/v1/records/{record_id}/retire"): Op(Action.RECORD_RETIRE, body={"reason": "duplicate"}),
    ("GET", "/api/v1/records/{record_id}/annotations"): Op(Action.DATASET_READ),
    ("POST", "/api/v1/records/{record_id}/annotations"): Op(
        Action.ANNOTATION_CREATE, body={"question": "response", "value": "an answer"}
    ),
    ("GET", "/api/v1/annotations/{annotation_id}"): Op(Action.DATASET_READ),
    ("PATCH", "/api/v1/annotations/{annotation_id}"): Op(
        Action.ANNOTATION_EDIT, body={"base_revision": 1, "value": "changed", "reason": "clearer"}, owned=True
    ),
    ("POST", "/api/v1/annotations/{annotation_id}/reviews"): Op(
        Action.ANNOTATION_REVIEW, body={"base_revision": 1, "decision": "accept"}, owned=True
    ),
    ("GET", "/api/v1/annotations/{annotation_id}/history"): Op(Action.DATASET_READ),
    ("GET", "/api/v1/audit"): Op(Action.AUDIT_READ, on_dataset=False),
    ("GET", "/api/v1/audit/export"): Op(Action.AUDIT_READ, on_dataset=False),
    ("GET", "/api/v1/audit/seals"): Op(Action.AUDIT_READ, on_dataset=False),
    ("DELETE", "/api/v1/subjects/{subject_id}"): Op(Action.SUBJECT_ERASE, on_dataset=False, params={"reason": "DSR-1"}),
    ("POST", "/api/v1/datasets/{dataset_id}/releases"): Op(Action.RELEASE_CREATE, body={"tag": "r2"}),
    ("GET", "/api/v1/datasets/{dataset_id}/releases"): Op(Action.DATASET_READ),
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}"): Op(Action.DATASET_READ),
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}/profile"): Op(Action.DATASET_READ),
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}/manifest"): Op(Action.DATASET_READ),
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{tag}/export"): Op(Action.DATASET_READ),
    ("GET", "/api/v1/datasets/{dataset_id}/releases/{base}/diff/{target}"): Op(Action.DATASET_READ),
    ("POST", "/api/v1/lineage"): Op(Action.LINEAGE_WRITE, on_dataset=False, body=LINEAGE_EVENT),
    ("POST", "/api/v1/lineage/batch"): Op(Action.LINEAGE_WRITE, on_dataset=False, body=[LINEAGE_EVENT]),
    ("GET", "/api/v1/lineage"): Op(Action.LINEAGE_READ, on_dataset=False, params={"nodeId": "job:training:sft"}),
    ("GET", "/api/v1/models"): Op(Action.LINEAGE_READ, on_dataset=False),
    ("GET", "/api/v1/models/{name}"): Op(Action.LINEAGE_READ, on_dataset=False),
    ("GET", "/api/v1/models/{name}/trace"): Op(Action.LINEAGE_READ, on_dataset=False),
    ("GET", "/api/v1/impact"): Op(Action.LINEAGE_READ, on_dataset=False, params={"annotator": "the-steward"}),
}


def test_every_route_of_the_app_is_in_the_matrix():
    routes = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    }
    assert routes - PUBLIC == set(OPS)


@dataclass
class World:
    steward: Caller
    ids: dict[str, dict[str, str]]  # "A" (assigned) and "B" (not assigned) -> path parameters


@pytest.fixture(scope="module")
def world(module_actors) -> World:
    """Datasets A and B, each with a record, an annotation by the steward and release r1; a principal to administer.

    Built once per module; each test runs in a savepoint over it that is rolled back (``sessions``)."""
    actors = module_actors
    steward = actors(Role.DATA_STEWARD, "the-steward")
    ids = {}
    for name in ("A", "B"):
        dataset = steward.dataset(name, TEXT_SCHEMA)
        [record_id] = steward.records(dataset["id"], chat_record(f"{CANARY} in {name}"))
        annotation = steward.annotate(record_id, "response", f"hi {name}")
        steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "r1"}), 201)
        ids[name] = {"dataset_id": dataset["id"], "record_id": record_id, "annotation_id": annotation["id"],
                     "tag": "r1", "base": "r1", "target": "r1"}  # fmt: skip
    admin = actors(Role.ADMIN, "the-admin")
    admin.ok(admin.post("/api/v1/lineage", {**LINEAGE_EVENT, "outputs": [MODEL_OUTPUT]}), 201)
    target = admin.ok(admin.post("/api/v1/principals", {"name": "target", "roles": [{"role": "ml_engineer"}]}), 201)
    shared = {
        "principal_id": target["principal"]["id"],
        "binding_id": target["principal"]["roles"][0]["id"],
        "key_id": target["key"]["key_id"],
        "subject_id": "subject-in-A",
        "name": "sft-model",
    }
    for found in ids.values():
        found.update(shared)
    return World(steward, ids)


@pytest.fixture
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture(scope="module")
def callers(module_actors, world) -> dict[Role, Caller]:
    """A principal of each role, holding it as it would in production (annotators and reviewers on A)."""
    return {role: _caller(module_actors, role, world) for role in Role}


def _caller(actors, role: Role, world: World) -> Caller:
    return actors(role, f"acting-{role.value}", on=[world.ids["A"]["dataset_id"]])


def _send(caller_or_client, key: str | None, method: str, path: str, op: Op, params: dict[str, str]):
    client = caller_or_client.client
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = path.format(**params)
    if op.raw is not None:
        return client.request(method, url, headers=headers, params=op.params, content=op.raw)
    return client.request(method, url, headers=headers, params=op.params, json=op.body)


def _expected(principal: Principal, op: Op, dataset_id: uuid.UUID, owner_id: uuid.UUID) -> str:
    if op.action is None:
        return "allowed"
    if not op.on_dataset:
        return "allowed" if can(principal, op.action) else "forbidden"
    if not can(principal, Action.DATASET_READ, dataset_id=dataset_id):
        return "hidden"
    allowed = can(principal, op.action, dataset_id=dataset_id, owner_id=owner_id if op.owned else None)
    if op.action is Action.ANNOTATION_REVIEW and owner_id == principal.id:
        allowed = False
    return "allowed" if allowed else "forbidden"


def _outcome(status: int) -> str:
    if 200 <= status < 300:
        return "allowed"
    return {401: "unauthenticated", 403: "forbidden", 404: "hidden"}.get(status, f"unexpected {status}")


@pytest.mark.parametrize(("method", "path"), list(OPS))
def test_each_role_gets_what_the_policy_says(callers, sessions, world, method, path):
    op = OPS[(method, path)]
    wrong = []
    for role, caller in callers.items():
        for dataset in ("A", "B") if op.on_dataset else ("A",):
            params = world.ids[dataset]
            expected = _expected(caller.principal, op, uuid.UUID(params["dataset_id"]), world.steward.principal.id)
            with undone(sessions):
                response = _send(caller, caller.key, method, path, op, params)
            if _outcome(response.status_code) != expected:
                wrong.append(f"{role.value} on {dataset}: expected {expected}, got {response.status_code} {response.text}")
            if "canary@" in response.text and not _reads_raw_anywhere(caller.principal, world):
                wrong.append(f"{role.value} on {dataset}: raw record text reached a role without read_raw")
    assert not wrong, "\n".join(wrong)


def _reads_raw_anywhere(principal: Principal, world: World) -> bool:
    return any(may_read_raw(principal, uuid.UUID(ids["dataset_id"])) for ids in world.ids.values())


def test_raw_text_reaches_read_raw_roles_and_their_reads_are_audited(actors, callers, world):
    record_path = "/api/v1/records/{record_id}".format(**world.ids["A"])
    assert CANARY in world.steward.ok(world.steward.get(record_path))["messages"][0]["content"]
    annotator = callers[Role.ANNOTATOR]
    masked = annotator.ok(annotator.get(record_path))
    assert masked["text"] == "masked"
    assert masked["messages"][0]["content"] == "Write to <EMAIL_ADDRESS> or call <PHONE_NUMBER> in A"
    auditor = actors(Role.COMPLIANCE_OFFICER)
    reads = auditor.ok(auditor.get("/api/v1/audit", params={"action": "text:read_raw"}))["items"]
    assert [(e["actor_name"], e["details"]["records"]) for e in reads] == [("the-steward", [world.ids["A"]["record_id"]])]


@pytest.mark.parametrize(("method", "path"), list(OPS))
def test_without_a_key_every_operation_is_401(actors, world, method, path):
    response = _send(world.steward, None, method, path, OPS[(method, path)], world.ids["A"])
    assert response.status_code == 401, response.text
