"""Models, traces, impact and the lineage graph through GraphQL give what REST gives, and are
refused as REST refuses them."""

import json
import uuid

import pytest

from catalog.core.principal import Role
from catalog.datasets.service import DATASETS
from catalog.lineage_graph.schemas import ImpactOut, LineageGraph, ModelOut, ModelTrace, TraceRow
from catalog.lineage_graph.service import TRACE_ROWS
from tests.support.builders import TEXT_SCHEMA, chat_record, undone
from tests.support.graphql import data, graphql, graphql_case, selection

MODEL = "acme/sft-7b"  # REST's path takes the '/' as it is ({name:path}); GraphQL's argument too
PRODUCER = "https://github.com/acme/trainer"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
TRACE = f"query($name: String!) {{ modelTrace(name: $name) {{ {selection(ModelTrace)} }} }}"
IMPACT = f"""query($annotator: String, $guidelineVersion: Int, $dataset: String, $record: UUID, $subject: String) {{
  impact(annotator: $annotator, guidelineVersion: $guidelineVersion, dataset: $dataset, record: $record,
         subject: $subject) {{ {selection(ImpactOut)} }}
}}"""
ROWS = f"""query($name: String!, $after: String) {{
  modelTraceRows(name: $name, first: 1, after: $after) {{
    edges {{ node {{ {selection(TraceRow)} }} }} pageInfo {{ hasNextPage endCursor }} }}
}}"""
LINEAGE = f"""query($node: String!, $depth: Int!) {{
  lineage(nodeId: $node, depth: $depth) {{ {selection(LineageGraph)} }}
}}"""


def facet(**fields) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json", **fields}


@pytest.fixture(scope="module")
def world(module_actors, module_settings) -> dict:
    """Dataset "lin" with a guideline and two records, one answered by an annotator (its record
    holding subject-1's data), one by the steward, released as v1; a training run that read v1
    and wrote model ``MODEL``, reported as an ML engineer would.

    Built once per module; each test runs in a savepoint over it that is rolled back (``sessions``)."""
    actors, settings = module_actors, module_settings
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("lin", TEXT_SCHEMA)
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/guidelines", {"text": "Be brief."}), 201)
    first, second = steward.records(
        dataset["id"], chat_record("Name a prime.", metadata={"subject_id": "subject-1"}), chat_record("Say hello.")
    )
    actors(Role.ANNOTATOR, "ann", on=[dataset["id"]]).annotate(first, "response", "7")
    steward.annotate(second, "response", "Hello.")
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    engineer = actors(Role.ML_ENGINEER, "mle")
    namespace = settings.lineage_namespace
    release = {"namespace": namespace, "name": "lin", "facets": {"version": facet(datasetVersion="v1")}}
    model = {"namespace": "s3://models", "name": MODEL,
             "facets": {"datasetType": facet(datasetType="MODEL"), "version": facet(datasetVersion="1")}}  # fmt: skip
    event = {"eventType": "COMPLETE", "eventTime": "2026-12-01T10:00:00Z", "producer": PRODUCER, "schemaURL": RUN_EVENT,
             "run": {"runId": "01a201c3-1130-71c9-83b9-f34b2d418120"}, "job": {"namespace": "training", "name": "sft"},
             "inputs": [release], "outputs": [model]}  # fmt: skip
    engineer.ok(engineer.post("/api/v1/lineage", event), 201)
    return {"dataset": dataset, "records": [first, second], "engineer": engineer, "namespace": namespace}


@pytest.fixture(autouse=True)  # every test, even one that asks only for the world: the callers in it write
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


def rest(caller, path: str, **params):
    return graphql_case(caller.ok(caller.get(path, params=params)))


def test_a_trace_is_rest_s_down_to_each_release_s_annotators(world):
    engineer = world["engineer"]
    trace = data(engineer, TRACE, {"name": MODEL})["modelTrace"]
    assert trace == rest(engineer, f"/api/v1/models/{MODEL}/trace")
    [release] = trace["releases"]
    assert (trace["versions"], release["tag"], release["annotators"]) == (["1"], "v1", ["ann", "stew"])
    assert release["bySource"] == {"human": 2} and trace["hiddenReleases"] == 0


