"""Releases through GraphQL: cutting and its refusal, the diff, and the manifest and rows pages
against REST's JSON Lines streams, masked or raw, with raw reads audited."""

import json

import pytest
from sqlalchemy import func, select

from catalog.access.policy import Action
from catalog.core.models import AuditEntryRow
from catalog.core.principal import Role
from catalog.releases.schemas import ExportRow, ReleaseDiff, ReleaseOut
from tests.support.builders import TEXT_SCHEMA, chat_record, undone
from tests.support.graphql import data, graphql, graphql_case, selection

EMAIL = "jane.release@example.com"
CUT = f"""mutation($id: UUID!, $input: CutReleaseInput!) {{
  cutRelease(datasetId: $id, input: $input) {{ {selection(ReleaseOut)} }}
}}"""
DIFF = f"""query($id: UUID!, $base: String!, $target: String!, $share: Float!) {{
  releaseDiff(datasetId: $id, base: $base, target: $target, driftShare: $share) {{ {selection(ReleaseDiff)} }}
}}"""


def paged(field: str, node: str = "") -> str:
    """A page of ``field`` two at a time, after ``$after``."""
    return f"""query($id: UUID!, $tag: String!, $after: String) {{
  page: {field}(datasetId: $id, tag: $tag, first: 2, after: $after) {{
    edges {{ node {node} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


MANIFEST = paged("releaseManifest")
ROWS = paged("releaseRows", f"{{ {selection(ExportRow)} }}")


@pytest.fixture(scope="module")
def world(module_actors):
    """Three masked records, the first holding an email address in its prompt and in its one answer.

    Built once per module; each test runs in a savepoint over it that is rolled back (``sessions``)."""
    actors = module_actors
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("rel", TEXT_SCHEMA)
    ids = steward.records(
        dataset["id"],
        chat_record(f"Mail {EMAIL}", metadata={"split": "test"}), chat_record("Name a prime."), chat_record("Say hello."),
    )
    annotator = actors(Role.ANNOTATOR, "ann", on=[dataset["id"]])
    annotator.annotate(ids[0], "response", f"Wrote to {EMAIL}")
    steward.mask()
    url = f"/api/v1/datasets/{dataset['id']}/releases"
    return {"id": dataset["id"], "url": url, "records": ids, "annotator": annotator, "steward": steward}


@pytest.fixture(autouse=True)  # every test, even one that asks only for the world: the callers in it write
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def steward(world):
    return world["steward"]


def cut_v1(steward, world) -> dict:
    return steward.ok(steward.post(world["url"], {"tag": "v1"}), 201)


def jsonl(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def all_pages(caller, query: str, world) -> tuple[list, int]:
    """Every node of a paged query, following endCursor; and how many pages it took."""
    nodes, after, count = [], None, 0
    while True:
        page = data(caller, query, {"id": world["id"], "tag": "v1", "after": after})["page"]
        nodes += [edge["node"] for edge in page["edges"]]
        count += 1
        if not page["pageInfo"]["hasNextPage"]:
            return nodes, count
        after = page["pageInfo"]["endCursor"]


def audit_head(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.coalesce(func.max(AuditEntryRow.seq), 0)))


def audit_entries(sessions, after_seq: int) -> list[AuditEntryRow]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntryRow).where(AuditEntryRow.seq > after_seq).order_by(AuditEntryRow.seq)))


def raw_reads(sessions, resource: str) -> list[AuditEntryRow]:
    with sessions() as session:
        found = select(AuditEntryRow).where(AuditEntryRow.action == Action.READ_RAW, AuditEntryRow.resource == resource)
        return list(session.scalars(found))


def test_a_release_cut_through_graphql_is_the_one_rest_reads(steward, world):
    cut = data(steward, CUT, {"id": world["id"], "input": {"tag": "v1", "notes": "first"}})["cutRelease"]
    assert (cut["tag"], cut["notes"], cut["records"], cut["annotations"]) == ("v1", "first", 3, 1)
    assert cut == graphql_case(steward.ok(steward.get(f"{world['url']}/v1")))


def test_a_refused_release_is_rests_conflict_with_the_failing_gates_named(steward, world, sessions):
    steward.records(world["id"], chat_record("Not masked yet"), masked=False)
    refused = steward.post(world["url"], {"tag": "v1"})
    assert refused.status_code == 409
    rest, head = refused.json()["error"], audit_head(sessions)
    [error] = graphql(steward, CUT, {"id": world["id"], "input": {"tag": "v1"}})["errors"]
    assert error["message"] == rest["message"]
    assert error["extensions"] == {"code": "CONFLICT", "details": rest["details"]}
    assert [gate["gate"] for gate in error["extensions"]["details"]["gates"]] == ["masked"]
    [entry] = audit_entries(sessions, head)
    assert (entry.outcome, entry.resource, entry.details["code"]) == ("failed", f"dataset:{world['id']}", "CONFLICT")
    assert data(steward, "query($id: UUID!) { releases(datasetId: $id) { tag } }", {"id": world["id"]})["releases"] == []


def test_the_diff_through_graphql_is_rests(steward, world):
    cut_v1(steward, world)
    world["annotator"].annotate(world["records"][1], "response", "7")
    steward.records(world["id"], chat_record("One more."))
    steward.ok(steward.post(world["url"], {"tag": "v2"}), 201)
    rest = steward.ok(steward.get(f"{world['url']}/v1/diff/v2", params={"drift_share": 0.3}))
    diff = data(steward, DIFF, {"id": world["id"], "base": "v1", "target": "v2", "share": 0.3})["releaseDiff"]
    assert (diff["recordsAdded"], diff["annotationsAdded"], diff["shift"]["driftShare"]) == (1, 1, 0.3)
    assert diff == graphql_case(rest)


@pytest.mark.parametrize("share", [0, 1.5])
def test_a_drift_share_rest_refuses_is_invalid_input(steward, world, share):
    cut_v1(steward, world)
    assert steward.get(f"{world['url']}/v1/diff/v1", params={"drift_share": share}).status_code == 422
    body = graphql(steward, DIFF, {"id": world["id"], "base": "v1", "target": "v1", "share": share})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_INPUT"]


def test_the_manifest_pages_are_rests_manifest(steward, world):
    cut_v1(steward, world)
    leaves, count = all_pages(steward, MANIFEST, world)
    assert leaves == jsonl(steward.get(f"{world['url']}/v1/manifest")) and count == 2


@pytest.mark.parametrize(("role", "text"), [(Role.ML_ENGINEER, "masked"), (Role.DATA_STEWARD, "raw")])
def test_the_rows_pages_are_rests_export_masked_or_raw(actors, steward, world, role, text):
    cut_v1(steward, world)
    caller = actors(role, f"reader-{role.value}")
    rows, count = all_pages(caller, ROWS, world)
    assert rows == graphql_case(jsonl(caller.get(f"{world['url']}/v1/export"))) and count == 2
    assert {row["text"] for row in rows} == {text}
    assert (EMAIL in json.dumps(rows)) is (text == "raw")


def test_raw_rows_are_audited_and_masked_ones_are_not(actors, steward, world, sessions):
    resource = f"release:{cut_v1(steward, world)['id']}"
    all_pages(actors(Role.ML_ENGINEER, "engineer"), ROWS, world)
    assert raw_reads(sessions, resource) == []
    _, count = all_pages(steward, ROWS, world)
    assert [entry.actor_name for entry in raw_reads(sessions, resource)] == ["stew"] * count


def edges_query(field: str, node: str = "") -> str:
    return f"""query($id: UUID!, $tag: String!, $after: String) {{
  page: {field}(datasetId: $id, tag: $tag, first: 3, after: $after) {{ edges {{ cursor node {node} }} }}
}}"""


EDGES = {"releaseManifest": edges_query("releaseManifest"), "releaseRows": edges_query("releaseRows", "{ recordId }")}


@pytest.mark.parametrize("field", list(EDGES))
def test_each_edge_s_cursor_resumes_right_after_it(steward, world, field):
    cut_v1(steward, world)
    edges = data(steward, EDGES[field], {"id": world["id"], "tag": "v1"})["page"]["edges"]
    assert len(edges) == 3
    for index, edge in enumerate(edges):
        rest = data(steward, EDGES[field], {"id": world["id"], "tag": "v1", "after": edge["cursor"]})["page"]["edges"]
        assert rest == edges[index + 1:]


def test_a_release_page_s_cursor_is_refused_by_another_list_or_release(steward, world):
    cut_v1(steward, world)
    steward.records(world["id"], chat_record("One more."))
    steward.ok(steward.post(world["url"], {"tag": "v2"}), 201)
    v1 = {"id": world["id"], "tag": "v1"}

    def end_cursor(query: str, variables: dict) -> str:
        return data(steward, query, variables)["page"]["pageInfo"]["endCursor"]

    of_manifest, of_rows = end_cursor(MANIFEST, v1), end_cursor(ROWS, v1)
    of_v2 = end_cursor(MANIFEST, {**v1, "tag": "v2"})
    of_records = steward.ok(steward.get(f"/api/v1/datasets/{world['id']}/records", params={"limit": 1}))["next_cursor"]
    for query, cursor in [(ROWS, of_manifest), (MANIFEST, of_rows), (MANIFEST, of_v2), (ROWS, of_records),
                          (MANIFEST, "!!"), (ROWS, "9223372036854775808")]:  # fmt: skip
        body = graphql(steward, query, {**v1, "after": cursor})
        assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_INPUT"], body
        assert body["errors"][0]["extensions"]["details"] == {"cursor": cursor}
