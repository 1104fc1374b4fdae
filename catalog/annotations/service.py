"""Annotations and their append-only revisions: create, edit, review, read current values and history."""

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require, require_review, scope_datasets
from catalog.access.service import principal_names
from catalog.access.serving import RevisionText, Serving
from catalog.annotations.schemas import (
    AnnotationCreate,
    AnnotationEdit,
    AnnotationOut,
    History,
    ReviewCreate,
    RevisionOut,
    Source,
    Status,
)
from catalog.annotations.spans import maskings_of, spans_to_masked, spans_to_raw
from catalog.core import audit_log
from catalog.core.errors import Conflict, NotFound
from catalog.core.models import AnnotationRow, DatasetRow, RecordRow, RevisionRow, new_id, utcnow
from catalog.core.principal import Principal
from catalog.core.provenance import revision_sha256
from catalog.datasets.guidelines import resolve_version
from catalog.datasets.label_schema import validate_value
from catalog.datasets.service import label_schema_of
from catalog.pii_gate.service import mask_revision_now
from catalog.records.service import visible_record, visible_record_keys


def create_annotation(
    session: Session, *, principal: Principal, record_id: uuid.UUID, data: AnnotationCreate
) -> AnnotationOut:
    record = visible_record(session, principal, record_id)
    require(principal, Action.ANNOTATION_CREATE, dataset_id=record.dataset_id)
    if record.retired_at is not None:
        raise Conflict("the record is retired and takes no new annotations", {"record_id": str(record_id)})
    dataset = session.get_one(DatasetRow, record.dataset_id)
    value = _validated(session, principal, dataset, record, data.question, data.value)
    annotation, revision = new_annotation_rows(
        dataset=dataset,
        record=record,
        question=data.question,
        actor_id=principal.id,
        source=data.source.model_dump(exclude_none=True),
        value=value,
        status=data.status.value,
        guideline_version=resolve_version(session, dataset.id, data.guideline_version),
        now=utcnow(),
    )
    mask_revision_now(session, revision)
    session.execute(insert(AnnotationRow), [annotation])
    session.execute(insert(RevisionRow), [revision])
    _audit_revision(session, principal, dataset.id, Action.ANNOTATION_CREATE, revision)
    return get_annotation(session, principal=principal, annotation_id=annotation["id"])


def _validated(
    session: Session, principal: Principal, dataset: DatasetRow, record: RecordRow, question_name: str, value: Any
) -> Any:
    """The value checked against its question; spans chosen on masked text are moved to raw offsets first."""
    question = label_schema_of(dataset).question(question_name)
    if question.kind == "span" and not Serving(session, principal).raw(dataset.id):
        value = spans_to_raw(session, record, value)
    return validate_value(question, value, record.content)


