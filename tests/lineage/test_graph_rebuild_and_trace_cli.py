"""The derived graph is a cache of the raw events (rebuilt from them alone, it is the same), and
`labeltrail trace` reads it."""

import json

from sqlalchemy import select
from typer.testing import CliRunner

import api.cli.main
import api.cli.support
from catalog.core.models import LineageDatasetRow, LineageIoRow, LineageJobRow, LineageRunRow, ModelVersionRow
from catalog.core.principal import Role
from lineage.derive import ModelRules, rebuild
from tests.support.builders import TEXT_SCHEMA, chat_record
from tests.support.lineage import model_output, release_input, training_run


def snapshot(session) -> dict:
    """The derived rows without their generated ids."""
    jobs = session.execute(select(LineageJobRow.namespace, LineageJobRow.name, LineageJobRow.job_type)).all()
    runs = session.execute(select(LineageRunRow.id, LineageRunRow.state, LineageRunRow.started_at, LineageRunRow.ended_at)).all()
    datasets = session.execute(select(LineageDatasetRow.namespace, LineageDatasetRow.name, LineageDatasetRow.is_model)).all()
    edges = session.execute(
        select(LineageIoRow.run_id, LineageIoRow.direction, LineageDatasetRow.name, LineageIoRow.version, LineageIoRow.release_id)
        .join(LineageDatasetRow, LineageDatasetRow.id == LineageIoRow.dataset_id)
    ).all()
    models = session.execute(select(ModelVersionRow.name, ModelVersionRow.version, ModelVersionRow.run_id)).all()
    return {name: sorted(map(tuple, rows), key=str) for name, rows in
            (("jobs", jobs), ("runs", runs), ("datasets", datasets), ("edges", edges), ("models", models))}  # fmt: skip


def test_rebuilding_from_the_raw_events_gives_the_same_graph(actors, sessions, settings):
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("rebuilt", TEXT_SCHEMA)
    steward.records(dataset["id"], chat_record("Hi"))
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    engineer = actors(Role.ML_ENGINEER, "mle")
    tokens = {"namespace": "s3://ml", "name": "tokens"}
    for event in (
        training_run([release_input(settings.lineage_namespace, "rebuilt", "v1")], [tokens], "START"),
        training_run([tokens], [model_output("m")]),
    ):
        engineer.ok(engineer.post("/api/v1/lineage", event), 201)
    with sessions() as session:
        before = snapshot(session)
        assert before["models"] and any(edge[-1] for edge in before["edges"])  # a release was linked
        assert rebuild(session, ModelRules.from_settings(settings)) == 2
        session.flush()
        assert snapshot(session) == before


def test_labeltrail_trace_prints_the_releases_and_the_rows_behind_a_model(actors, cli, settings):
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("traced", TEXT_SCHEMA)
    [record_id] = steward.records(dataset["id"], chat_record("Hi"))
    steward.annotate(record_id, "response", "Hello")
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    engineer = actors(Role.ML_ENGINEER, "mle")
    run = training_run([release_input(settings.lineage_namespace, "traced", "v1")], [model_output("m1")])
    engineer.ok(engineer.post("/api/v1/lineage", run), 201)
    summary = cli("trace", "m1")
    assert summary.exit_code == 0, summary.output
    assert [r["tag"] for r in json.loads(summary.output)["releases"]] == ["v1"]
    rows = cli("trace", "m1", "--rows").output.splitlines()
    assert [json.loads(row)["record_id"] for row in rows] == [record_id]
    missing = cli("trace", "nope")
    assert missing.exit_code == 2 and "model 'nope' not found" in missing.stderr


def test_labeltrail_lineage_rebuild_replays_every_event(actors, monkeypatch, sessions, settings):
    engineer = actors(Role.ML_ENGINEER, "mle")
    engineer.ok(engineer.post("/api/v1/lineage", training_run([], [model_output("m2")])), 201)
    monkeypatch.setattr(api.cli.support, "sessions", lambda: sessions)
    monkeypatch.setattr(api.cli.support, "current_settings", lambda: settings)
    result = CliRunner().invoke(api.cli.main.app, ["lineage", "rebuild"])
    assert result.exit_code == 0 and result.output.strip() == "1 events replayed", result.output
    assert [m["name"] for m in engineer.ok(engineer.get("/api/v1/models"))] == ["m2"]
