"""Importing a file's content through GraphQL: the same service, report, permissions and dry run as REST."""

import pytest
from sqlalchemy import select

from catalog.core.models import AuditEntryRow
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA
from tests.support.graphql import data, error_codes, graphql

IMPORT = """mutation($datasetId: UUID!, $format: String!, $content: String!, $dryRun: Boolean!) {
  importRecords(datasetId: $datasetId, format: $format, content: $content, dryRun: $dryRun)
}"""
LINES = '{"instruction": "Say hi", "output": "Hi"}\n{"instruction": "Say bye", "output": "Bye"}\n'


@pytest.fixture
def steward(actors):
    return actors(Role.DATA_STEWARD, "stew")


@pytest.fixture
def dataset(steward):
    return steward.dataset("imported", TEXT_SCHEMA)


def run(caller, dataset, *, format="alpaca", content=LINES, dry_run=False) -> dict:
    variables = {"datasetId": dataset["id"], "format": format, "content": content, "dryRun": dry_run}
    return graphql(caller, IMPORT, variables)


def listed(steward, dataset) -> list[dict]:
    return steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"]


def test_an_import_through_graphql_reports_as_rest_does(steward, dataset, actors):
    report = data(steward, IMPORT, {"datasetId": dataset["id"], "format": "alpaca", "content": LINES,
                                    "dryRun": False})["importRecords"]
    other = steward.dataset("imported-by-rest", TEXT_SCHEMA)
    rest = steward.client.post(
        f"/api/v1/datasets/{other['id']}/imports", params={"format": "alpaca"}, content=LINES.encode(),
        headers=steward.headers,
    ).json()
    assert report == rest
    assert report["records_added"] == 2 and len(listed(steward, dataset)) == 2


def test_a_dry_run_through_graphql_reports_and_leaves_nothing(steward, dataset):
    report = run(steward, dataset, dry_run=True)["data"]["importRecords"]
    assert report["dry_run"] is True and report["records_added"] == 2
    assert listed(steward, dataset) == []


def test_an_annotator_may_not_import_and_the_refusal_is_audited(actors, steward, dataset, sessions):
    annotator = actors(Role.ANNOTATOR, "ann", on=[dataset["id"]])
    body = run(annotator, dataset)
    assert error_codes(body) == ["FORBIDDEN"] and body["data"]["importRecords"] is None
    assert listed(steward, dataset) == []
    with sessions() as session:
        denied = session.scalars(select(AuditEntryRow).where(AuditEntryRow.outcome == "denied")).all()
    assert [(e.actor_name, e.action) for e in denied] == [("ann", "import:run")]


def test_an_unknown_format_is_invalid_input_naming_it(steward, dataset):
    body = run(steward, dataset, format="csv")
    assert error_codes(body) == ["INVALID_INPUT"] and "format" in body["errors"][0]["message"]
    assert listed(steward, dataset) == []


def test_content_over_the_import_limit_is_refused_and_writes_nothing(steward, dataset):
    steward.client.app.state.settings.import_max_bytes = 50
    body = run(steward, dataset)
    assert error_codes(body) == ["INVALID_INPUT"] and body["data"]["importRecords"] is None
    assert "larger than the 50 bytes allowed" in body["errors"][0]["message"]
    assert listed(steward, dataset) == []
