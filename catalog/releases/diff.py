"""What changed between two releases, record by record and label by label, by set operations in SQL."""

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from catalog.core.models import ReleaseRecordRow, ReleaseRevisionRow

EXAMPLES = 100


@dataclass(frozen=True)
class Changes:
    counts: dict[str, int]
    examples: dict[str, list[uuid.UUID]]


def changes(session: Session, base: uuid.UUID, target: uuid.UUID) -> Changes:
    record_queries = {
        "records_added": _records_only_in(target, base),
        "records_removed": _records_only_in(base, target),
        "records_changed": _records_relabelled(base, target),
    }
    label_queries = {
        "annotations_added": _labels_only_in(target, base),
        "annotations_removed": _labels_only_in(base, target),
        "annotations_changed": _labels_revised(base, target),
    }
    counts = {name: _count(session, query) for name, query in {**record_queries, **label_queries}.items()}
    examples = {
        name.removeprefix("records_"): list(session.scalars(query.order_by(query.selected_columns[0]).limit(EXAMPLES)))
        for name, query in record_queries.items()
    }
    return Changes(counts=counts, examples=examples)


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery()))


def _records_only_in(release: uuid.UUID, other: uuid.UUID) -> Select:
    mine, theirs = aliased(ReleaseRecordRow), aliased(ReleaseRecordRow)
    elsewhere = exists().where(theirs.release_id == other, theirs.record_id == mine.record_id)
    return select(mine.record_id).where(mine.release_id == release, ~elsewhere)


def _labels_only_in(release: uuid.UUID, other: uuid.UUID) -> Select:
    mine, theirs = aliased(ReleaseRevisionRow), aliased(ReleaseRevisionRow)
    elsewhere = exists().where(theirs.release_id == other, theirs.annotation_id == mine.annotation_id)
    return select(mine.annotation_id).where(mine.release_id == release, ~elsewhere)


def _labels_revised(base: uuid.UUID, target: uuid.UUID) -> Select:
    old, new = aliased(ReleaseRevisionRow), aliased(ReleaseRevisionRow)
    return (
        select(new.annotation_id)
        .join(old, and_(old.annotation_id == new.annotation_id, old.release_id == base))
        .where(new.release_id == target, old.revision_id != new.revision_id)
    )


def _records_relabelled(base: uuid.UUID, target: uuid.UUID) -> Select:
    """Records in both releases whose released revisions differ: one added, removed or revised."""
    old, new = aliased(ReleaseRecordRow), aliased(ReleaseRecordRow)
    both = select(new.record_id).join(old, and_(old.record_id == new.record_id, old.release_id == base))
    both = both.where(new.release_id == target)
    differs = _revision_differs(base, target, old.record_id) | _revision_differs(target, base, old.record_id)
    return both.where(differs)


def _revision_differs(release: uuid.UUID, other: uuid.UUID, record_id) -> object:
    """Some revision of the record in ``release`` is not in ``other``."""
    mine, theirs = aliased(ReleaseRevisionRow), aliased(ReleaseRevisionRow)
    elsewhere = exists().where(theirs.release_id == other, theirs.revision_id == mine.revision_id)
    return exists().where(mine.release_id == release, mine.record_id == record_id, ~elsewhere)
