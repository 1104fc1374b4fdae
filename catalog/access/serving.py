"""Serving text: the one place that decides whether a principal gets raw or masked text, picks
the values it gets, and writes the raw-read audit entry.

Records and annotation revisions keep their raw text beside its masked form (docs/decisions/0007).
Every read that returns that text (records, annotations and their histories, release exports)
goes through here, so the decision (:func:`catalog.access.policy.may_read_raw`, per dataset) and
its audit entry are the same for REST, GraphQL and exports. ``tests/api/test_serving_path.py``
lists every route and field that returns text and checks that each one is served from here.
"""

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from catalog.access.policy import Action, may_read_raw
from catalog.core import audit_log
from catalog.core.models import MASKED, AnnotationRow, RecordRow, ReleaseRow, RevisionRow
from catalog.core.principal import Principal

# What serving a record reads beside its text, and its text in each form: a page of records is
# read as plain rows of these columns (``Serving.record_rows``), never as ``RecordRow`` objects,
# and a caller who may not read raw text never has its raw columns read at all.
RECORD_FIELDS = (
    RecordRow.id, RecordRow.dataset_id, RecordRow.external_id, RecordRow.mask_status, RecordRow.detector_version,
    RecordRow.erased_at, RecordRow.content_sha256, RecordRow.created_at, RecordRow.retired_at, RecordRow.retire_reason,
)  # fmt: skip
RAW_RECORD_TEXT = (RecordRow.content, RecordRow.meta)
MASKED_RECORD_TEXT = (RecordRow.masked_content, RecordRow.masked_meta)


class RecordText(NamedTuple):
    """A record's text as served; ``text`` names the form: raw, erased, masked or pending."""

    text: str
    content: dict[str, Any] | None
    meta: dict[str, Any] | None


class RevisionText(NamedTuple):
    """A revision's free text as served; ``text`` names the form: raw, masked or pending."""

    text: str
    value: Any
    reason: str | None


def record_text(row: Any, *, raw: bool) -> RecordText:
    """Raw for a raw reader (``erased`` once the subject's raw text is gone: what is left is the
    masked form), else the masked form, or nothing while the record waits for masking. ``row`` is a
    ``RecordRow`` or a row of :meth:`Serving.record_rows`."""
    if raw:
        return RecordText("erased" if row.erased_at else "raw", row.content, row.meta)
    if row.mask_status != MASKED:
        return RecordText("pending", None, None)
    return RecordText("masked", row.masked_content, row.masked_meta)


def revision_text(row: RevisionRow, *, raw: bool) -> RevisionText:
    """Raw for a raw reader, else the masked form, or nothing while the revision waits for masking."""
    if raw:
        return RevisionText("raw", row.value, row.reason)
    if row.mask_status != MASKED:
        return RevisionText("pending", None, None)
    return RevisionText("masked", row.masked_value, row.masked_reason)


class Serving:
    """What one service call serves one principal, and the audit of what it served raw.

    The methods that serve rows take a whole batch, so that a page is audited in one entry per
    dataset, naming every id read raw. :func:`record_text` and :func:`revision_text` alone audit
    nothing: they are for rows whose raw read :meth:`export` has already audited.
    """

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session, self.principal = session, principal

    def raw(self, dataset_id: uuid.UUID) -> bool:
        """Whether the principal gets the dataset's text raw (span offsets follow the same choice)."""
        return may_read_raw(self.principal, dataset_id)

    def servable(self, row: RecordRow) -> bool:
        """A record waiting for masking has no masked form yet: it exists only for raw readers."""
        return row.mask_status == MASKED or self.raw(row.dataset_id)

    def only_servable(self, stmt: Select, dataset_id: uuid.UUID) -> Select:
        """``stmt`` over one dataset's records, narrowed to those :meth:`servable` keeps."""
        return stmt if self.raw(dataset_id) else stmt.where(RecordRow.mask_status == MASKED)

    def record_rows(self, dataset_id: uuid.UUID) -> Select:
        """One dataset's records as :meth:`records` serves them: rows of :data:`RECORD_FIELDS` and
        the text columns of the form the principal gets (raw, or masked), narrowed as
        :meth:`only_servable` narrows them. The raw columns are not read for a masked reader."""
        text = RAW_RECORD_TEXT if self.raw(dataset_id) else MASKED_RECORD_TEXT
        return self.only_servable(select(*RECORD_FIELDS, *text).where(RecordRow.dataset_id == dataset_id), dataset_id)

    def records(self, rows: Sequence[Any]) -> list[RecordText]:
        """Each record's text (``RecordRow``s, or rows of :meth:`record_rows`). Every record served
        raw is audited: one entry per dataset naming them."""
        texts, read = [], {}
        for row in rows:
            raw = self.raw(row.dataset_id)
            texts.append(record_text(row, raw=raw))
            if raw:
                read.setdefault(row.dataset_id, []).append(str(row.id))
        for dataset_id, ids in read.items():
            self._audit(f"dataset:{dataset_id}", dataset_id, {"records": ids})
        return texts

    def revisions(self, served: Sequence[tuple[AnnotationRow, RevisionRow]]) -> list[RevisionText]:
        """The free text of each revision, paired with its annotation. A raw read is audited when
        the text holds personal data (its masked form differs) or has not been scanned yet: one
        entry per dataset, naming the annotations."""
        texts, read = [], {}
        for annotation, revision in served:
            raw = self.raw(annotation.dataset_id)
            texts.append(revision_text(revision, raw=raw))
            if raw and _personal(revision):
                read.setdefault(annotation.dataset_id, set()).add(annotation.id)
        for dataset_id, ids in read.items():
            self._audit(f"dataset:{dataset_id}", dataset_id, {"annotations": sorted(str(i) for i in ids)})
        return texts

    def export(self, release: ReleaseRow) -> bool:
        """Whether the release's rows go out raw. A raw export is audited here, before its first
        row, because the rows are read later (a stream reads in a transaction of its own)."""
        raw = self.raw(release.dataset_id)
        if raw:
            self._audit(f"release:{release.id}", release.dataset_id, {"export": release.tag, "records": release.records})
        return raw

    def _audit(self, resource: str, dataset_id: uuid.UUID, details: dict[str, Any]) -> None:
        audit_log.append(
            self.session, actor=self.principal, action=Action.READ_RAW, resource=resource,
            dataset_id=dataset_id, details=details,
        )  # fmt: skip


def _personal(revision: RevisionRow) -> bool:
    return revision.mask_status != MASKED or (revision.masked_value, revision.masked_reason) != (
        revision.value, revision.reason,
    )
