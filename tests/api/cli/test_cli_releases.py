"""`labeltrail release`, `diff` and `export` from the command line."""

import json

import pyarrow.parquet as pq
import pytest

from api.cli.support import operator_name
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA, chat_record


@pytest.fixture
def dataset(actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("cli-rel", TEXT_SCHEMA)
    ids = steward.records(dataset["id"], chat_record("One"), chat_record("Two", metadata={"split": "test"}))
    steward.annotate(ids[0], "response", "1")
    return {"steward": steward, "dataset": dataset, "ids": ids}


def test_release_prints_the_release_and_diff_compares_two(cli, dataset):
    first = cli("release", "cli-rel", "--tag", "v1", "--notes", "first cut")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["records"] == 2
    dataset["steward"].annotate(dataset["ids"][1], "response", "2")
    assert cli("release", "cli-rel", "--tag", "v2").exit_code == 0
    diff = json.loads(cli("diff", "cli-rel", "v1", "v2").output)
    assert (diff["records_changed"], diff["annotations_added"]) == (1, 1)


def test_a_refused_release_exits_2_with_its_reasons_and_an_admin_override_goes_through(cli, dataset):
    dataset["steward"].records(dataset["dataset"]["id"], chat_record("pending"), masked=False)
    refused = cli("release", "cli-rel", "--tag", "v1", "--as", "data_steward")
    assert refused.exit_code == 2 and "refused by its gates: masked: 1 records" in refused.stderr
    forced = cli("release", "cli-rel", "--tag", "v1", "--override-reason", "dry run for the trainer")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.output)["override"]["failed"] == ["masked"]


def test_unknown_releases_exit_2(cli, dataset):
    result = cli("diff", "cli-rel", "v1", "v2")
    assert result.exit_code == 2 and "release 'v1' not found" in result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_writes_every_row_with_its_labels(cli, dataset, tmp_path, fmt):
    assert cli("release", "cli-rel", "--tag", "v1").exit_code == 0
    out = tmp_path / f"v1.{fmt}"
    result = cli("export", "cli-rel", "--release", "v1", "--format", fmt, "--output", out)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"release": "v1", "rows": 2, "text": "raw", "output": str(out)}
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        labels = {row["messages"][0]["content"]: [label["value"] for label in row["labels"]] for row in rows}
    else:
        rows = pq.read_table(out).to_pylist()
        labels = {row["messages"][0]["content"]: [json.loads(label["value"]) for label in row["labels"]] for row in rows}
    assert labels == {"One": ["1"], "Two": []}


def test_a_release_records_who_cut_it_the_host_operator_or_the_principal_named_by_as(cli, dataset, client):
    """The CLI acts as the operating-system user running it (``os:<user>``), never an anonymous
    ``system``; ``--as`` names someone else."""
    mine = json.loads(ok(cli("release", "cli-rel", "--tag", "v1")))
    assert mine["created_by"] == f"os:{operator_name()}"
    theirs = json.loads(ok(cli("release", "cli-rel", "--tag", "v2", "--as", "data_steward")))
    assert theirs["created_by"] == "data_steward"
    # REST reads the same names back.
    steward = dataset["steward"]
    listed = client.get(f"/api/v1/datasets/{dataset['dataset']['id']}/releases", headers=steward.headers)
    assert [(r["tag"], r["created_by"]) for r in listed.json()] == [("v1", f"os:{operator_name()}"), ("v2", "data_steward")]


def ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout
