"""The outbox: one row per import, masking batch, release and erasure, written in the transaction
that made the change, so a change rolled back leaves no row behind."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from catalog.core.db import transaction
from catalog.core.models import OutboxRow
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA, chat_record
from tests.support.importing import alpaca, jsonl, write_lines

SUBJECT = "s-ada-4711"


def outbox(sessions, kind: str | None = None) -> list[OutboxRow]:
    with transaction(sessions) as session:
        query = select(OutboxRow).order_by(OutboxRow.id)
        return list(session.scalars(query.where(OutboxRow.kind == kind) if kind else query))


@pytest.fixture
def steward(actors):
    return actors(Role.DATA_STEWARD, "stew")


@pytest.fixture
def dataset(steward):
    return steward.dataset("sft", TEXT_SCHEMA)


def imports_url(dataset, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"format": "alpaca", **params}.items())
    return f"/api/v1/datasets/{dataset['id']}/imports?{query}"


def test_a_release_writes_one_row_naming_it(sessions, steward, dataset):
    steward.records(dataset["id"], chat_record("What is 2 + 2?"))
    release = steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    [row] = outbox(sessions, "release")
    assert row.facts == {
        "dataset_id": dataset["id"], "release_id": release["id"], "tag": "v1", "root": release["root"],
        "records": 1, "annotations": 0, "overridden": False,
    }  # fmt: skip
    assert row.outcome == "COMPLETE" and row.delivered_at is None and row.attempts == 0
    assert row.started_at <= row.ended_at <= row.next_attempt_at


def test_a_refused_release_leaves_no_row(sessions, steward, dataset):
    steward.records(dataset["id"], chat_record("What is 2 + 2?"), masked=False)  # the masking gate refuses it
    assert steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}).status_code == 409
    assert outbox(sessions, "release") == []


def test_an_import_writes_one_row_with_its_counts(sessions, steward, dataset):
    body = jsonl(alpaca("Say hi", "Hi!"), alpaca("Say bye", "Bye!"), "{broken")
    steward.ok(steward.client.post(imports_url(dataset, file_name="hi.jsonl"), content=body, headers=steward.headers), 201)
    [row] = outbox(sessions, "import")
    assert row.facts["dataset_id"] == dataset["id"] and row.facts["file"] == "hi.jsonl" and row.facts["format"] == "alpaca"
    assert row.facts["counts"] | {"read": 3, "records_added": 2, "annotations_added": 2, "rejected": 1} == row.facts["counts"]
    assert "Say hi" not in json.dumps(row.facts)


def test_a_dry_run_or_a_rolled_back_import_leaves_no_row(sessions, settings, steward, dataset):
    steward.records(dataset["id"], {**chat_record("Taken"), "external_id": "taken"})
    headers = steward.headers
    dry_run = steward.client.post(imports_url(dataset, dry_run="true"), content=jsonl(alpaca("Fine")), headers=headers)
    assert steward.ok(dry_run, 201)["records_added"] == 1
    body = jsonl(alpaca("Fine", id="fresh"), alpaca("Clash", id="taken"))
    # Batches of one: the first batch is written in the request's transaction before the second fails.
    one_by_one = TestClient(create_app(settings.model_copy(update={"import_batch_size": 1}), sessions=sessions))
    assert one_by_one.post(imports_url(dataset), content=body, headers=headers).status_code == 409
    assert outbox(sessions, "import") == []
    assert [r["external_id"] for r in steward.ok(steward.get(f"/api/v1/datasets/{dataset['id']}/records"))["items"]] == [
        "taken"
    ]


def test_a_cli_import_that_fails_after_committed_batches_records_a_failed_run(tmp_path, sessions, cli, steward, dataset):
    steward.records(dataset["id"], {**chat_record("Taken"), "external_id": "taken"})
    path = write_lines(tmp_path / "upstream.jsonl", alpaca("Fine", id="fresh"), alpaca("Clash", id="taken"))
    result = cli("import", path, "--dataset", "sft", "--format", "alpaca", "--batch-size", 1)
    assert result.exit_code == 2 and "committed before this error" in result.output
    [row] = outbox(sessions, "import")
    assert row.outcome == "FAIL" and row.facts["error"] == "Conflict" and row.facts["file"] == "upstream.jsonl"
    assert row.facts["counts"]["records_added"] == 1


def test_each_masking_batch_that_masked_something_writes_a_row(sessions, steward, dataset, actors):
    other = steward.dataset("other", TEXT_SCHEMA)
    steward.records(dataset["id"], chat_record("Mail ada@example.com"), chat_record("Hi"), masked=False)
    steward.records(other["id"], chat_record("Hello"), masked=False)
    actors.mask()
    actors.mask()  # nothing pending: no row
    [row] = outbox(sessions, "masking")
    assert row.facts["detector_version"].startswith("presidio-")
    assert row.facts["datasets"] == {dataset["id"]: {"records": 2, "findings": 1}, other["id"]: {"records": 1, "findings": 0}}


def test_an_erasure_writes_a_row_that_never_names_the_subject(sessions, steward, dataset):
    [record] = steward.records(dataset["id"], chat_record("Mail ada@example.com", metadata={"subject_id": SUBJECT}))
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    for _ in range(2):  # the second erases nothing: no row
        steward.ok(steward.client.delete(f"/api/v1/subjects/{SUBJECT}", params={"reason": "DSR-1"}, headers=steward.headers))
    [row] = outbox(sessions, "erasure")
    assert row.facts == {"datasets": {dataset["id"]: {"records": 1}}, "releases": [{"dataset_id": dataset["id"], "tag": "v1"}]}
    assert SUBJECT not in json.dumps(row.facts) and record not in json.dumps(row.facts)