def new_annotation_rows(
    *,
    dataset: DatasetRow,
    record: RecordRow | dict[str, Any],
    question: str,
    actor_id: uuid.UUID,
    source: dict[str, Any],
    value: Any,
    status: str,
    guideline_version: int | None,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The annotation row and its first revision, for a value already validated."""
    record_id, record_sha256 = (
        (record["id"], record["content_sha256"]) if isinstance(record, dict) else (record.id, record.content_sha256)
    )
    annotation = {
        "id": new_id(),
        "dataset_id": dataset.id,
        "record_id": record_id,
        "question": question,
        "annotator_id": actor_id,
        "source": source,
        "created_at": now,
    }
    revision = revision_row(
        annotation_id=annotation["id"],
        record_sha256=record_sha256,
        question=question,
        revision=1,
        kind="create",
        actor_id=actor_id,
        source=source,
        guideline_version=guideline_version,
        value=value,
        status=status,
        reason=None,
        created_at=now,
        previous_sha256=None,
        salt=dataset.text_salt,
    )
    return annotation, revision


def revision_row(**fields: Any) -> dict[str, Any]:
    """A revision row with its chained hash; ``fields`` are those :func:`revision_sha256` covers."""
    salt = fields.pop("salt")
    row = {key: value for key, value in fields.items() if key not in ("record_sha256", "question")}
    return {"id": new_id(), **row, "sha256": revision_sha256(**fields, salt=salt)}


def edit_annotation(
    session: Session, *, principal: Principal, annotation_id: uuid.UUID, data: AnnotationEdit
) -> AnnotationOut:
    annotation, record, dataset = _visible_annotation(session, principal, annotation_id)
    require(principal, Action.ANNOTATION_EDIT, dataset_id=dataset.id, owner_id=annotation.annotator_id)
    current = _current_revision(session, annotation_id)
    _refuse_stale(session, principal, data.base_revision, current)
    value = current.value
    if "value" in data.model_fields_set:
        value = _validated(session, principal, dataset, record, annotation.question, data.value)
    status = data.status.value if data.status else _status_after_edit(current, value)
    append_revision(
        session,
        principal=principal,
        annotation=annotation,
        record=record,
        dataset=dataset,
        current=current,
        kind="edit",
        source={"kind": "human"},
        value=value,
        status=status,
        reason=data.reason,
        guideline_version=resolve_version(session, dataset.id, data.guideline_version),
    )
    return get_annotation(session, principal=principal, annotation_id=annotation_id)


def _status_after_edit(current: RevisionRow, value: Any) -> str:
    """A changed value needs a new review: accepted or rejected work goes back to submitted."""
    if value != current.value and current.status in (Status.ACCEPTED, Status.REJECTED):
        return Status.SUBMITTED.value
    return current.status


def review_annotation(
    session: Session, *, principal: Principal, annotation_id: uuid.UUID, data: ReviewCreate
) -> AnnotationOut:
    annotation, record, dataset = _visible_annotation(session, principal, annotation_id)
    require_review(principal, dataset_id=dataset.id, annotator_id=annotation.annotator_id)
    current = _current_revision(session, annotation_id)
    _refuse_stale(session, principal, data.base_revision, current)
    append_revision(
        session,
        principal=principal,
        annotation=annotation,
        record=record,
        dataset=dataset,
        current=current,
        kind="review",
        source={"kind": "human"},
        value=current.value,
        status=(Status.ACCEPTED if data.decision == "accept" else Status.REJECTED).value,
        reason=data.comment,
        guideline_version=resolve_version(session, dataset.id, None),
    )
    return get_annotation(session, principal=principal, annotation_id=annotation_id)


def append_revision(
    session: Session,
    *,
    principal: Principal,
    annotation: AnnotationRow,
    record: RecordRow,
    dataset: DatasetRow,
    current: RevisionRow,
    kind: str,
    source: dict[str, Any],
    value: Any,
    status: str,
    reason: str | None,
    guideline_version: int | None,
) -> None:
    """Add the revision after ``current``. Losing a race to another writer is a 409, never a fork."""
    row = revision_row(
        annotation_id=annotation.id,
        record_sha256=record.content_sha256,
        question=annotation.question,
        revision=current.revision + 1,
        kind=kind,
        actor_id=principal.id,
        source=source,
        guideline_version=guideline_version,
        value=value,
        status=status,
        reason=reason,
        created_at=utcnow(),
        previous_sha256=current.sha256,
        salt=dataset.text_salt,
    )
    mask_revision_now(session, row)
    try:
        with session.begin_nested():
            session.execute(insert(RevisionRow), [row])
    except IntegrityError:
        _refuse_stale(session, principal, current.revision, _current_revision(session, annotation.id))
        raise
    action = Action.ANNOTATION_REVIEW if kind == "review" else Action.ANNOTATION_EDIT
    _audit_revision(session, principal, dataset.id, action, row)


def _audit_revision(
    session: Session, principal: Principal, dataset_id: uuid.UUID, action: Action, revision: dict[str, Any]
) -> None:
    """The audit entry names the revision by its hash, which covers everything it holds."""
    audit_log.append(
        session, actor=principal, action=action, resource=f"annotation:{revision['annotation_id']}",
        dataset_id=dataset_id,
        details={"revision": revision["revision"], "status": revision["status"], "sha256": revision["sha256"]},
    )


def _refuse_stale(session: Session, principal: Principal, base_revision: int, current: RevisionRow) -> None:
    if base_revision != current.revision:
        latest = get_annotation(session, principal=principal, annotation_id=current.annotation_id)
        raise Conflict(
            f"revision {base_revision} is not the current revision ({current.revision}); "
            "re-apply the change to the current revision",
            {"current": latest.model_dump(mode="json")},
        )


def get_annotation(session: Session, *, principal: Principal, annotation_id: uuid.UUID) -> AnnotationOut:
    annotation, dataset = _found_annotation(_visible_annotations(session, principal, [annotation_id]), annotation_id)
    return _current_dtos(session, principal, {dataset.id: dataset}, [annotation])[0]


def list_record_annotations(
    session: Session, *, principal: Principal, record_id: uuid.UUID
) -> list[AnnotationOut]:
    record = visible_record(session, principal, record_id)
    return _annotations_of(session, principal, [record])[record_id]


def list_for_records(
    session: Session, *, principal: Principal, record_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[AnnotationOut]]:
    """Each record's annotations, for those of ``record_ids`` the principal may see (as
    :func:`list_record_annotations` decides); the others are left out."""
    return _annotations_of(session, principal, list(visible_record_keys(session, principal, record_ids).values()))


# What a page of annotations with their current values reads: every column of the annotation,
# and of its current revision what is served (its text in both forms: ``Serving`` picks one).
_ANNOTATION_FIELDS = (
    AnnotationRow.id, AnnotationRow.dataset_id, AnnotationRow.record_id, AnnotationRow.question,
    AnnotationRow.annotator_id, AnnotationRow.source, AnnotationRow.created_at,
)  # fmt: skip
_CURRENT_FIELDS = (
    RevisionRow.annotation_id, RevisionRow.revision, RevisionRow.status, RevisionRow.guideline_version,
    RevisionRow.created_at, RevisionRow.mask_status, RevisionRow.value, RevisionRow.reason,
    RevisionRow.masked_value, RevisionRow.masked_reason,
)  # fmt: skip


def _annotations_of(session: Session, principal: Principal, records: list) -> dict[uuid.UUID, list[AnnotationOut]]:
    """Every annotation on each record (anything with its ``id`` and ``dataset_id``), in creation
    order, with its current revision."""
    found: dict[uuid.UUID, list[AnnotationOut]] = {record.id: [] for record in records}
    if not records:
        return found
    rows = session.execute(
        select(*_ANNOTATION_FIELDS).where(AnnotationRow.record_id.in_(found)).order_by(AnnotationRow.id)
    ).all()  # plain rows: a page's hundred annotations need no ORM objects
    datasets = _datasets(session, {record.dataset_id for record in records})
    for row, dto in zip(rows, _current_dtos(session, principal, datasets, rows), strict=True):
        found[row.record_id].append(dto)
    return found


def get_history(session: Session, *, principal: Principal, annotation_id: uuid.UUID) -> History:
    visible = _visible_annotations(session, principal, [annotation_id])
    _found_annotation(visible, annotation_id)
    return _histories_of(session, principal, visible)[annotation_id]


def histories(
    session: Session, *, principal: Principal, annotation_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, History]:
    """Each annotation's history, for those of ``annotation_ids`` the principal may see (as
    :func:`get_history` decides); the others are left out."""
    return _histories_of(session, principal, _visible_annotations(session, principal, annotation_ids))


def _histories_of(
    session: Session, principal: Principal, visible: dict[uuid.UUID, tuple[AnnotationRow, DatasetRow]]
) -> dict[uuid.UUID, History]:
    """Every revision of each annotation, oldest first, as ``principal`` may see them."""
    found = {annotation_id: History(annotation_id=annotation_id, revisions=[]) for annotation_id in visible}
    if not visible:
        return found
    rows = session.scalars(
        select(RevisionRow)
        .where(RevisionRow.annotation_id.in_(found))
        .order_by(RevisionRow.annotation_id, RevisionRow.revision)
    ).all()
    names = principal_names(session, (row.actor_id for row in rows))
    datasets = {dataset.id: dataset for _annotation, dataset in visible.values()}
    serving = Serving(session, principal)
    annotations = [visible[row.annotation_id][0] for row in rows]
    texts = serving.revisions(list(zip(annotations, rows, strict=True)))
    served = [
        (annotation, _revision_dto(row, names, text))
        for annotation, row, text in zip(annotations, rows, texts, strict=True)
    ]
    _spans_at_masked_offsets(session, serving, datasets, served)
    for annotation, revision in served:
        found[annotation.id].revisions.append(revision)
    return found


def latest_revisions(annotation_ids) -> tuple:
    """What to join revisions to, to keep each annotation's latest (of ``annotation_ids``, a list
    or a select of them): the subquery of the highest revision per annotation, and the condition."""
    latest = (
        select(RevisionRow.annotation_id, func.max(RevisionRow.revision).label("revision"))
        .where(RevisionRow.annotation_id.in_(annotation_ids))
        .group_by(RevisionRow.annotation_id)
        .subquery()
    )
    return latest, and_(RevisionRow.annotation_id == latest.c.annotation_id, RevisionRow.revision == latest.c.revision)


def current_revisions(session: Session, annotation_ids: list[uuid.UUID]) -> dict[uuid.UUID, RevisionRow]:
    """The latest revision of each annotation: its current value."""
    if not annotation_ids:
        return {}
    rows = session.scalars(select(RevisionRow).join(*latest_revisions(annotation_ids))).all()
    return {row.annotation_id: row for row in rows}


def _served_current(session: Session, annotation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """As :func:`current_revisions`, for reads: plain rows of what serving the current revision
    reads (:data:`_CURRENT_FIELDS`), not ``RevisionRow`` objects."""
    rows = session.execute(select(*_CURRENT_FIELDS).join(*latest_revisions(annotation_ids)))
    return {row.annotation_id: row for row in rows}


def _current_revision(session: Session, annotation_id: uuid.UUID) -> RevisionRow:
    return current_revisions(session, [annotation_id])[annotation_id]


def _visible_annotation(
    session: Session, principal: Principal, annotation_id: uuid.UUID
) -> tuple[AnnotationRow, RecordRow, DatasetRow]:
    """The annotation, its record and its dataset, for a write: one round trip."""
    stmt = _scoped_annotations(principal, [annotation_id]).add_columns(RecordRow).join(
        RecordRow, RecordRow.id == AnnotationRow.record_id
    )
    found = session.execute(stmt).first()
    if found is None:
        raise _annotation_not_found(annotation_id)
    return found.AnnotationRow, found.RecordRow, found.DatasetRow


def _visible_annotations(
    session: Session, principal: Principal, annotation_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[AnnotationRow, DatasetRow]]:
    """Those of ``annotation_ids`` the principal may see, with their datasets, by id."""
    rows = session.execute(_scoped_annotations(principal, annotation_ids))
    return {row.AnnotationRow.id: (row.AnnotationRow, row.DatasetRow) for row in rows}


def _scoped_annotations(principal: Principal, annotation_ids: Collection[uuid.UUID]) -> Select:
    """Annotations with their datasets, filtered to the datasets the principal may see."""
    stmt = (
        select(AnnotationRow, DatasetRow)
        .join(DatasetRow, DatasetRow.id == AnnotationRow.dataset_id)
        .where(AnnotationRow.id.in_(annotation_ids))
    )
    return scope_datasets(stmt, principal, AnnotationRow.dataset_id)


def _found_annotation(visible: dict[uuid.UUID, tuple], annotation_id: uuid.UUID) -> tuple:
    if annotation_id not in visible:
        raise _annotation_not_found(annotation_id)
    return visible[annotation_id]


def _annotation_not_found(annotation_id: uuid.UUID) -> NotFound:
    return NotFound("annotation not found", {"annotation_id": str(annotation_id)})


def _datasets(session: Session, dataset_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, DatasetRow]:
    return {row.id: row for row in session.scalars(select(DatasetRow).where(DatasetRow.id.in_(dataset_ids)))}


def _current_dtos(
    session: Session, principal: Principal, datasets: dict[uuid.UUID, DatasetRow], annotations
) -> list[AnnotationOut]:
    """Annotations with their current revisions, as ``principal`` may see them; ``datasets`` holds
    the dataset of each."""
    current = _served_current(session, [row.id for row in annotations]) if annotations else {}
    names = principal_names(session, (row.annotator_id for row in annotations))
    serving = Serving(session, principal)
    texts = serving.revisions([(row, current[row.id]) for row in annotations])
    dtos = [
        _annotation_dto(row, current[row.id], names, text) for row, text in zip(annotations, texts, strict=True)
    ]
    _spans_at_masked_offsets(session, serving, datasets, list(zip(annotations, dtos, strict=True)))
    return dtos


def _spans_at_masked_offsets(
    session: Session, serving: Serving, datasets: dict[uuid.UUID, DatasetRow], served: list
) -> None:
    """For readers of masked text, move span values (stored at raw offsets) onto the masked text.

    ``served`` pairs each annotation row with a DTO (its current value or one of its revisions)."""
    span_questions = {
        dataset_id: {q.name for q in label_schema_of(dataset).questions if q.kind == "span"}
        for dataset_id, dataset in datasets.items()
        if not serving.raw(dataset_id)
    }
    spans = [
        (row, dto)
        for row, dto in served
        if row.question in span_questions.get(row.dataset_id, ()) and dto.value is not None
    ]
    if not spans:
        return
    maskings = maskings_of(session, list({row.record_id for row, _ in spans}))
    for row, dto in spans:
        dto.value = spans_to_masked(maskings[row.record_id], dto.value)


def _annotation_dto(
    row: AnnotationRow, current: RevisionRow, names: dict[uuid.UUID, str], served: RevisionText
) -> AnnotationOut:
    return AnnotationOut(
        id=row.id,
        record_id=row.record_id,
        question=row.question,
        annotator=names.get(row.annotator_id, ""),
        source=Source.model_validate(row.source),
        created_at=row.created_at,
        revision=current.revision,
        text=served.text,
        value=served.value,
        status=current.status,
        guideline_version=current.guideline_version,
        updated_at=current.created_at,
    )


def _revision_dto(row: RevisionRow, names: dict[uuid.UUID, str], served: RevisionText) -> RevisionOut:
    return RevisionOut(
        revision=row.revision,
        kind=row.kind,
        actor=names.get(row.actor_id, ""),
        source=Source.model_validate(row.source),
        guideline_version=row.guideline_version,
        created_at=row.created_at,
        text=served.text,
        value=served.value,
        status=row.status,
        reason=served.reason,
        previous_sha256=row.previous_sha256,
        sha256=row.sha256,
    )
