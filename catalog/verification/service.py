"""Proof that provenance was not changed behind the application's back.

Recomputes every record's content hash and every annotation's revision chain from the rows, in
one streaming pass each, every release's Merkle root (:mod:`catalog.releases.verify`),
and the audit log's chain and seals (:mod:`catalog.audit.verify`), and
names the first link that does not hold: a value edited, a row deleted or inserted, rows
reordered. (Cutting off an annotation's newest revisions, or recomputing its whole chain after
an edit, leaves a chain that holds; the audit log, which names every revision's hash, and its
seals are the record kept elsewhere that catches those.)
"""

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit.schemas import AuditSealOut
from catalog.audit.verify import AuditIntact, verify_audit
from catalog.core.audit_log import Sealer
from catalog.core.hashing import canonical_json, content_hash, sha256_hex
from catalog.core.models import AnnotationRow, DatasetRow, RecordRow, RevisionRow
from catalog.core.provenance import Broken, revision_sha256
from catalog.releases.verify import verify_releases

_STREAM = 2000


@dataclass(frozen=True)
class Summary:
    records: int
    annotations: int
    revisions: int
    releases: int
    audit: AuditIntact

    def __str__(self) -> str:
        return (
            f"intact: {self.records} records, {self.annotations} annotations, {self.revisions} revisions, "
            f"{self.releases} releases, {self.audit}"
        )


def verify(
    session: Session, sealer: Sealer | None = None, exported_seals: list[AuditSealOut] | None = None
) -> Summary | Broken:
    audit = verify_audit(session, sealer, exported_seals)
    if isinstance(audit, Broken):
        return audit
    records = _verify_records(session)
    if isinstance(records, Broken):
        return records
    chains = _verify_revisions(session)
    if isinstance(chains, Broken):
        return chains
    annotations, revisions = chains
    releases = verify_releases(session)
    if isinstance(releases, Broken):
        return releases
    return Summary(records=records, annotations=annotations, revisions=revisions, releases=releases, audit=audit)


def _verify_records(session: Session) -> int | Broken:
    count = 0
    rows = session.execute(
        select(RecordRow.id, RecordRow.content, RecordRow.content_digests, RecordRow.content_sha256, DatasetRow.text_salt)
        .join(DatasetRow, DatasetRow.id == RecordRow.dataset_id)
        .order_by(RecordRow.id)
        .execution_options(yield_per=_STREAM)
    )
    for record_id, content, digests, stored, salt in rows:
        # An erased record keeps its texts' salted digests, which are what content_sha256 covers.
        recomputed = sha256_hex(canonical_json(digests)) if digests is not None else content_hash(content, salt)
        if recomputed != stored:
            return Broken(f"record {record_id}", "its content does not match its content_sha256")
        count += 1
    return count


def _verify_revisions(session: Session) -> tuple[int, int] | Broken:
    annotations = revisions = 0
    for annotation_id, chain in _chains(session):
        annotations += 1
        previous = None
        for expected_number, (row, question, record_sha256, salt) in enumerate(chain, start=1):
            what = f"annotation {annotation_id} revision {row.revision}"
            if row.revision != expected_number:
                return Broken(what, f"expected revision {expected_number}: a revision was removed or inserted")
            if row.previous_sha256 != previous:
                return Broken(what, "previous_sha256 does not match the revision before it")
            if row.sha256 != _recompute(row, annotation_id, question, record_sha256, salt):
                return Broken(what, "its content does not match its sha256")
            previous = row.sha256
            revisions += 1
    return annotations, revisions


def _chains(session: Session) -> Iterator[tuple]:
    """Each annotation's revisions in order, streamed, with what their hashes cover."""
    rows = session.execute(
        select(RevisionRow, AnnotationRow.question, RecordRow.content_sha256, DatasetRow.text_salt)
        .join(AnnotationRow, AnnotationRow.id == RevisionRow.annotation_id)
        .join(RecordRow, RecordRow.id == AnnotationRow.record_id)
        .join(DatasetRow, DatasetRow.id == AnnotationRow.dataset_id)
        .order_by(RevisionRow.annotation_id, RevisionRow.revision)
        .execution_options(yield_per=_STREAM)
    )
    current, chain = None, []
    for row, question, record_sha256, salt in rows:
        if row.annotation_id != current and chain:
            yield current, chain
            chain = []
        current = row.annotation_id
        chain.append((row, question, record_sha256, salt))
    if chain:
        yield current, chain


def _recompute(row: RevisionRow, annotation_id, question: str, record_sha256: str, salt: bytes) -> str:
    return revision_sha256(
        annotation_id=annotation_id,
        record_sha256=record_sha256,
        question=question,
        revision=row.revision,
        kind=row.kind,
        actor_id=row.actor_id,
        source=row.source,
        guideline_version=row.guideline_version,
        value=row.value,
        status=row.status,
        reason=row.reason,
        created_at=row.created_at,
        previous_sha256=row.previous_sha256,
        salt=salt,
    )
