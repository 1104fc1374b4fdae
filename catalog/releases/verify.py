"""Proof that no release changed: each manifest still hashes to its root, and still names the
records and revisions as they are (whose own hashes :mod:`catalog.verification.service` has checked)."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.core.models import RecordRow, ReleaseRecordRow, ReleaseRevisionRow, ReleaseRow, RevisionRow
from catalog.core.provenance import Broken
from catalog.releases.export import manifest_leaves
from catalog.releases.manifest import merkle_root


def verify_releases(session: Session) -> int | Broken:
    count = 0
    for release in session.scalars(select(ReleaseRow).order_by(ReleaseRow.id)):
        broken = _stale_hash(session, release) or _recomputed(session, release)
        if broken:
            return broken
        count += 1
    return count


def _stale_hash(session: Session, release: ReleaseRow) -> Broken | None:
    what = f"release {release.tag} of dataset {release.dataset_id}"
    record = session.scalar(
        select(ReleaseRecordRow.record_id)
        .join(RecordRow, RecordRow.id == ReleaseRecordRow.record_id)
        .where(ReleaseRecordRow.release_id == release.id, RecordRow.content_sha256 != ReleaseRecordRow.record_sha256)
        .limit(1)
    )
    if record is not None:
        return Broken(what, f"record {record} no longer has the content_sha256 the manifest names")
    revision = session.scalar(
        select(ReleaseRevisionRow.revision_id)
        .join(RevisionRow, RevisionRow.id == ReleaseRevisionRow.revision_id)
        .where(ReleaseRevisionRow.release_id == release.id, RevisionRow.sha256 != ReleaseRevisionRow.revision_sha256)
        .limit(1)
    )
    if revision is not None:
        return Broken(what, f"annotation revision {revision} no longer has the sha256 the manifest names")
    return None


def _recomputed(session: Session, release: ReleaseRow) -> Broken | None:
    what = f"release {release.tag} of dataset {release.dataset_id}"
    stored = dict(session.execute(
        select(ReleaseRecordRow.position, ReleaseRecordRow.leaf_sha256).where(ReleaseRecordRow.release_id == release.id)
    ).all())  # fmt: skip
    if sorted(stored) != list(range(release.records)):
        return Broken(what, f"the manifest should hold {release.records} leaves at positions 0..{release.records - 1}")
    leaves = [leaf.sha256() for leaf in manifest_leaves(session, release.id)]
    changed = next((position for position, digest in enumerate(leaves) if digest != stored[position]), None)
    if changed is not None:
        return Broken(what, f"leaf {changed} does not hash to its recorded leaf_sha256")
    labels = session.scalar(select(func.count()).where(ReleaseRevisionRow.release_id == release.id))
    if labels != release.annotations:
        return Broken(what, f"the manifest should hold {release.annotations} label revisions, not {labels}")
    if merkle_root(leaves) != release.root:
        return Broken(what, "the manifest does not hash to the release's root")
    return None