def test_a_model_reported_without_a_version_lists_none(world):
    engineer, release = world["engineer"], {"namespace": world["namespace"], "name": "lin",
                                            "facets": {"version": facet(datasetVersion="v1")}}  # fmt: skip
    event = {"eventType": "COMPLETE", "eventTime": "2026-12-02T10:00:00Z", "producer": PRODUCER, "schemaURL": RUN_EVENT,
             "run": {"runId": "01a201c3-1130-71c9-83b9-f34b2d418121"}, "job": {"namespace": "training", "name": "dpo"},
             "inputs": [release], "outputs": [{"namespace": "s3://models", "name": "acme/unversioned",
                         "facets": {"datasetType": facet(datasetType="MODEL")}}]}  # fmt: skip
    engineer.ok(engineer.post("/api/v1/lineage", event), 201)
    trace = engineer.ok(engineer.get("/api/v1/models/acme/unversioned/trace"))
    assert trace["versions"] == [] and [release["tag"] for release in trace["releases"]] == ["v1"]


def test_the_trace_rows_page_by_page_are_rest_s_stream(world):
    engineer, rows, after = world["engineer"], [], None
    while True:
        page = data(engineer, ROWS, {"name": MODEL, "after": after})["modelTraceRows"]
        rows += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    streamed = engineer.get(f"/api/v1/models/{MODEL}/trace", params={"detail": "rows"}).text.splitlines()
    assert len(rows) == 2 and rows == [graphql_case(json.loads(line)) for line in streamed]


def test_the_models_and_a_model_are_rest_s(world):
    engineer = world["engineer"]
    found = data(engineer, f"query($name: String!) {{ models {{ {selection(ModelOut)} }} "
                           f"model(name: $name) {{ {selection(ModelOut)} }} }}", {"name": MODEL})  # fmt: skip
    assert found["models"] == rest(engineer, "/api/v1/models") and [m["name"] for m in found["models"]] == [MODEL]
    assert found["model"] == rest(engineer, f"/api/v1/models/{MODEL}")


@pytest.mark.parametrize(
    "asked",
    [{"annotator": "ann"}, {"guideline_version": 1, "dataset": "lin"}, {"record": 0}, {"subject": "subject-1"},
     {"annotator": "nobody"}],
    ids=["annotator", "guideline-version", "record", "subject", "reached-nothing"],
)  # fmt: skip
def test_impact_is_rest_s(world, asked):
    asked = {k: world["records"][v] if k == "record" else v for k, v in asked.items()}
    engineer = world["engineer"]
    impact = data(engineer, IMPACT, graphql_case(asked))["impact"]
    assert impact == rest(engineer, "/api/v1/impact", **asked)
    reached = asked != {"annotator": "nobody"}
    assert [model["name"] for model in impact["models"]] == ([MODEL] if reached else [])
    assert [(release["dataset"], release["tag"]) for release in impact["releases"]] == ([("lin", "v1")] if reached else [])


@pytest.mark.parametrize("asked", [{}, {"annotator": "ann", "subject": "subject-1"}], ids=["none", "two"])
def test_impact_needs_exactly_one_contribution_as_on_rest(world, asked):
    engineer = world["engineer"]
    refused = engineer.get("/api/v1/impact", params=asked)
    assert refused.status_code == 422
    [error] = graphql(engineer, IMPACT, graphql_case(asked))["errors"]
    assert (error["extensions"]["code"], error["message"]) == ("INVALID_INPUT", refused.json()["error"]["message"])


