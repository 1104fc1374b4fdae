"""Canary sweep: unique personal data seeded into every free text of a record and of its
annotations never reaches a role without read_raw, through any readable endpoint of the app or
any field of the GraphQL schema."""

import functools

import pytest
from graphql import GraphQLObjectType, build_schema, get_named_type, is_required_argument

from api.app import create_app
from api.graphql.schema import make_schema
from catalog.core.config import Settings
from catalog.core.principal import Role
from tests.support.builders import FULL_SCHEMA, pair_record, undone
from tests.support.graphql import graphql
from tests.support.lineage import model_output, release_input, training_run

# Each canary is something the default pattern scanner masks, and unique in the whole response.
CANARIES = {
    "system": "ops-canary-1@example.com",
    "user": "4111 1111 1111 1111",
    "assistant": "user-canary-2@example.com",
    "candidate": "212-555-0147",
    "metadata": "meta-canary-3@example.com",
    "nested metadata": "5500 0000 0000 0004",
    "response": "resp-canary-4@example.com",
    "rationale": "rank-canary-5@example.com",
    "edit reason": "edit-canary-6@example.com",
    "review comment": "review-canary-7@example.com",
}
SWEPT_ROLES = [Role.ANNOTATOR, Role.REVIEWER, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER]


def seeded_record() -> dict:
    record = pair_record("ignored", candidates=(f"Ring {CANARIES['candidate']}", "No."))
    record["messages"] = [
        {"role": "system", "content": f"Escalate to {CANARIES['system']}."},
        {"role": "user", "content": f"My card is {CANARIES['user']}."},
        {"role": "assistant", "content": f"Noted; I will mail {CANARIES['assistant']}."},
        {"role": "user", "content": "Which reply is better?"},
    ]
    record["metadata"] = {
        "note": f"reported by {CANARIES['metadata']}",
        "history": [{"card": CANARIES["nested metadata"]}],
        "domain": "support",
    }
    return record


@functools.cache  # the app's routes, the same for every test
def readable_paths() -> list[str]:
    return sorted(
        path for path, operations in create_app().openapi()["paths"].items()
        if "get" in operations and path.startswith("/api/v1")
    )


@pytest.fixture(scope="module")
def seeded_world(module_actors, module_settings) -> dict:
    """A record, its annotations, an edit, a review, a release and a training run, each seeded with
    canaries: built once per module and backend; each test runs in a savepoint over it."""
    actors, settings = module_actors, module_settings
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("sweep", FULL_SCHEMA)
    [record_id] = steward.records(dataset["id"], seeded_record())
    annotation = steward.annotate(record_id, "response", f"Write to {CANARIES['response']}.")
    path = f"/api/v1/annotations/{annotation['id']}"
    edit = {"base_revision": 1, "value": "Write to us.", "reason": f"as {CANARIES['edit reason']} asked"}
    steward.ok(steward.patch(path, edit))
    reviewer = actors(Role.REVIEWER, "seeding-reviewer")
    review = {"base_revision": 2, "decision": "reject", "comment": f"ask {CANARIES['review comment']}"}
    reviewer.ok(reviewer.post(f"{path}/reviews", review), 201)
    steward.annotate(record_id, "preference", {"ranking": [[1], [0]], "rationale": f"per {CANARIES['rationale']}"})
    raw = str(steward.ok(steward.get(f"/api/v1/records/{record_id}")))
    raw += str(steward.ok(steward.get(f"/api/v1/records/{record_id}/annotations")))
    raw += str(steward.ok(steward.get(f"{path}/history")))
    assert all(canary in raw for canary in CANARIES.values())  # raw readers get every canary
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "r1"}), 201)
    run = training_run([release_input(settings.lineage_namespace, "sweep", "r1")], [model_output("sweep-model")])
    trainer = actors(Role.ML_ENGINEER, "trainer")
    trainer.ok(trainer.post("/api/v1/lineage", run), 201)
    principal = steward.ok(steward.get("/api/v1/me"))
    return {"dataset_id": dataset["id"], "record_id": record_id, "annotation_id": annotation["id"],
            "principal_id": principal["id"], "tag": "r1", "base": "r1", "target": "r1", "name": "sweep-model",
            "node_id": "job:training:sft"}  # fmt: skip


