"""A release's profile: its distributions, aggregated by the database when the release is cut.

Every feature is counted with GROUP BY over the release's manifest rows, whose feature columns
(:mod:`catalog.releases.features`) sit under covering indexes; Python only adds up the grouped
rows (a few thousand at most) into the :class:`~catalog.dtos.Profile`. Texts are measured as
released to most readers: the masked form.

Categorical features: ``task_type``, ``domain``, ``language``, ``split`` per record; ``source``,
``annotator``, ``guideline_version`` per released annotation; ``label:<question>`` for label,
rating (``label:<question>.<axis>``) and ranking (the top group) answers; ``pii_entity`` per
current finding (the masking detector's). Numeric: ``prompt_length`` and ``turns`` per record,
``response_length`` per text answer.
"""

import json
import uuid
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from catalog.core.models import PiiFindingRow, PrincipalRow, ReleaseRecordRow, ReleaseRevisionRow, ReleaseRow
from catalog.datasets.label_schema import LabelSchema
from catalog.releases.schemas import Profile

NONE = "(none)"
RECORD_FEATURES = ("task_type", "domain", "language", "split")


def build_profile(session: Session, release_id: uuid.UUID, schema: LabelSchema) -> Profile:
    categorical: dict[str, Counter] = defaultdict(Counter)
    numeric: dict[str, Counter] = defaultdict(Counter)
    kinds = {q.name: q.kind for q in schema.questions}
    number = session.scalar(select(ReleaseRow.number).where(ReleaseRow.id == release_id))
    records = _record_features(session, number, categorical, numeric)
    annotations = _labels(session, number, kinds, categorical)
    _response_lengths(session, number, [name for name, kind in kinds.items() if kind == "text"], numeric)
    _pii_entities(session, number, categorical)
    return Profile(
        records=records,
        annotations=annotations,
        categorical={name: dict(sorted(counts.items())) for name, counts in sorted(categorical.items())},
        numeric={name: sorted(counts.items()) for name, counts in sorted(numeric.items())},
    )


def _record_features(session, number, categorical, numeric) -> int:
    columns = [getattr(ReleaseRecordRow, name) for name in RECORD_FEATURES]
    total = 0
    for *values, n in session.execute(_grouped(number, ReleaseRecordRow, *columns)):
        for name, value in zip(RECORD_FEATURES, values, strict=True):
            categorical[name][value or NONE] += n
        total += n
    for chars, turns, n in session.execute(_grouped(number, ReleaseRecordRow, ReleaseRecordRow.prompt_chars, ReleaseRecordRow.turns)):
        if chars is not None:  # None: the record awaits masking (released only by an override)
            numeric["prompt_length"][float(chars)] += n
        if turns is not None:
            numeric["turns"][float(turns)] += n
    return total


def _labels(session, number, kinds: dict[str, str], categorical) -> int:
    """Every label's source, annotator, guideline version and chosen value, in one scan."""
    r = ReleaseRevisionRow
    rows = session.execute(
        _grouped(number, r, r.question, r.choice, r.source_kind, r.annotator_id, r.guideline_version)
    ).all()
    names = dict(session.execute(select(PrincipalRow.id, PrincipalRow.name).where(PrincipalRow.id.in_({row[3] for row in rows}))).all())
    total = 0
    for question, choice, source, annotator, version, n in rows:
        categorical["source"][source or NONE] += n
        categorical["annotator"][names.get(annotator, NONE)] += n
        categorical["guideline_version"][NONE if version is None else str(version)] += n
        if choice is not None:
            for feature, category in _choices(question, kinds.get(question), json.loads(choice)):
                categorical[feature][category] += n
        total += n
    return total


def _response_lengths(session, number, text_questions: list[str], numeric) -> None:
    """Text answers' lengths. Grouped by ``choice`` too (always NULL for them) so the answers index
    is read in its own order, without a sort."""
    r = ReleaseRevisionRow
    lengths = _grouped(number, r, r.question, r.choice, r.response_chars).where(r.question.in_(text_questions))
    for _, _, chars, n in session.execute(lengths):
        if chars is not None:
            numeric["response_length"][float(chars)] += n


def _choices(question: str, kind: str | None, value: Any) -> list[tuple[str, str]]:
    """The categories one answer counts towards: each chosen option, each axis's score, the top group."""
    if kind == "rating":
        return [(f"label:{question}.{axis}", str(score)) for axis, score in sorted(value.items())]
    if kind == "ranking":
        return [(f"label:{question}", ",".join(str(i) for i in value[0]))]
    options = value if isinstance(value, list) else [value]
    return [(f"label:{question}", str(option)) for option in options]


def _pii_entities(session, number, categorical) -> None:
    """The current findings of the released records that have some (a partial index holds only
    those): the findings of the detector that masked the record as released. A rescan leaves the
    earlier detector's findings in place, as history; they are not counted."""
    grouped = (
        select(PiiFindingRow.entity_type, func.count())
        .select_from(ReleaseRecordRow)
        .join(
            PiiFindingRow,
            and_(
                PiiFindingRow.record_id == ReleaseRecordRow.record_id,
                PiiFindingRow.detector_version == ReleaseRecordRow.detector_version,
            ),
        )
        .where(ReleaseRecordRow.release_number == number, ReleaseRecordRow.pii_findings > 0)
        .group_by(PiiFindingRow.entity_type)
    )
    for entity_type, n in session.execute(grouped):
        categorical["pii_entity"][entity_type] += n


def _grouped(number: int, table, *columns):
    """``SELECT columns, count(*) … WHERE release_number = … GROUP BY columns``: one index range, read in order."""
    return select(*columns, func.count()).where(table.release_number == number).group_by(*columns)
