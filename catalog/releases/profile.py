"""A release's profile: its distributions, aggregated by the database when the release is cut.

Every feature is counted with GROUP BY over the release's manifest tables; Python only adds up
the grouped rows (a few thousand at most) into the :class:`~catalog.dtos.Profile`. Texts are
measured as released to most readers: the masked form (raw only while a record awaits masking).

Categorical features: ``task_type``, ``domain``, ``language``, ``split`` per record; ``source``,
``annotator``, ``guideline_version`` per released annotation; ``label:<question>`` for label,
rating (``label:<question>.<axis>``) and ranking (the top group) answers; ``pii_entity`` per
finding. Numeric: ``prompt_length`` and ``turns`` per record, ``response_length`` per text answer.
"""

import uuid
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.dtos import Profile
from catalog.label_schema import LabelSchema
from catalog.models import (
    AnnotationRow,
    PiiFindingRow,
    PrincipalRow,
    RecordRow,
    ReleaseRecordRow,
    ReleaseRevisionRow,
    RevisionRow,
)
from catalog.releases.json_sql import json_scalar_text, message_chars, message_count

NONE = "(none)"
RECORD_FEATURES = ("task_type", "domain", "language")
CHOICE_KINDS = ("label", "rating", "ranking")


def build_profile(session: Session, release_id: uuid.UUID, schema: LabelSchema) -> Profile:
    categorical: dict[str, Counter] = defaultdict(Counter)
    numeric: dict[str, Counter] = defaultdict(Counter)
    records = _record_features(session, release_id, categorical, numeric)
    annotations = _annotation_features(session, release_id, categorical)
    _label_values(session, release_id, schema, categorical)
    _response_lengths(session, release_id, schema, numeric)
    _pii_entities(session, release_id, categorical)
    return Profile(
        records=records,
        annotations=annotations,
        categorical={name: dict(sorted(counts.items())) for name, counts in sorted(categorical.items())},
        numeric={name: sorted(counts.items()) for name, counts in sorted(numeric.items())},
    )


def _record_features(session, release_id, categorical, numeric) -> int:
    document = func.coalesce(RecordRow.masked_content, RecordRow.content)
    keys = [RecordRow.meta[key].as_string().label(key) for key in RECORD_FEATURES]
    chars, turns = message_chars(document).label("chars"), message_count(document).label("turns")
    grouped = (
        select(*keys, ReleaseRecordRow.split, func.count().label("n"))
        .select_from(ReleaseRecordRow)
        .join(RecordRow, RecordRow.id == ReleaseRecordRow.record_id)
        .where(ReleaseRecordRow.release_id == release_id)
        .group_by(*keys, ReleaseRecordRow.split)
    )
    total = 0
    for row in session.execute(grouped):
        for key in (*RECORD_FEATURES, "split"):
            categorical[key][getattr(row, key) or NONE] += row.n
        total += row.n
    lengths = (
        select(chars, turns, func.count().label("n"))
        .select_from(ReleaseRecordRow)
        .join(RecordRow, RecordRow.id == ReleaseRecordRow.record_id)
        .where(ReleaseRecordRow.release_id == release_id)
        .group_by(chars, turns)
    )
    for row in session.execute(lengths):
        numeric["prompt_length"][float(row.chars)] += row.n
        numeric["turns"][float(row.turns)] += row.n
    return total


def _annotation_features(session, release_id, categorical) -> int:
    source = RevisionRow.source["kind"].as_string().label("source")
    grouped = (
        select(source, PrincipalRow.name, RevisionRow.guideline_version, func.count().label("n"))
        .select_from(ReleaseRevisionRow)
        .join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id)
        .join(AnnotationRow, AnnotationRow.id == ReleaseRevisionRow.annotation_id)
        .join(PrincipalRow, PrincipalRow.id == AnnotationRow.annotator_id)
        .where(ReleaseRevisionRow.release_id == release_id)
        .group_by(source, PrincipalRow.name, RevisionRow.guideline_version)
    )
    total = 0
    for row in session.execute(grouped):
        categorical["source"][row.source or NONE] += row.n
        categorical["annotator"][row.name] += row.n
        version = row.guideline_version
        categorical["guideline_version"][NONE if version is None else str(version)] += row.n
        total += row.n
    return total


def _label_values(session, release_id, schema: LabelSchema, categorical) -> None:
    kinds = {q.name: q.kind for q in schema.questions if q.kind in CHOICE_KINDS}
    if not kinds:
        return
    grouped = (
        select(AnnotationRow.question, RevisionRow.value, func.count().label("n"))
        .select_from(ReleaseRevisionRow)
        .join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id)
        .join(AnnotationRow, AnnotationRow.id == ReleaseRevisionRow.annotation_id)
        .where(ReleaseRevisionRow.release_id == release_id, AnnotationRow.question.in_(kinds))
        .group_by(AnnotationRow.question, RevisionRow.value)
    )
    for row in session.execute(grouped):
        for feature, category in _choices(row.question, kinds[row.question], row.value):
            categorical[feature][category] += row.n


def _choices(question: str, kind: str, value: Any) -> list[tuple[str, str]]:
    """The categories one answer counts towards: each chosen option, each axis's score, the top group."""
    if kind == "rating":
        return [(f"label:{question}.{axis}", str(score)) for axis, score in sorted(value.items())]
    if kind == "ranking":
        return [(f"label:{question}", ",".join(str(i) for i in value["ranking"][0]))]
    options = value if isinstance(value, list) else [value]
    return [(f"label:{question}", str(option)) for option in options]


def _response_lengths(session, release_id, schema: LabelSchema, numeric) -> None:
    texts = [q.name for q in schema.questions if q.kind == "text"]
    if not texts:
        return
    length = func.length(json_scalar_text(func.coalesce(RevisionRow.masked_value, RevisionRow.value))).label("chars")
    grouped = (
        select(length, func.count().label("n"))
        .select_from(ReleaseRevisionRow)
        .join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id)
        .join(AnnotationRow, AnnotationRow.id == ReleaseRevisionRow.annotation_id)
        .where(ReleaseRevisionRow.release_id == release_id, AnnotationRow.question.in_(texts))
        .group_by(length)
    )
    for row in session.execute(grouped):
        if row.chars is not None:
            numeric["response_length"][float(row.chars)] += row.n


def _pii_entities(session, release_id, categorical) -> None:
    grouped = (
        select(PiiFindingRow.entity_type, func.count().label("n"))
        .select_from(PiiFindingRow)
        .join(ReleaseRecordRow, ReleaseRecordRow.record_id == PiiFindingRow.record_id)
        .where(ReleaseRecordRow.release_id == release_id)
        .group_by(PiiFindingRow.entity_type)
    )
    for row in session.execute(grouped):
        categorical["pii_entity"][row.entity_type] += row.n