@pytest.fixture
def sessions(module_sessions, seeded_world):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def world(sessions, seeded_world) -> dict:
    return seeded_world


@pytest.mark.parametrize("role", SWEPT_ROLES)
def test_no_canary_reaches_a_role_without_read_raw_through_any_endpoint(actors, world, role):
    caller = actors(role, f"sweeper-{role.value}", on=[world["dataset_id"]])
    swept = 0
    for path in readable_paths():
        response = caller.get(path.format(**world), params={"limit": 500})
        leaked = [name for name, canary in CANARIES.items() if canary in response.text]
        assert not leaked, f"{role.value} GET {path}: {leaked} in {response.text[:300]}"
        swept += response.status_code == 200
    assert swept >= 5  # the sweep really read records, annotations and the dataset


RELEASE_FIELDS = ("releases", "release", "releaseProfile", "releaseDiff", "releaseManifest", "releaseRows")
# The value of each required argument in the schema, by field: a field added with a required
# argument fails the sweep until it is named here.
GRAPHQL_ARGUMENTS = {
    ("dataset", "id"): "dataset_id", ("record", "id"): "record_id", ("annotation", "id"): "annotation_id",
    ("principal", "id"): "principal_id", ("model", "name"): "name", ("modelTrace", "name"): "name",
    ("modelTraceRows", "name"): "name", ("lineage", "nodeId"): "node_id",
    **{(field, "datasetId"): "dataset_id" for field in RELEASE_FIELDS},
    **{(field, "tag"): "tag" for field in RELEASE_FIELDS},
    ("releaseDiff", "base"): "base", ("releaseDiff", "target"): "target",
}  # fmt: skip


def every_readable_field(world: dict) -> str:
    """One query selecting every field reachable from the root, with the seeded ids."""
    return "query " + _selection(_graphql_schema().query_type, world, frozenset())


@functools.cache  # the schema, the same for every test
def _graphql_schema():
    return build_schema(make_schema(Settings()).as_str())


def _selection(object_type: GraphQLObjectType, world: dict, seen: frozenset) -> str:
    fields = []
    for name, field in object_type.fields.items():
        named = get_named_type(field.type)
        if named.name in seen:
            continue
        arguments = ", ".join(
            f'{argument}: "{world[GRAPHQL_ARGUMENTS[(name, argument)]]}"'
            for argument, definition in field.args.items()
            if is_required_argument(definition)
        )
        if "first" in field.args:
            arguments = ", ".join(filter(None, [arguments, "first: 500"]))
        nested = _selection(named, world, seen | {object_type.name}) if isinstance(named, GraphQLObjectType) else ""
        fields.append(f"{name}{f'({arguments})' if arguments else ''} {nested}")
    return "{ " + " ".join(fields) + " }"


@pytest.mark.parametrize("role", SWEPT_ROLES)
def test_no_canary_reaches_a_role_without_read_raw_through_graphql(actors, world, role):
    caller = actors(role, f"graphql-sweeper-{role.value}", on=[world["dataset_id"]])
    body = graphql(caller, every_readable_field(world))
    leaked = [name for name, canary in CANARIES.items() if canary in str(body)]
    assert not leaked, f"{role.value} through GraphQL: {leaked}"
    found = body["data"]
    assert found["record"]["messages"] and len(found["record"]["annotations"]) == 2  # the sweep read the texts
    [edge] = found["dataset"]["records"]["edges"]
    assert [len(a["history"]) for a in edge["node"]["annotations"]] == [3, 1]
