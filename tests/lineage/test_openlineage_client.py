"""openlineage-python's own HTTP transport, pointed at a running labeltrail, reports a training run
over a release through a tokenising step; the model then traces back to the release's labels."""

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_type_dataset, dataset_version_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from api.app import create_app
from catalog.core import migrate
from catalog.core.config import Settings
from catalog.core.db import make_engine, make_sessionmaker
from catalog.core.principal import Role
from tests.conftest import TEST_MASKING
from tests.support.builders import TEXT_SCHEMA, Actors, chat_record

PRODUCER = "https://github.com/acme/trainer"


@pytest.fixture
def served(empty_database_url) -> Iterator[tuple[str, TestClient, Actors, Settings]]:
    """labeltrail on a real port, on a database of its own."""
    migrate.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    settings = Settings(database_url=empty_database_url, pii_mode="pattern", log_level="WARNING")
    app = create_app(settings, sessions=make_sessionmaker(engine))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    client = TestClient(app)
    yield f"http://127.0.0.1:{port}", client, Actors(make_sessionmaker(engine), client, TEST_MASKING), settings
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def emit(client: OpenLineageClient, job: str, inputs: list, outputs: list) -> uuid.UUID:
    run = Run(runId=str(uuid.uuid4()))
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(RunEvent(
            eventType=state, eventTime="2026-12-01T10:00:00+00:00", run=run, job=Job(namespace="training", name=job),
            producer=PRODUCER, inputs=inputs, outputs=outputs,
        ))  # fmt: skip
    return uuid.UUID(run.runId)


def test_a_training_run_reported_by_openlineage_python_traces_back_to_its_labels(served):
    url, client, actors, settings = served
    steward = actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("sft-data", TEXT_SCHEMA)
    ids = steward.records(dataset["id"], chat_record("Hi"), chat_record("Add 2 and 3", metadata={"subject_id": "s-1"}))
    steward.annotate(ids[0], "response", "Hello", guideline_version=None)
    steward.annotate(ids[1], "response", "5", source={"kind": "model", "model": "draft-1"})
    release = steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    pipeline = actors(Role.PIPELINE, "trainer")

    reporter = OpenLineageClient(transport=HttpTransport(HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": pipeline.key}))))
    version = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="v1")
    release_input = InputDataset(namespace=settings.lineage_namespace, name="sft-data", facets={"version": version})
    tokens = OutputDataset(namespace="s3://ml", name="tokens/sft-data")
    model_type = dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL")
    model = OutputDataset(namespace="s3://ml", name="models/sft-7b", facets={"datasetType": model_type})
    emit(reporter, "tokenise", [release_input], [tokens])
    training = emit(reporter, "train", [InputDataset(namespace="s3://ml", name="tokens/sft-data")], [model])

    engineer = actors(Role.ML_ENGINEER, "mle")
    assert [m["name"] for m in engineer.ok(engineer.get("/api/v1/models"))] == ["models/sft-7b"]
    trace = engineer.ok(engineer.get("/api/v1/models/models/sft-7b/trace"))
    assert [run["run_id"] for run in trace["runs"]] == [str(training)] and trace["runs"][0]["state"] == "COMPLETE"
    [released] = trace["releases"]
    assert (released["tag"], released["root"], released["records"], released["annotations"]) == ("v1", release["root"], 2, 2)
    assert released["by_source"] == {"human": 1, "model": 1} and released["annotators"] == ["stew"]
    rows = engineer.get("/api/v1/models/models/sft-7b/trace", params={"detail": "rows"}).text.splitlines()
    assert len(rows) == 2 and all('"annotator":"stew"' in row for row in rows)

    auditor = actors(Role.COMPLIANCE_OFFICER, "auditor")
    reached = auditor.ok(auditor.get("/api/v1/impact", params={"record": ids[1]}))
    assert reached["releases"] == [{"dataset_id": dataset["id"], "dataset": "sft-data", "tag": "v1"}]
    assert reached["models"] == [{"namespace": "s3://ml", "name": "models/sft-7b", "version": ""}]
    assert auditor.ok(auditor.get("/api/v1/impact", params={"annotator": "stew"}))["models"] == reached["models"]
    assert auditor.ok(auditor.get("/api/v1/impact", params={"annotator": "nobody"})) == {"releases": [], "models": []}
    graph = engineer.ok(engineer.get("/api/v1/lineage", params={"nodeId": "dataset:s3://ml:models/sft-7b", "depth": 2}))
    nodes = {node["id"]: node for node in graph["graph"]}
    assert set(nodes) == {"dataset:s3://ml:models/sft-7b", "job:training:train", "dataset:s3://ml:tokens/sft-data"}
    assert nodes["job:training:train"]["in_edges"] == [
        {"origin": "dataset:s3://ml:tokens/sft-data", "destination": "job:training:train"}
    ]
    assert nodes["dataset:s3://ml:models/sft-7b"]["is_model"]
    wider = engineer.ok(engineer.get("/api/v1/lineage", params={"nodeId": "job:training:train", "depth": 3}))
    assert f"dataset:{settings.lineage_namespace}:sft-data" in {node["id"] for node in wider["graph"]}
    assert engineer.get("/api/v1/lineage", params={"nodeId": "job:training:nope"}).status_code == 404
    assert engineer.get("/api/v1/lineage", params={"nodeId": "table:x"}).status_code == 422

    erased = steward.ok(steward.client.delete("/api/v1/subjects/s-1", params={"reason": "DSR-9"}, headers=steward.headers))
    assert erased["releases"] == reached["releases"] and erased["models"] == reached["models"]
