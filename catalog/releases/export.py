"""Reading a release back out, a chunk of records at a time: its manifest, and its rows for training.

Both walk ``release_records`` by position in chunks, so memory stays flat whatever the size of
the release. Text is served as :mod:`catalog.services.records` serves it: raw only when the
caller may read raw (decided, and audited, by the service before streaming starts).
"""

import uuid
from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.dtos import ExportLabel, ExportRow, Source
from catalog.models import AnnotationRow, PrincipalRow, RecordRow, ReleaseRecordRow, ReleaseRevisionRow, RevisionRow
from catalog.releases.manifest import LabelEntry, Leaf
from catalog.services.annotations import served_text
from catalog.services.masking import MASKED

CHUNK = 1000


def manifest_leaves(session: Session, release_id: uuid.UUID) -> Iterator[Leaf]:
    """The release's leaves in leaf order, with the hashes recorded when it was cut."""
    for chunk in _chunks(session, release_id, ReleaseRecordRow):
        labels = _labels(session, release_id, [row.record_id for row in chunk])
        for row in chunk:
            entries = tuple(LabelEntry(r.annotation_id, r.revision_id, r.revision_sha256) for r in labels[row.record_id])
            yield Leaf(
                record_id=row.record_id, record_sha256=row.record_sha256, masked_sha256=row.masked_sha256,
                detector_version=row.detector_version, split=row.split, annotations=entries,
            )  # fmt: skip


def export_rows(session: Session, release_id: uuid.UUID, *, raw: bool) -> Iterator[ExportRow]:
    for chunk in _chunks(session, release_id, ReleaseRecordRow, RecordRow):
        record_ids = [manifest.record_id for manifest, _ in chunk]
        labels = _export_labels(session, release_id, record_ids, raw=raw)
        for manifest, record in chunk:
            yield _row(manifest, record, labels[record.id], raw=raw)


def _chunks(session: Session, release_id: uuid.UUID, *entities) -> Iterator[list]:
    """Rows of the release by position, ``CHUNK`` at a time (keyset, so each chunk is one index range)."""
    stmt = select(*entities).where(ReleaseRecordRow.release_id == release_id)
    if RecordRow in entities:
        stmt = stmt.join(RecordRow, RecordRow.id == ReleaseRecordRow.record_id)
    after = -1
    while True:
        page = stmt.where(ReleaseRecordRow.position > after).order_by(ReleaseRecordRow.position).limit(CHUNK)
        rows = session.execute(page).all() if len(entities) > 1 else session.scalars(page).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0] if len(entities) > 1 else rows[-1]
        after = last.position


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
        text, value, _reason = served_text(revision, raw=raw)
        by_record[annotation.record_id].append(ExportLabel(
            annotation_id=annotation.id, question=annotation.question, text=text, value=value,
            status=revision.status, annotator=annotator, source=Source.model_validate(revision.source),
            guideline_version=revision.guideline_version, revision=revision.revision, revision_sha256=revision.sha256,
        ))  # fmt: skip
    return by_record


def _row(manifest: ReleaseRecordRow, record: RecordRow, labels: list[ExportLabel], *, raw: bool) -> ExportRow:
    if raw:
        text, content, meta = ("erased" if record.erased_at else "raw"), record.content, record.meta
    elif record.mask_status == MASKED:
        text, content, meta = "masked", record.masked_content, record.masked_meta
    else:
        text, content, meta = "pending", None, None
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
