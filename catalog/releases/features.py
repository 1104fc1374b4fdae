"""The features a profile counts, written beside each manifest row when a release is cut.

One ``UPDATE … FROM`` per group of features, in SQL, from the released text as most readers get
it (masked content and metadata; a text answer's masked value): a profile then groups narrow
columns under covering indexes instead of parsing JSON on every row.
"""

import uuid

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.orm import Session

from catalog.core.models import (
    AnnotationRow,
    PiiFindingRow,
    RecordRow,
    ReleaseRecordRow,
    ReleaseRevisionRow,
    RevisionRow,
)
from catalog.datasets.label_schema import LabelSchema
from catalog.releases.json_sql import json_scalar_text, json_text, message_chars, message_count


def fill_features(session: Session, release_id: uuid.UUID, schema: LabelSchema) -> None:
    _record_features(session, release_id)
    _label_features(session, release_id)
    _choices(session, release_id, schema)
    _response_lengths(session, release_id, schema)


def _record_features(session: Session, release_id: uuid.UUID) -> None:
    meta, content = RecordRow.masked_meta, RecordRow.masked_content
    findings = (  # the current findings: those of the detector that masked the record (a rescan keeps older ones)
        select(func.count())
        .where(PiiFindingRow.record_id == RecordRow.id, PiiFindingRow.detector_version == RecordRow.detector_version)
        .scalar_subquery()
    )
    session.execute(
        update(ReleaseRecordRow)
        .where(ReleaseRecordRow.release_id == release_id, ReleaseRecordRow.record_id == RecordRow.id)
        .values(
            task_type=meta["task_type"].as_string(), domain=meta["domain"].as_string(),
            language=meta["language"].as_string(), prompt_chars=message_chars(content), turns=message_count(content),
            pii_findings=findings,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )


def _label_features(session: Session, release_id: uuid.UUID) -> None:
    session.execute(
        update(ReleaseRevisionRow)
        .where(
            ReleaseRevisionRow.release_id == release_id,
            ReleaseRevisionRow.revision_id == RevisionRow.id,
            ReleaseRevisionRow.annotation_id == AnnotationRow.id,
        )
        .values(
            question=AnnotationRow.question, source_kind=RevisionRow.source["kind"].as_string(),
            annotator_id=AnnotationRow.annotator_id, guideline_version=RevisionRow.guideline_version,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )


def _choices(session: Session, release_id: uuid.UUID, schema: LabelSchema) -> None:
    """The chosen value of label and rating answers, and a ranking's order, as JSON text."""
    for kinds, value in ((("label", "rating"), RevisionRow.value), (("ranking",), RevisionRow.value["ranking"])):
        questions = [q.name for q in schema.questions if q.kind in kinds]
        if questions:
            _set_by_question(session, release_id, questions, choice=cast(json_text(value), String))


def _response_lengths(session: Session, release_id: uuid.UUID, schema: LabelSchema) -> None:
    texts = [q.name for q in schema.questions if q.kind == "text"]
    if texts:
        value = func.coalesce(RevisionRow.masked_value, RevisionRow.value)
        _set_by_question(session, release_id, texts, response_chars=func.length(json_scalar_text(value)))


def _set_by_question(session: Session, release_id: uuid.UUID, questions: list[str], **values) -> None:
    session.execute(
        update(ReleaseRevisionRow)
        .where(
            ReleaseRevisionRow.release_id == release_id,
            ReleaseRevisionRow.question.in_(questions),
            ReleaseRevisionRow.revision_id == RevisionRow.id,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
