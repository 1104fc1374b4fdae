"""An outbox row as OpenLineage run events: START at its start, then COMPLETE or FAIL at its end,
both under the row's run id, built with openlineage-python's generated models.

One function per kind of row says which job ran, what it read and what it wrote (the facets come
from :mod:`lineage.datasets_out`). START names the datasets; the last event carries their facets.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openlineage.client.constants import __version__ as CLIENT_VERSION
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
)
from sqlalchemy.orm import Session

from catalog.core.models import OutboxRow
from catalog.core.outbox import FAIL, Kind
from lineage import naming
from lineage.datasets_out import (
    RECORD_TEXTS,
    RELEASED_TEXTS,
    Known,
    Lifecycle,
    catalog_facets,
    lifecycle,
    masked_from,
    read_known,
    version,
)
from lineage.naming import PRODUCER


@dataclass(frozen=True)
class _Written:
    """A dataset a job wrote: its facets, and how many rows it wrote (when that is known)."""

    name: str
    facets: dict[str, DatasetFacet]
    rows: int | None


@dataclass(frozen=True)
class _Plan:
    job: str
    description: str
    reads: list[tuple[str, str]]  # (namespace, name)
    writes: list[_Written]


def events_for(session: Session, row: OutboxRow, namespace: str) -> list[RunEvent]:
    """Read what the row's events describe, and build them."""
    return build_events(row, read_known(session, *_referenced(row.facts)), namespace)


def build_events(row: OutboxRow, known: Known, namespace: str) -> list[RunEvent]:
    plan = _PLANS[Kind(row.kind)](row.facts, known, namespace)
    last = RunState.FAIL if row.outcome == FAIL else RunState.COMPLETE
    return [_event(row, plan, namespace, RunState.START), _event(row, plan, namespace, last)]


def _event(row: OutboxRow, plan: _Plan, namespace: str, state: RunState) -> RunEvent:
    started = state == RunState.START
    return RunEvent(
        eventType=state,
        eventTime=(row.started_at if started else row.ended_at).isoformat(),
        run=Run(runId=str(row.run_id), facets=_run_facets(row, state)),
        job=Job(namespace=namespace, name=plan.job, facets=_job_facets(row, plan)),
        inputs=[InputDataset(namespace=space, name=name) for space, name in plan.reads],
        outputs=[_output(namespace, written, facets=not started) for written in plan.writes],
        producer=PRODUCER,
    )


def _run_facets(row: OutboxRow, state: RunState) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=naming.VERSION, name="labeltrail", openlineageAdapterVersion=CLIENT_VERSION, producer=PRODUCER
        )
    }
    if state == RunState.FAIL:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=f"{row.kind} failed: {row.facts['error']}", programmingLanguage="python", producer=PRODUCER
        )
    return facets


def _job_facets(row: OutboxRow, plan: _Plan) -> dict[str, Any]:
    return {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="LABELTRAIL", jobType=row.kind.upper(), producer=PRODUCER
        ),
        "documentation": documentation_job.DocumentationJobFacet(description=plan.description, producer=PRODUCER),
    }


def _output(namespace: str, written: _Written, facets: bool) -> OutputDataset:
    if not facets:
        return OutputDataset(namespace=namespace, name=written.name)
    statistics = {}
    if written.rows is not None:
        statistics["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=written.rows, producer=PRODUCER
        )
    return OutputDataset(namespace=namespace, name=written.name, facets=written.facets, outputFacets=statistics)


