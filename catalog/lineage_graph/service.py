"""Models and traces: what a model was trained on, down to each label, and what a label reached.

Models are the outputs that training runs reported over OpenLineage (``lineage/``). A trace
walks the lineage graph upstream from the runs that produced a model to the labeltrail releases
they read (:mod:`catalog.lineage_graph.walk`), then summarises each release by SQL aggregation over
its manifest. Impact walks the other way. Releases in datasets the caller may not see are
counted, never shown.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import Select, String, func, literal, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require, scope_datasets
from catalog.core.errors import InvalidInput, NotFound
from catalog.core.models import (
    AnnotationRow,
    DatasetRow,
    LineageDatasetRow,
    LineageJobRow,
    LineageRunRow,
    ModelVersionRow,
    PrincipalRow,
    RecordRow,
    ReleaseRecordRow,
    ReleaseRevisionRow,
    ReleaseRow,
    RevisionRow,
)
from catalog.core.pagination import Keyset
from catalog.core.principal import Principal
from catalog.core.schemas import Page
from catalog.lineage_graph.schemas import (
    ImpactOut,
    ModelOut,
    ModelRef,
    ModelTrace,
    ModelVersionOut,
    ReleaseRef,
    ReleaseTrace,
    TraceRow,
    TrainingRun,
)
from catalog.lineage_graph.walk import downstream_runs, models_of, releases_read, upstream_runs
from catalog.releases.schemas import GateResult

NONE = "(none)"


def list_models(session: Session, *, principal: Principal) -> list[ModelOut]:
    require(principal, Action.LINEAGE_READ)
    rows = session.execute(_model_versions()).all()
    by_model: dict[tuple[str, str], list[ModelVersionOut]] = defaultdict(list)
    for namespace, version in rows:
        by_model[(namespace, version.name)].append(_version_dto(version))
    return [ModelOut(namespace=ns, name=name, versions=versions) for (ns, name), versions in by_model.items()]


def get_model(session: Session, *, principal: Principal, name: str) -> ModelOut:
    require(principal, Action.LINEAGE_READ)
    rows = session.execute(_model_versions().where(ModelVersionRow.name == name)).all()
    if not rows:
        raise NotFound(f"model '{name}' not found", {"name": name})
    return ModelOut(namespace=rows[0][0], name=name, versions=[_version_dto(version) for _, version in rows])


def trace_model(session: Session, *, principal: Principal, name: str, max_depth: int) -> ModelTrace:
    """The runs that produced model ``name`` and the releases upstream of them, each summarised."""
    model = get_model(session, principal=principal, name=name)
    run_ids = [version.run_id for version in model.versions]
    release_ids = list(session.scalars(releases_read(upstream_runs(run_ids, max_depth))))
    visible = _visible_releases(session, principal, release_ids)
    return ModelTrace(
        model=name,
        namespace=model.namespace,
        versions=sorted({version.version for version in model.versions if version.version}),
        runs=_runs(session, run_ids),
        releases=[_summary(session, release, dataset) for release, dataset in visible],
        hidden_releases=len(release_ids) - len(visible),
    )


def trace_rows(session: Session, *, principal: Principal, name: str, max_depth: int) -> Iterator[TraceRow]:
    """Every released label behind the model: (record, revision, annotator, guideline version), streamed."""
    model = get_model(session, principal=principal, name=name)
    release_ids = list(session.scalars(releases_read(upstream_runs([v.run_id for v in model.versions], max_depth))))
    for release, dataset in _visible_releases(session, principal, release_ids):
        yield from _rows(session, release, dataset)


# The cursors of trace_rows_page: a label's (dataset, tag, record, annotation), scoped to the model.
TRACE_ROWS = Keyset("trace_rows", str, str, uuid.UUID, uuid.UUID)
_TRACE_KEY = ("dataset", "tag", "record_id", "annotation_id")


def trace_rows_page(
    session: Session, *, principal: Principal, name: str, max_depth: int, limit: int, cursor: str | None = None
) -> Page[TraceRow]:
    """A page of :func:`trace_rows`, in its order (releases by dataset name, then record and annotation)."""
    model = get_model(session, principal=principal, name=name)
    release_ids = list(session.scalars(releases_read(upstream_runs([v.run_id for v in model.versions], max_depth))))
    releases = _visible_releases(session, principal, release_ids)
    position = TRACE_ROWS.after(cursor, name)
    after = None if position is None else dict(zip(_TRACE_KEY, position, strict=True))
    if after is not None:
        releases = releases[_cursor_release(releases, after, cursor):]
    found: list[TraceRow] = []
    for index, (release, dataset) in enumerate(releases):
        found += _rows(session, release, dataset, after=after if index == 0 else None, limit=limit + 1 - len(found))
        if len(found) > limit:
            break
    page = found[:limit]
    keys = [tuple(getattr(row, part) for part in _TRACE_KEY) for row in page]
    return TRACE_ROWS.paging(keys, more=len(found) > limit, scope=name).page(page)


def _cursor_release(releases: list[tuple], after: dict, cursor: str) -> int:
    """Where in the trace's releases the cursor's release stands."""
    for index, (release, dataset) in enumerate(releases):
        if (dataset, release.tag) == (after["dataset"], after["tag"]):
            return index
    raise InvalidInput("invalid cursor: it names a release outside this trace", {"cursor": cursor})


def impact(
    session: Session, *, principal: Principal, annotator: str | None = None, guideline_version: int | None = None,
    dataset: str | None = None, record: uuid.UUID | None = None, subject: str | None = None, max_depth: int,
) -> ImpactOut:  # fmt: skip
    """The releases holding what one annotator, guideline version, record or data subject contributed,
    and the models trained on them."""
    require(principal, Action.LINEAGE_READ)
    holding = _releases_holding(annotator, guideline_version, dataset, record, subject)
    return ImpactOut(releases=release_refs(session, principal, holding), models=models_reached(session, holding, max_depth))


def releases_with_records(records) -> Select:
    """The ids of the releases whose manifests name any of ``records`` (ids, or a select of them)."""
    return select(ReleaseRecordRow.release_id).where(ReleaseRecordRow.record_id.in_(records))


def release_refs(session: Session, principal: Principal, release_ids) -> list[ReleaseRef]:
    """The releases (ids, or a select of them) in datasets the principal may see, by dataset and age."""
    stmt = (
        select(ReleaseRow.dataset_id, DatasetRow.name, ReleaseRow.tag)
        .join(DatasetRow, DatasetRow.id == ReleaseRow.dataset_id)
        .where(ReleaseRow.id.in_(release_ids))
    )
    rows = session.execute(scope_datasets(stmt, principal, ReleaseRow.dataset_id).order_by(DatasetRow.name, ReleaseRow.id))
    return [ReleaseRef(dataset_id=dataset_id, dataset=name, tag=tag) for dataset_id, name, tag in rows]


def models_reached(session: Session, release_ids, max_depth: int) -> list[ModelRef]:
    """The model versions downstream of the releases (ids, or a select of them)."""
    rows = session.execute(
        select(LineageDatasetRow.namespace, ModelVersionRow.name, ModelVersionRow.version)
        .join(LineageDatasetRow, LineageDatasetRow.id == ModelVersionRow.dataset_id)
        .where(ModelVersionRow.id.in_(models_of(downstream_runs(release_ids, max_depth))))
        .distinct()
        .order_by(ModelVersionRow.name, ModelVersionRow.version)
    )
    return [ModelRef(namespace=ns, name=name, version=version) for ns, name, version in rows]


def _releases_holding(annotator, guideline_version, dataset, record, subject):
    """A select of the ids of releases holding exactly one kind of contribution."""
    given = [value is not None for value in (annotator, guideline_version, record, subject)]
    if sum(given) != 1:
        raise InvalidInput("name exactly one of annotator, guideline_version, record or subject")
    if record is not None or subject is not None:
        records = [record] if record is not None else select(RecordRow.id).where(RecordRow.meta["subject_id"].as_string() == subject)
        return releases_with_records(records)
    labels = select(ReleaseRevisionRow.release_id).join(AnnotationRow, AnnotationRow.id == ReleaseRevisionRow.annotation_id)
    if annotator is not None:
        return labels.join(PrincipalRow, PrincipalRow.id == AnnotationRow.annotator_id).where(PrincipalRow.name == annotator)
    labels = labels.join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id).where(
        RevisionRow.guideline_version == guideline_version
    )
    if dataset is not None:
        labels = labels.join(DatasetRow, DatasetRow.id == AnnotationRow.dataset_id).where(DatasetRow.name == dataset)
    return labels


def _model_versions():
    return (
        select(LineageDatasetRow.namespace, ModelVersionRow)
        .join(LineageDatasetRow, LineageDatasetRow.id == ModelVersionRow.dataset_id)
        .order_by(ModelVersionRow.name, ModelVersionRow.created_at)
    )


def _version_dto(row: ModelVersionRow) -> ModelVersionOut:
    return ModelVersionOut(version=row.version, run_id=row.run_id, created_at=row.created_at)


def _runs(session: Session, run_ids: list[uuid.UUID]) -> list[TrainingRun]:
    rows = session.execute(
        select(LineageRunRow, LineageJobRow.namespace, LineageJobRow.name)
        .join(LineageJobRow, LineageJobRow.id == LineageRunRow.job_id)
        .where(LineageRunRow.id.in_(run_ids))
        .order_by(LineageRunRow.started_at, LineageRunRow.id)
    )
    return [
        TrainingRun(run_id=run.id, job_namespace=namespace, job_name=job, state=run.state,
                    started_at=run.started_at, ended_at=run.ended_at)
        for run, namespace, job in rows
    ]  # fmt: skip


def _visible_releases(session: Session, principal: Principal, release_ids: list[uuid.UUID]) -> list[tuple]:
    stmt = select(ReleaseRow, DatasetRow.name).join(DatasetRow, DatasetRow.id == ReleaseRow.dataset_id)
    stmt = scope_datasets(stmt.where(ReleaseRow.id.in_(release_ids)), principal, ReleaseRow.dataset_id)
    return session.execute(stmt.order_by(DatasetRow.name, ReleaseRow.id)).all()


def _summary(session: Session, release: ReleaseRow, dataset: str) -> ReleaseTrace:
    """Counts of the release's labels by source, annotator and guideline version, in one GROUP BY
    (by annotator id; the few names are joined to the groups, not to every label)."""
    source = RevisionRow.source["kind"].as_string().label("source")
    grouped = (
        select(source, AnnotationRow.annotator_id, RevisionRow.guideline_version, func.count().label("n"))
        .select_from(ReleaseRevisionRow)
        .join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id)
        .join(AnnotationRow, AnnotationRow.id == ReleaseRevisionRow.annotation_id)
        .where(ReleaseRevisionRow.release_id == release.id)
        .group_by(source, AnnotationRow.annotator_id, RevisionRow.guideline_version)
        .subquery()
    )
    rows = session.execute(
        select(grouped.c.source, PrincipalRow.name, grouped.c.guideline_version, grouped.c.n)
        .join(PrincipalRow, PrincipalRow.id == grouped.c.annotator_id)
    ).all()
    by_source: dict[str, int] = defaultdict(int)
    guidelines: dict[str, int] = defaultdict(int)
    for kind, _annotator, version, count in rows:
        by_source[kind or NONE] += count
        guidelines[NONE if version is None else str(version)] += count
    return ReleaseTrace(
        dataset_id=release.dataset_id, dataset=dataset, tag=release.tag, root=release.root,
        records=release.records, annotations=release.annotations, by_source=dict(sorted(by_source.items())),
        annotators=sorted({annotator for _, annotator, _, _ in rows}), guideline_versions=dict(sorted(guidelines.items())),
        gates=[GateResult.model_validate(gate) for gate in release.gates], override=release.override,
    )  # fmt: skip


def _rows(
    session: Session, release: ReleaseRow, dataset: str, *, after: dict | None = None, limit: int | None = None
) -> list[TraceRow] | Iterator[TraceRow]:
    """The release's labels in (record, annotation) order; after a cursor's position and up to ``limit`` for a page.

    Read on the session's connection, not through the ORM, and the ids as the driver returns them
    (text on SQLite): building a UUID object per id per row cost more than the query."""
    stmt = (
        select(
            type_coerce(ReleaseRevisionRow.record_id, String), type_coerce(ReleaseRevisionRow.annotation_id, String),
            AnnotationRow.question, type_coerce(RevisionRow.id, String), RevisionRow.revision, PrincipalRow.name,
            RevisionRow.source["kind"].as_string(), RevisionRow.guideline_version,
        )  # fmt: skip
        .select_from(ReleaseRevisionRow)
        .join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id)
        .join(AnnotationRow, AnnotationRow.id == ReleaseRevisionRow.annotation_id)
        .join(PrincipalRow, PrincipalRow.id == AnnotationRow.annotator_id)
        .where(ReleaseRevisionRow.release_id == release.id)
        .order_by(ReleaseRevisionRow.record_id, ReleaseRevisionRow.annotation_id)
    )
    if after is not None:
        position = tuple_(ReleaseRevisionRow.record_id, ReleaseRevisionRow.annotation_id)
        stmt = stmt.where(position > tuple_(literal(after["record_id"]), literal(after["annotation_id"])))
    connection = session.connection()
    if limit is not None:
        return list(_trace_rows(connection.execute(stmt.limit(limit)), release.tag, dataset))
    return _trace_rows(connection.execute(stmt.execution_options(yield_per=5000)), release.tag, dataset)


def _trace_rows(rows, tag: str, dataset: str) -> Iterator[TraceRow]:
    for record_id, annotation_id, question, revision_id, revision, annotator, source, guideline in rows:
        yield TraceRow(
            dataset=dataset, tag=tag, record_id=record_id, annotation_id=annotation_id, question=question,
            revision_id=revision_id, revision=revision, annotator=annotator, source=source or NONE,
            guideline_version=guideline,
        )  # fmt: skip