@pytest.mark.parametrize("depth", [0, 1, 5])
def test_the_lineage_graph_is_rest_s(world, depth):
    engineer = world["engineer"]
    node = f"dataset:{world['namespace']}:lin"  # the namespace holds ':' itself
    graph = data(engineer, LINEAGE, {"node": node, "depth": depth})["lineage"]
    assert graph == rest(engineer, "/api/v1/lineage", nodeId=node, depth=depth)
    assert len(graph["graph"]) == {0: 1, 1: 2, 5: 3}[depth]
    if depth == 5:
        [model] = [found for found in graph["graph"] if found["isModel"]]
        assert model["id"] == f"dataset:s3://models:{MODEL}" and model["inEdges"] == [
            {"origin": "job:training:sft", "destination": model["id"]}
        ]


def test_a_depth_beyond_twenty_is_invalid_input_as_on_rest(world):
    engineer = world["engineer"]
    node = "job:training:sft"
    assert engineer.get("/api/v1/lineage", params={"nodeId": node, "depth": 21}).status_code == 422
    body = graphql(engineer, LINEAGE, {"node": node, "depth": 21})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_INPUT"]


def test_a_missing_model_or_node_is_not_found_as_on_rest(world):
    engineer = world["engineer"]
    node = "job:training:none"
    for query, variables, path, params in (
        (TRACE, {"name": "acme/none"}, "/api/v1/models/acme/none/trace", {}),
        (LINEAGE, {"node": node, "depth": 1}, "/api/v1/lineage", {"nodeId": node, "depth": 1}),
    ):  # fmt: skip
        refused = engineer.get(path, params=params)
        assert refused.status_code == 404
        [error] = graphql(engineer, query, variables)["errors"]
        assert (error["extensions"]["code"], error["message"]) == ("NOT_FOUND", refused.json()["error"]["message"])


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.REVIEWER, Role.PIPELINE])
def test_a_role_without_lineage_read_is_forbidden_as_on_rest(actors, world, role):
    """Annotators and reviewers on the very dataset the model was trained on, and a pipeline that
    reports lineage but reads none."""
    on_dataset = role in (Role.ANNOTATOR, Role.REVIEWER)
    caller = actors(role, f"no-{role.value}", on=[world["dataset"]["id"]] if on_dataset else None)
    node = "job:training:sft"
    attempts = [
        ("{ models { name } }", {}, "/api/v1/models", {}),
        ("query($name: String!) { model(name: $name) { name } }", {"name": MODEL}, f"/api/v1/models/{MODEL}", {}),
        (TRACE, {"name": MODEL}, f"/api/v1/models/{MODEL}/trace", {}),
        (IMPACT, {"annotator": "ann"}, "/api/v1/impact", {"annotator": "ann"}),
        (LINEAGE, {"node": node, "depth": 1}, "/api/v1/lineage", {"nodeId": node, "depth": 1}),
    ]
    for query, variables, path, params in attempts:
        refused = caller.get(path, params=params)
        assert refused.status_code == 403, path
        body = graphql(caller, query, variables)
        [error] = body["errors"]
        assert (error["extensions"]["code"], error["message"]) == ("FORBIDDEN", refused.json()["error"]["message"])
        assert next(iter(body["data"].values())) is None


def test_a_trace_rows_cursor_is_the_trace_s_own(world):
    engineer = world["engineer"]
    page = data(engineer, ROWS, {"name": MODEL})["modelTraceRows"]
    of_datasets = DATASETS.cursor(uuid.UUID(world["dataset"]["id"]))
    of_another_model = TRACE_ROWS.cursor(("lin", "v1", world["records"][0], world["records"][1]), scope="acme/other")
    for cursor in [of_datasets, of_another_model, "!!", "W10", "9223372036854775808"]:
        body = graphql(engineer, ROWS, {"name": MODEL, "after": cursor})
        assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_INPUT"], body
        assert body["errors"][0]["extensions"]["details"] == {"cursor": cursor}
    datasets = "query($after: String) { datasets(first: 1, after: $after) { pageInfo { hasNextPage } } }"
    body = graphql(engineer, datasets, {"after": page["pageInfo"]["endCursor"]})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_INPUT"], body