def _referenced(facts: dict[str, Any]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The datasets and releases a row's facts name."""
    datasets = {facts["dataset_id"]} if "dataset_id" in facts else set(facts["datasets"])
    releases = {facts["release_id"]} if "release_id" in facts else set()
    return {uuid.UUID(i) for i in datasets}, {uuid.UUID(i) for i in releases}


def _import(facts: dict[str, Any], known: Known, namespace: str) -> _Plan:
    dataset = known.datasets[uuid.UUID(facts["dataset_id"])]
    counts = facts["counts"]
    written = counts["annotations_added"] + counts["annotations_revised"]
    guideline = "(none)" if facts["guideline_version"] is None else str(facts["guideline_version"])
    labels = {"bySource": {"import": written}, "guidelineVersions": {guideline: written}, "annotators": 1}
    facets = catalog_facets(namespace, dataset, known.owners[dataset.created_by], labels=labels, changes=_camel(counts))
    if counts["records_retired"] or counts["records_replaced"]:
        facets["lifecycleStateChange"] = lifecycle(Lifecycle.OVERWRITE)
    return _Plan(
        job=naming.import_job(dataset.name),
        description=f"Imports {facts['format']} items from a file into the dataset"
        + (", as its new upstream release (--sync)" if facts["sync"] else ""),
        reads=[(naming.FILE_NAMESPACE, facts["file"])],
        writes=[_Written(dataset.name, facets, counts["records_added"])],
    )


def _masking(facts: dict[str, Any], known: Known, namespace: str) -> _Plan:
    writes = []
    for dataset_id, counts in facts["datasets"].items():
        dataset = known.datasets[uuid.UUID(dataset_id)]
        facets = catalog_facets(
            namespace, dataset, known.owners[dataset.created_by], detectorVersion=facts["detector_version"],
            changes={"recordsMasked": counts["records"], "findings": counts["findings"]},
        )  # fmt: skip
        facets["columnLineage"] = masked_from(namespace, dataset.name, RECORD_TEXTS)
        writes.append(_Written(dataset.name, facets, counts["records"]))
    return _Plan(
        job=naming.MASKING_JOB,
        description="Masks the personal data Presidio finds in new records' texts",
        reads=[(namespace, written.name) for written in writes],
        writes=writes,
    )


def _release(facts: dict[str, Any], known: Known, namespace: str) -> _Plan:
    dataset = known.datasets[uuid.UUID(facts["dataset_id"])]
    profile = known.releases[uuid.UUID(facts["release_id"])].profile
    facets = catalog_facets(
        namespace, dataset, known.owners[dataset.created_by],
        release={"id": facts["release_id"], "tag": facts["tag"], "root": facts["root"], "overridden": facts["overridden"]},
        labels=_labels(profile), profile=_profile(profile),
    )  # fmt: skip
    facets["version"] = version(facts["tag"])
    facets["lifecycleStateChange"] = lifecycle(Lifecycle.CREATE)
    facets["columnLineage"] = masked_from(namespace, dataset.name, RELEASED_TEXTS)
    return _Plan(
        job=naming.release_job(dataset.name),
        description="Cuts an immutable, content-addressed release of the dataset's active records and their labels",
        reads=[(namespace, dataset.name)],
        writes=[_Written(dataset.name, facets, facts["records"])],
    )


def _erasure(facts: dict[str, Any], known: Known, namespace: str) -> _Plan:
    writes = []
    for dataset_id, counts in facts["datasets"].items():
        dataset = known.datasets[uuid.UUID(dataset_id)]
        facets = catalog_facets(
            namespace, dataset, known.owners[dataset.created_by], changes={"recordsErased": counts["records"]}
        )
        facets["lifecycleStateChange"] = lifecycle(Lifecycle.OVERWRITE)
        facets["columnLineage"] = masked_from(namespace, dataset.name, RECORD_TEXTS)
        writes.append(_Written(dataset.name, facets, counts["records"]))
    reads = [(namespace, written.name) for written in writes]
    for release in facts["releases"]:  # their exports hold only masked text from now on
        name = known.datasets[uuid.UUID(release["dataset_id"])].name
        facets = {"version": version(release["tag"]), "lifecycleStateChange": lifecycle(Lifecycle.OVERWRITE)}
        writes.append(_Written(name, facets, None))
    return _Plan(
        job=naming.ERASURE_JOB,
        description="Erases a data subject's raw text (GDPR): the masked text and the provenance stay",
        reads=reads,
        writes=writes,
    )


_PLANS: dict[Kind, Callable[[dict[str, Any], Known, str], _Plan]] = {
    Kind.IMPORT: _import,
    Kind.MASKING: _masking,
    Kind.RELEASE: _release,
    Kind.ERASURE: _erasure,
}


def _labels(profile: dict[str, Any]) -> dict[str, Any]:
    counts = profile["categorical"]
    return {
        "bySource": counts.get("source", {}),
        "guidelineVersions": counts.get("guideline_version", {}),
        "annotators": len(counts.get("annotator", {})),  # how many, never who
    }


def _profile(profile: dict[str, Any]) -> dict[str, Any]:
    counts = profile["categorical"]
    return {
        "records": profile["records"], "annotations": profile["annotations"], "splits": counts.get("split", {}),
        "taskTypes": counts.get("task_type", {}), "languages": counts.get("language", {}),
        "domains": counts.get("domain", {}), "piiEntities": counts.get("pii_entity", {}),
    }  # fmt: skip


def _camel(counts: dict[str, int]) -> dict[str, int]:
    return {_camel_case(name): value for name, value in counts.items()}


def _camel_case(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)
