"""The labeltrail command line, run inside the test's rolled-back transaction."""

import json

import pytest

from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA
from tests.support.importing import alpaca, prompts, write_lines


@pytest.fixture
def dataset(actors):
    return actors(Role.DATA_STEWARD).dataset("sft", TEXT_SCHEMA)


# --- users --------------------------------------------------------------------------------


def test_users_create_prints_a_key_alone_on_the_last_line_that_authenticates(cli, client):
    result = cli("users", "create", "dana", "--role", "data_steward")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lt_") and " " not in key
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert (me.json()["name"], me.json()["roles"]) == ("dana", ["data_steward"])


def test_users_create_refuses_a_name_already_taken(cli):
    assert cli("users", "create", "dana", "--role", "ml_engineer").exit_code == 0
    again = cli("users", "create", "dana", "--role", "compliance_officer")
    assert again.exit_code == 2
    assert "a principal named 'dana' already exists" in again.stderr
    assert "lt_" not in again.stdout


def test_users_create_refuses_an_unknown_role(cli):
    result = cli("users", "create", "dana", "--role", "wizard")
    assert result.exit_code == 2
    assert "wizard" in result.stderr and "--role" in result.stderr
    assert cli("users", "create", "dana", "--role", "ml_engineer").exit_code == 0  # nothing was created


def test_users_create_grants_annotators_per_dataset_only(cli, dataset, client):
    refused = cli("users", "create", "ann", "--role", "annotator")
    assert refused.exit_code == 2 and "granted per dataset only" in refused.stderr
    created = cli("users", "create", "ann", "--role", "annotator", "--dataset", "sft")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["roles"] == [] and me["dataset_roles"] == {dataset["id"]: ["annotator"]}


# --- import -------------------------------------------------------------------------------


def report_of(result) -> dict:
    return json.loads(result.stdout)


@pytest.fixture
def cli_import(cli, tmp_path):
    """``labeltrail import`` of these lines into dataset 'sft' as alpaca, with any further options."""

    def run(lines, *options):
        path = write_lines(tmp_path / "f.jsonl", *lines)
        return cli("import", path, "--dataset", "sft", "--format", "alpaca", *options)

    return run


def test_import_writes_records_and_prints_the_report(cli_import, session, dataset):
    result = cli_import([alpaca("a"), alpaca("b")])
    assert result.exit_code == 0, result.output
    assert report_of(result)["records_added"] == 2
    assert prompts(session, dataset["id"]) == ["a", "b"]


def test_import_dry_run_reports_what_the_import_would_do_and_writes_nothing(cli_import, session, dataset):
    lines = [alpaca("a"), "nope", alpaca("b")]
    dry = cli_import(lines, "--dry-run", "--batch-size", "1")
    assert (dry.exit_code, report_of(dry)["records_added"], report_of(dry)["dry_run"]) == (1, 2, True)
    assert prompts(session, dataset["id"]) == []
    real = cli_import(lines, "--batch-size", "1")
    assert {**report_of(dry), "dry_run": False} == report_of(real)


def test_import_exits_1_when_lines_were_rejected_and_keeps_the_good_ones(cli_import, session, dataset):
    result = cli_import([alpaca("a"), "nope"])
    assert result.exit_code == 1
    assert report_of(result)["errors"][0]["location"] == "line 2"
    assert prompts(session, dataset["id"]) == ["a"]


def test_import_into_an_unknown_dataset_exits_2_with_a_message(cli, tmp_path):
    path = write_lines(tmp_path / "f.jsonl", alpaca("a"))
    result = cli("import", path, "--dataset", "nope", "--format", "alpaca")
    assert result.exit_code == 2 and "dataset 'nope' not found" in result.stderr


def test_import_as_an_annotator_is_refused_and_writes_nothing(cli_import, actors, session, dataset):
    actors(Role.ANNOTATOR, "ann")
    result = cli_import([alpaca("a")], "--as", "ann")
    assert result.exit_code == 2 and "import:run" in result.stderr
    assert prompts(session, dataset["id"]) == []


def test_import_as_an_unknown_principal_is_a_usage_error(cli_import, dataset):
    result = cli_import([alpaca("a")], "--as", "ghost")
    assert result.exit_code == 2 and "no principal named 'ghost'" in result.stderr


def test_import_failing_midway_says_which_batches_stay_committed(cli_import, session, dataset):
    result = cli_import([alpaca("a", id="x"), alpaca("b", id="y"), alpaca("c", id="x")], "--batch-size", "2")
    assert result.exit_code == 2
    assert "1 batch(es) of up to 2 item(s) were committed" in result.stderr
    assert "external_id already used in this dataset: x" in result.stderr
    assert prompts(session, dataset["id"]) == ["a", "b"]


def test_import_failing_in_the_first_batch_writes_nothing_and_says_nothing_stayed(cli_import, session, dataset):
    result = cli_import([alpaca("a", id="x"), alpaca("c", id="x")])
    assert result.exit_code == 2 and "committed" not in result.stderr
    assert prompts(session, dataset["id"]) == []
