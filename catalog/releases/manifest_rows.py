"""Reading a dataset into a manifest: its active records and their releasable label revisions."""

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from catalog.annotations.service import latest_revisions
from catalog.core.models import MASKED, PENDING, AnnotationRow, RecordRow, RevisionRow
from catalog.releases.manifest import LabelEntry, Leaf, masked_sha256
from catalog.releases.schemas import SplitRatios
from catalog.releases.splits import assign_split

_STREAM = 2000


@dataclass(frozen=True)
class ReleasedLabel:
    entry: LabelEntry
    record_id: uuid.UUID
    masked: bool
    guideline_version: int | None


def releasable_labels(
    session: Session, dataset_id: uuid.UUID, statuses: Collection[str]
) -> dict[uuid.UUID, list[ReleasedLabel]]:
    """The current revision of each annotation of the dataset whose status is released, by record."""
    latest = (
        select(RevisionRow.annotation_id, func.max(RevisionRow.revision).label("revision"))
        .join(AnnotationRow, AnnotationRow.id == RevisionRow.annotation_id)
        .where(AnnotationRow.dataset_id == dataset_id)
        .group_by(RevisionRow.annotation_id)
        .subquery()
    )
    rows = session.execute(
        select(
            AnnotationRow.record_id, RevisionRow.annotation_id, RevisionRow.id, RevisionRow.sha256,
            RevisionRow.mask_status, RevisionRow.guideline_version,
        )  # fmt: skip
        .join(latest, and_(RevisionRow.annotation_id == latest.c.annotation_id, RevisionRow.revision == latest.c.revision))
        .join(AnnotationRow, AnnotationRow.id == RevisionRow.annotation_id)
        .where(RevisionRow.status.in_(list(statuses)))
        .execution_options(yield_per=_STREAM)
    )
    by_record: dict[uuid.UUID, list[ReleasedLabel]] = defaultdict(list)
    for record_id, annotation_id, revision_id, sha256, mask_status, guideline in rows:
        entry = LabelEntry(annotation_id=annotation_id, revision_id=revision_id, sha256=sha256)
        by_record[record_id].append(ReleasedLabel(entry, record_id, mask_status == MASKED, guideline))
    return by_record


def awaiting_masking(session: Session, dataset_id: uuid.UUID, statuses: Collection[str]) -> tuple[int, int]:
    """What the masking gate would count, without reading the dataset: the active records still
    pending, and the releasable labels (current revisions with a released status, on active
    records) whose text is. Both start from the pending rows (the ``mask_status`` indexes), so
    they cost what the backlog is, not what the dataset is."""
    records = session.scalar(
        select(func.count()).select_from(RecordRow)
        .where(RecordRow.mask_status == PENDING, RecordRow.dataset_id == dataset_id, RecordRow.retired_at.is_(None))
    )  # fmt: skip
    waiting = (
        select(RevisionRow.annotation_id)
        .join(AnnotationRow, AnnotationRow.id == RevisionRow.annotation_id)
        .where(RevisionRow.mask_status == PENDING, AnnotationRow.dataset_id == dataset_id)
    )
    labels = session.scalar(
        select(func.count())
        .select_from(RevisionRow)
        .join(*latest_revisions(waiting))
        .join(AnnotationRow, AnnotationRow.id == RevisionRow.annotation_id)
        .join(RecordRow, RecordRow.id == AnnotationRow.record_id)
        .where(RevisionRow.mask_status == PENDING, RevisionRow.status.in_(list(statuses)), RecordRow.retired_at.is_(None))
    )
    return records or 0, labels or 0


def leaves(
    session: Session, dataset_id: uuid.UUID, labels: dict[uuid.UUID, list[ReleasedLabel]], ratios: SplitRatios
) -> list[Leaf]:
    """One leaf per active record, in leaf order (ascending record id text)."""
    rows = session.execute(
        select(
            RecordRow.id, RecordRow.content_sha256, RecordRow.prompt_sha256, RecordRow.masked_content,
            RecordRow.masked_meta, RecordRow.detector_version, RecordRow.meta["split"].as_string(),
        )  # fmt: skip
        .where(RecordRow.dataset_id == dataset_id, RecordRow.retired_at.is_(None))
        .execution_options(yield_per=_STREAM)
    )
    found = [
        Leaf(
            record_id=record_id,
            record_sha256=content_sha256,
            masked_sha256=masked_sha256(masked_content, masked_meta),
            detector_version=detector,
            split=assign_split(split, prompt_sha256, ratios),
            annotations=tuple(label.entry for label in labels.get(record_id, ())),
        )
        for record_id, content_sha256, prompt_sha256, masked_content, masked_meta, detector, split in rows
    ]
    return sorted(found, key=lambda leaf: str(leaf.record_id))
