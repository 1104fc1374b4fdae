"""One cursor scheme on every paged list, REST and GraphQL: each list's cursor leads to its next
page, GraphQL's cursors are REST's, a cursor from one list is refused by another, garbage is
INVALID_INPUT (never a 500), and /audit still takes the deprecated plain seq."""

import pytest

from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA, chat_record
from tests.support.graphql import data, error_codes, graphql

DATASETS = "/api/v1/datasets"
AUDIT = "/api/v1/audit"
PAGE = "edges { cursor node { id } } pageInfo { hasNextPage endCursor }"
GQL_DATASETS = f"query($after: String) {{ page: datasets(first: 1, after: $after) {{ {PAGE} }} }}"
GQL_RECORDS = f"""query($id: UUID!, $after: String) {{
  dataset(id: $id) {{ page: records(first: 1, after: $after) {{ {PAGE} }} }} }}"""
GQL_AUDIT = """query($after: String) { page: auditEntries(first: 1, after: $after) {
  edges { cursor node { seq } } pageInfo { hasNextPage endCursor } } }"""
GARBAGE = ["!!", "é", "x" * 5000, "9223372036854775808", "99999999999999999999999", "-1", "²", "bnVsbA", "W10"]


@pytest.fixture
def world(actors) -> dict:
    steward = actors(Role.DATA_STEWARD, "stew")
    first, second = steward.dataset("one", TEXT_SCHEMA), steward.dataset("two", TEXT_SCHEMA)
    ids = steward.records(first["id"], chat_record("a"), chat_record("b"), chat_record("c"))
    steward.records(second["id"], chat_record("d"), chat_record("e"))
    auditor = actors(Role.COMPLIANCE_OFFICER, "auditor")
    return {"steward": steward, "auditor": auditor, "datasets": [first["id"], second["id"]], "records": ids}


def records_url(dataset_id: str) -> str:
    return f"/api/v1/datasets/{dataset_id}/records"


def walk(caller, path: str, key: str = "id", **params) -> tuple[list, list[str]]:
    """Every item of a REST list a page of one at a time, and the cursors it followed."""
    seen, cursors, cursor = [], [], None
    while True:
        page = caller.ok(caller.get(path, params={"limit": 1, **params, **({"cursor": cursor} if cursor else {})}))
        seen += [item[key] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            return seen, cursors
        cursors.append(cursor)


def gql_walk(caller, query: str, variables: dict, key: str = "id") -> tuple[list, list[str]]:
    seen, cursors, after = [], [], None
    while True:
        page = data(caller, query, {**variables, "after": after})
        page = page["dataset"]["page"] if "dataset" in page else page["page"]
        seen += [edge["node"][key] for edge in page["edges"]]
        assert [edge["cursor"] for edge in page["edges"]][-1:] == ([page["pageInfo"]["endCursor"]] if page["edges"] else [])
        if not page["pageInfo"]["hasNextPage"]:
            return seen, cursors
        after = page["pageInfo"]["endCursor"]
        cursors.append(after)


def refused(response, cursor: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("INVALID_INPUT", {"cursor": cursor})
    assert error["message"].startswith("invalid cursor")


def gql_refused(caller, query: str, variables: dict, cursor: str) -> None:
    body = graphql(caller, query, {**variables, "after": cursor})
    assert error_codes(body) == ["INVALID_INPUT"], body
    assert body["errors"][0]["message"].startswith("invalid cursor")
    assert body["errors"][0]["extensions"]["details"] == {"cursor": cursor}


def test_every_rest_list_follows_its_cursor_to_the_next_page_and_graphql_s_cursors_are_the_same(world):
    steward, auditor = world["steward"], world["auditor"]
    one = world["datasets"][0]
    datasets, rest_cursors = walk(steward, DATASETS)
    assert datasets == world["datasets"]
    assert gql_walk(steward, GQL_DATASETS, {}) == (datasets, rest_cursors)
    records, rest_cursors = walk(steward, records_url(one))
    assert records == world["records"] and len(rest_cursors) == 2
    assert gql_walk(steward, GQL_RECORDS, {"id": one}) == (records, rest_cursors)
    entries, rest_cursors = walk(auditor, AUDIT, key="seq")
    assert entries == sorted(entries) and len(entries) == len(set(entries)) >= 3
    assert gql_walk(auditor, GQL_AUDIT, {}, key="seq") == (entries, rest_cursors)


def test_a_cursor_is_opaque_not_an_id_or_a_seq(world):
    steward, auditor = world["steward"], world["auditor"]
    cursor = steward.ok(steward.get(DATASETS, params={"limit": 1}))["next_cursor"]
    assert world["datasets"][0] not in cursor and world["datasets"][0].replace("-", "") not in cursor
    assert not auditor.ok(auditor.get(AUDIT, params={"limit": 1}))["next_cursor"].isdigit()


def test_a_cursor_from_one_list_is_refused_by_another(world):
    steward, auditor = world["steward"], world["auditor"]
    one, two = world["datasets"]
    of_datasets = steward.ok(steward.get(DATASETS, params={"limit": 1}))["next_cursor"]
    of_records = steward.ok(steward.get(records_url(one), params={"limit": 1}))["next_cursor"]
    of_audit = auditor.ok(auditor.get(AUDIT, params={"limit": 1}))["next_cursor"]
    for caller, path, cursor in [
        (steward, records_url(one), of_datasets), (steward, DATASETS, of_records), (auditor, AUDIT, of_records),
        (auditor, AUDIT, of_datasets), (steward, DATASETS, of_audit),
        (steward, records_url(two), of_records),  # another dataset's records are another list
    ]:  # fmt: skip
        refused(caller.get(path, params={"cursor": cursor}), cursor)
    gql_refused(steward, GQL_DATASETS, {}, of_records)
    gql_refused(steward, GQL_RECORDS, {"id": two}, of_records)
    gql_refused(auditor, GQL_AUDIT, {}, of_datasets)


@pytest.mark.parametrize("cursor", GARBAGE)
def test_garbage_and_overflowing_cursors_are_invalid_input_on_every_list(world, cursor):
    steward, auditor = world["steward"], world["auditor"]
    refused(steward.get(DATASETS, params={"cursor": cursor}), cursor)
    refused(steward.get(records_url(world["datasets"][0]), params={"cursor": cursor}), cursor)
    refused(auditor.get(AUDIT, params={"cursor": cursor}), cursor)
    gql_refused(steward, GQL_DATASETS, {}, cursor)
    gql_refused(steward, GQL_RECORDS, {"id": world["datasets"][0]}, cursor)
    gql_refused(auditor, GQL_AUDIT, {}, cursor)


def test_audit_still_takes_the_deprecated_plain_seq(world):
    auditor = world["auditor"]
    entries, cursors = walk(auditor, AUDIT, key="seq")
    for index, seq in enumerate(entries[:-1]):
        by_seq = auditor.ok(auditor.get(AUDIT, params={"cursor": str(seq), "limit": 1}))
        assert by_seq["items"][0]["seq"] == entries[index + 1]
        assert by_seq == auditor.ok(auditor.get(AUDIT, params={"cursor": cursors[index], "limit": 1}))
    assert auditor.ok(auditor.get(AUDIT, params={"cursor": "0"}))["items"][0]["seq"] == entries[0]
    assert data(auditor, GQL_AUDIT, {"after": str(entries[0])})["page"]["edges"][0]["node"]["seq"] == entries[1]
    assert auditor.ok(auditor.get(AUDIT, params={"cursor": "9223372036854775807"})) == {"items": [], "next_cursor": None}
