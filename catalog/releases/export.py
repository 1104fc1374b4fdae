"""Reading a release back out, a chunk of records at a time: its manifest, and its rows for training.

Both walk ``release_records`` in record id order (which is leaf order) a page at a time, so
memory stays flat whatever the size of the release; the pages are what GraphQL serves. Text is
picked by :mod:`catalog.access.serving`: raw only when the caller may read raw, as
:meth:`~catalog.access.serving.Serving.export` decided (and audited) before streaming starts.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from catalog.access.serving import record_text, revision_text
from catalog.annotations.schemas import Source
from catalog.core.models import (
    AnnotationRow,
    PrincipalRow,
    RecordRow,
    ReleaseRecordRow,
    ReleaseRevisionRow,
    RevisionRow,
)
from catalog.releases.manifest import LabelEntry, Leaf
from catalog.releases.schemas import ExportLabel, ExportRow

CHUNK = 1000
T = TypeVar("T")


def manifest_leaves(session: Session, release_id: uuid.UUID) -> Iterator[Leaf]:
    """The release's leaves in leaf order, with the hashes recorded when it was cut."""
    return _all(lambda after: manifest_page(session, release_id, limit=CHUNK, after=after), lambda leaf: leaf.record_id)


def export_rows(session: Session, release_id: uuid.UUID, *, raw: bool) -> Iterator[ExportRow]:
    return _all(lambda after: export_page(session, release_id, raw=raw, limit=CHUNK, after=after), lambda row: row.record_id)


def manifest_page(session: Session, release_id: uuid.UUID, *, limit: int, after: uuid.UUID | None) -> list[Leaf]:
    """Up to ``limit`` leaves after record ``after``: leaf order is record id order."""
    chunk = session.scalars(_page(select(ReleaseRecordRow), release_id, limit, after)).all()
    labels = _labels(session, release_id, [row.record_id for row in chunk])
    return [
        Leaf(
            record_id=row.record_id, record_sha256=row.record_sha256, masked_sha256=row.masked_sha256,
            detector_version=row.detector_version, split=row.split,
            annotations=tuple(LabelEntry(r.annotation_id, r.revision_id, r.revision_sha256) for r in labels[row.record_id]),
        )  # fmt: skip
        for row in chunk
    ]


def export_page(
    session: Session, release_id: uuid.UUID, *, raw: bool, limit: int, after: uuid.UUID | None
) -> list[ExportRow]:
    stmt = select(ReleaseRecordRow, RecordRow).join(RecordRow, RecordRow.id == ReleaseRecordRow.record_id)
    chunk = session.execute(_page(stmt, release_id, limit, after)).all()
    labels = _export_labels(session, release_id, [record.id for _, record in chunk], raw=raw)
    return [_row(manifest, record, labels[record.id], raw=raw) for manifest, record in chunk]


def _page(stmt: Select, release_id: uuid.UUID, limit: int, after: uuid.UUID | None) -> Select:
    """Keyset over the (release_id, record_id) index, so every page is one index range."""
    stmt = stmt.where(ReleaseRecordRow.release_id == release_id)
    if after is not None:
        stmt = stmt.where(ReleaseRecordRow.record_id > after)
    return stmt.order_by(ReleaseRecordRow.record_id).limit(limit)


def _all(page: Callable[[uuid.UUID | None], list[T]], key: Callable[[T], uuid.UUID]) -> Iterator[T]:
    after = None
    while items := page(after):
        yield from items
        after = key(items[-1])


def _labels(session: Session, release_id: uuid.UUID, record_ids: list[uuid.UUID]) -> dict:
    rows = session.scalars(
        select(ReleaseRevisionRow)
        .where(ReleaseRevisionRow.release_id == release_id, ReleaseRevisionRow.record_id.in_(record_ids))
        .order_by(ReleaseRevisionRow.record_id, ReleaseRevisionRow.annotation_id)
    )
    by_record = defaultdict(list)
    for row in rows:
        by_record[row.record_id].append(row)
    return by_record


def _export_labels(session: Session, release_id: uuid.UUID, record_ids: list[uuid.UUID], *, raw: bool) -> dict:
    rows = session.execute(
        select(AnnotationRow, RevisionRow, PrincipalRow.name)
        .select_from(ReleaseRevisionRow)
        .join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id)
        .join(AnnotationRow, AnnotationRow.id == ReleaseRevisionRow.annotation_id)
        .join(PrincipalRow, PrincipalRow.id == AnnotationRow.annotator_id)
        .where(ReleaseRevisionRow.release_id == release_id, ReleaseRevisionRow.record_id.in_(record_ids))
        .order_by(AnnotationRow.record_id, AnnotationRow.id)
    )
    by_record = defaultdict(list)
    for annotation, revision, annotator in rows:
        text, value, _reason = revision_text(revision, raw=raw)
        by_record[annotation.record_id].append(ExportLabel(
            annotation_id=annotation.id, question=annotation.question, text=text, value=value,
            status=revision.status, annotator=annotator, source=Source.model_validate(revision.source),
            guideline_version=revision.guideline_version, revision=revision.revision, revision_sha256=revision.sha256,
        ))  # fmt: skip
    return by_record


def _row(manifest: ReleaseRecordRow, record: RecordRow, labels: list[ExportLabel], *, raw: bool) -> ExportRow:
    text, content, meta = record_text(record, raw=raw)
    return ExportRow(
        record_id=record.id,
        external_id=record.external_id,
        split=manifest.split,
        text=text,
        messages=content["messages"] if content else None,
        candidates=content.get("candidates") if content else None,
        metadata=meta,
        record_sha256=manifest.record_sha256,
        labels=labels,
    )
