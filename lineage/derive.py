"""The graph derived from raw events: jobs, runs, datasets, the edges between them, model versions.

Written in the transaction that stores the raw event, and only ever from it, so the derived
tables can be rebuilt by replaying ``lineage_events`` in order (:func:`rebuild`). Rows are
inserted with ``ON CONFLICT DO NOTHING`` so concurrent reporters naming the same job or dataset
do not collide. An input that names a labeltrail release (the catalog's namespace, the dataset's
name, and a ``version`` facet holding the release's tag or root) is linked to it.
"""

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from catalog.core.models import (
    DatasetRow,
    LineageDatasetRow,
    LineageEventRow,
    LineageIoRow,
    LineageJobRow,
    LineageRunRow,
    ModelVersionRow,
    ReleaseRow,
)
from lineage.spec import Dataset, DatasetEvent, Event, Facets, JobEvent, RunEvent, parse_event

TERMINAL = ("COMPLETE", "FAIL", "ABORT")


@dataclass(frozen=True)
class ModelRules:
    """What makes an output a model, and which namespace is the catalog's own."""

    namespace: str
    job_types: frozenset[str]
    name_pattern: re.Pattern | None = None

    @classmethod
    def from_settings(cls, settings) -> "ModelRules":
        pattern = re.compile(settings.lineage_model_name_pattern) if settings.lineage_model_name_pattern else None
        types = frozenset(kind.upper() for kind in settings.lineage_model_job_types)
        return cls(namespace=settings.lineage_namespace, job_types=types, name_pattern=pattern)


def derive(session: Session, row: LineageEventRow, event: Event, rules: ModelRules) -> None:
    if isinstance(event, DatasetEvent):
        _dataset(session, event.dataset, row.id, model=_marked_model(event.dataset.facets))
    elif isinstance(event, JobEvent):
        _job(session, event.job, row.id)
    else:
        _run_event(session, row, event, rules)


def rebuild(session: Session, rules: ModelRules) -> int:
    """Drop the derived graph and derive it again from the raw events, oldest first.

    Inputs are linked to the releases that exist now, so an event received before the release
    it names was cut is linked too."""
    for model in (ModelVersionRow, LineageIoRow, LineageRunRow, LineageDatasetRow, LineageJobRow):
        session.execute(delete(model))
    count = 0
    for row in session.scalars(select(LineageEventRow).order_by(LineageEventRow.id).execution_options(yield_per=500)):
        derive(session, row, parse_event(row.payload), rules)
        count += 1
    return count


def _run_event(session: Session, row: LineageEventRow, event: RunEvent, rules: ModelRules) -> None:
    job_id = _job(session, event.job, row.id)
    run_id = event.run.run_id
    _run(session, run_id, job_id, row)
    trains = (_facet_value(event.job.facets, "jobType", "jobType") or "").upper() in rules.job_types
    for dataset in event.inputs:
        dataset_id = _dataset(session, dataset, row.id)
        version = _version(dataset.facets)
        release_id = _release(session, rules, dataset, version)
        _edge(session, run_id, "input", dataset_id, version, release_id, row.id)
    for dataset in event.outputs:
        model = trains or _marked_model(dataset.facets) or bool(rules.name_pattern and rules.name_pattern.search(dataset.name))
        dataset_id = _dataset(session, dataset, row.id, model=model)
        version = _version(dataset.facets)
        _edge(session, run_id, "output", dataset_id, version, None, row.id)
        if model:
            _insert_missing(session, ModelVersionRow, {
                "id": uuid.uuid4(), "dataset_id": dataset_id, "name": dataset.name, "version": version,
                "run_id": run_id, "created_at": row.event_time,
            }, ["dataset_id", "version", "run_id"])  # fmt: skip


def _job(session: Session, job, event_id: uuid.UUID) -> uuid.UUID:
    job_type = _facet_value(job.facets, "jobType", "jobType")
    values = {"id": uuid.uuid4(), "namespace": job.namespace, "name": job.name, "job_type": job_type, "event_id": event_id}
    _insert_missing(session, LineageJobRow, values, ["namespace", "name"])
    return session.scalar(
        select(LineageJobRow.id).where(LineageJobRow.namespace == job.namespace, LineageJobRow.name == job.name)
    )


def _run(session: Session, run_id: uuid.UUID, job_id: uuid.UUID, row: LineageEventRow) -> None:
    _insert_missing(session, LineageRunRow, {"id": run_id, "job_id": job_id, "event_id": row.id}, ["id"])
    changes: dict[str, Any] = {"state": row.event_type} if row.event_type else {}
    if row.event_type == "START":
        changes["started_at"] = row.event_time
    elif row.event_type in TERMINAL:
        changes["ended_at"] = row.event_time
    if changes:
        session.execute(update(LineageRunRow).where(LineageRunRow.id == run_id).values(**changes))


def _dataset(session: Session, dataset: Dataset, event_id: uuid.UUID, *, model: bool = False) -> uuid.UUID:
    values = {"id": uuid.uuid4(), "namespace": dataset.namespace, "name": dataset.name, "is_model": model, "event_id": event_id}
    _insert_missing(session, LineageDatasetRow, values, ["namespace", "name"])
    where = (LineageDatasetRow.namespace == dataset.namespace, LineageDatasetRow.name == dataset.name)
    if model:
        session.execute(update(LineageDatasetRow).where(*where).values(is_model=True))
    return session.scalar(select(LineageDatasetRow.id).where(*where))


def _edge(session, run_id, direction, dataset_id, version, release_id, event_id) -> None:
    values = {
        "id": uuid.uuid4(), "run_id": run_id, "direction": direction, "dataset_id": dataset_id,
        "version": version, "release_id": release_id, "event_id": event_id,
    }  # fmt: skip
    _insert_missing(session, LineageIoRow, values, ["run_id", "direction", "dataset_id", "version"])


def _release(session: Session, rules: ModelRules, dataset: Dataset, version: str) -> uuid.UUID | None:
    """The labeltrail release an input names: our namespace, the dataset's name, its tag or root."""
    if dataset.namespace != rules.namespace or not version:
        return None
    return session.scalar(
        select(ReleaseRow.id)
        .join(DatasetRow, DatasetRow.id == ReleaseRow.dataset_id)
        .where(DatasetRow.name == dataset.name, or_(ReleaseRow.tag == version, ReleaseRow.root == version))
    )


def _version(facets: Facets) -> str:
    return str(_facet_value(facets, "version", "datasetVersion") or "")


def _marked_model(facets: Facets) -> bool:
    return str(_facet_value(facets, "datasetType", "datasetType") or "").upper() == "MODEL"


def _facet_value(facets: Facets, facet: str, field: str) -> Any:
    found = facets.get(facet)
    return (found.model_extra or {}).get(field) if found is not None and not found.deleted else None


def _insert_missing(session: Session, model, values: dict[str, Any], keys: list[str]) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))
