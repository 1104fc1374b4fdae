"""OpenLineage events as training pipelines send them, for tests that need a model in the graph."""

import uuid

PRODUCER = "https://github.com/acme/trainer"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def facet(name: str, **fields) -> dict:
    schema = f"https://openlineage.io/spec/facets/1-0-0/{name}.json#/$defs/{name}"
    return {"_producer": PRODUCER, "_schemaURL": schema, **fields}


def release_input(namespace: str, dataset: str, tag: str) -> dict:
    """An input naming a labeltrail release: the catalog's namespace, the dataset's name, the tag as version."""
    return {"namespace": namespace, "name": dataset, "facets": {"version": facet("DatasetVersionDatasetFacet", datasetVersion=tag)}}


def model_output(name: str, namespace: str = "s3://ml") -> dict:
    return {"namespace": namespace, "name": name, "facets": {"datasetType": facet("DatasetTypeDatasetFacet", datasetType="MODEL")}}


def training_run(inputs: list[dict], outputs: list[dict], event_type: str = "COMPLETE", run_id=None) -> dict:
    return {
        "eventType": event_type, "eventTime": "2026-12-01T10:00:00Z", "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA, "run": {"runId": str(run_id or uuid.uuid4())},
        "job": {"namespace": "training", "name": "sft"}, "inputs": inputs, "outputs": outputs,
    }  # fmt: skip
