"""Releases: cut an immutable, content-addressed version of a dataset; read, compare and verify them.

Cutting reads the dataset once into a manifest (:mod:`catalog.releases.manifest_rows`), writes it,
profiles it in SQL, checks it for train/test contamination and evaluates the release gates, all
in the caller's transaction: a refused release leaves nothing behind but the audit entry of the
refusal. After that the release is only ever read.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require
from catalog.access.service import principal_names
from catalog.access.serving import Serving
from catalog.core import audit_log, outbox
from catalog.core.config import ReleasePolicy
from catalog.core.errors import Conflict, InvalidInput, NotFound
from catalog.core.models import MASKED, RecordRow, ReleaseRecordRow, ReleaseRevisionRow, ReleaseRow, new_id, utcnow
from catalog.core.pagination import Keyset, Paging
from catalog.core.principal import Principal
from catalog.core.schemas import Page
from catalog.datasets.label_schema import LabelSchema
from catalog.datasets.service import find_dataset_id, visible_dataset
from catalog.releases import contamination, export
from catalog.releases.diff import changes
from catalog.releases.features import fill_features
from catalog.releases.gates import ReleaseFacts, evaluate, masking_gate
from catalog.releases.manifest import Leaf, merkle_root
from catalog.releases.manifest_rows import ReleasedLabel, awaiting_masking, leaves, releasable_labels
from catalog.releases.profile import build_profile
from catalog.releases.schemas import (
    ContaminationOut,
    ExportRow,
    GateResult,
    Profile,
    ReleaseCreate,
    ReleaseDiff,
    ReleaseOut,
    SplitRatios,
)

_CHUNK = 5000


class ReleaseRefused(Conflict):
    """A release gate failed and no admin overrode it."""


def cut_release(
    session: Session, *, principal: Principal, dataset_id: uuid.UUID, data: ReleaseCreate, policy: ReleasePolicy
) -> ReleaseOut:
    """Cut release ``data.tag`` of the dataset, or refuse it with every failing gate named."""
    started = utcnow()
    dataset = visible_dataset(session, principal, dataset_id)
    require(principal, Action.RELEASE_CREATE, dataset_id=dataset_id)
    if data.override is not None:
        require(principal, Action.RELEASE_OVERRIDE, dataset_id=dataset_id)
    refuse_unmasked(session, principal=principal, dataset_id=dataset_id, data=data, policy=policy)
    _refuse_taken_tag(session, dataset_id, data.tag)
    benchmark_ids = [find_dataset_id(session, principal=principal, name=name) for name in data.benchmarks]
    labels = releasable_labels(session, dataset_id, [status.value for status in data.statuses])
    manifest = leaves(session, dataset_id, labels, data.splits)
    if not manifest:
        raise Conflict("the dataset has no active records to release", {"dataset_id": str(dataset_id)})
    row = _release_row(session, dataset_id, data, principal, manifest)
    session.add(row)
    session.flush()
    _write_manifest(session, row, manifest, labels)
    schema = LabelSchema.model_validate(dataset.label_schema)
    fill_features(session, row.id, schema)
    row.profile = build_profile(session, row.id, schema).model_dump()
    found = contamination.find_contamination(
        _prompts(session, row.id), benchmark=_benchmark_prompts(session, benchmark_ids),
        threshold=policy.near_duplicate_threshold,
    )  # fmt: skip
    row.contamination = found.model_dump(mode="json")
    gates = evaluate(policy, _facts(manifest, labels, found))
    row.gates = [gate.model_dump() for gate in gates]
    row.override = _override(principal, data, gates)
    session.flush()
    _audit_cut(session, principal, row)
    _announce_cut(session, row, started)
    return _to_dto(row, {principal.id: principal.name})


def refuse_unmasked(
    session: Session, *, principal: Principal, dataset_id: uuid.UUID, data: ReleaseCreate, policy: ReleasePolicy
) -> None:
    """The masking gate, checked first and cheaply: refuse a release while text of the dataset
    awaits the PII gate (unless the policy does not ask for it, or an admin overrides), with two
    counts over the pending rows, before the manifest is read or anything is written.

    :func:`cut_release` calls it before its work; the REST route calls it in a read transaction of
    its own first, so that a client polling a release while records are masked never takes the
    write lock (SQLite) nor spends the cut's work on a refusal. The refusal names the masking gate
    only: the others are evaluated once it passes.
    """
    if not policy.require_masked or data.override is not None:
        return
    visible_dataset(session, principal, dataset_id)
    require(principal, Action.RELEASE_CREATE, dataset_id=dataset_id)
    _refuse_taken_tag(session, dataset_id, data.tag)
    records, labels = awaiting_masking(session, dataset_id, [status.value for status in data.statuses])
    if records or labels:
        gate = masking_gate(records, labels)
        raise ReleaseRefused(
            f"release '{data.tag}' refused by its gates: {gate.gate}: {gate.detail}", {"gates": [gate.model_dump()]}
        )


def list_releases(session: Session, *, principal: Principal, dataset_id: uuid.UUID) -> list[ReleaseOut]:
    visible_dataset(session, principal, dataset_id)
    rows = session.scalars(select(ReleaseRow).where(ReleaseRow.dataset_id == dataset_id).order_by(ReleaseRow.id)).all()
    names = principal_names(session, (row.created_by for row in rows))
    return [_to_dto(row, names) for row in rows]


def get_release(session: Session, *, principal: Principal, dataset_id: uuid.UUID, tag: str) -> ReleaseOut:
    row = visible_release(session, principal, dataset_id, tag)
    return _to_dto(row, principal_names(session, [row.created_by]))


def get_profile(session: Session, *, principal: Principal, dataset_id: uuid.UUID, tag: str) -> Profile:
    return Profile.model_validate(visible_release(session, principal, dataset_id, tag).profile)


def diff_releases(
    session: Session, *, principal: Principal, dataset_id: uuid.UUID, base: str, target: str, drift_share: float = 0.5
) -> ReleaseDiff:
    """Records and labels added, removed and changed from ``base`` to ``target``, and the shift between them."""
    if not 0 < drift_share <= 1:
        raise InvalidInput("drift_share must be greater than 0 and at most 1", {"drift_share": drift_share})
    old = visible_release(session, principal, dataset_id, base)
    new = visible_release(session, principal, dataset_id, target)
    from catalog.releases import shift  # SciPy: imported by the diff that needs it, not with the catalog

    found = changes(session, old.id, new.id)
    drift = shift.compare(Profile.model_validate(old.profile), Profile.model_validate(new.profile), drift_share=drift_share)
    return ReleaseDiff(base=base, target=target, **found.counts, examples=found.examples, shift=drift)


@dataclass(frozen=True)
class ReleaseStream:
    """A release about to be streamed, and whether its text goes out raw (already audited if so)."""

    release_id: uuid.UUID
    tag: str
    raw: bool


def open_manifest(session: Session, *, principal: Principal, dataset_id: uuid.UUID, tag: str) -> ReleaseStream:
    return ReleaseStream(visible_release(session, principal, dataset_id, tag).id, tag, raw=False)


def open_export(session: Session, *, principal: Principal, dataset_id: uuid.UUID, tag: str) -> ReleaseStream:
    """Check access to the release and decide raw or masked; a raw export is audited then, before it starts."""
    row = visible_release(session, principal, dataset_id, tag)
    return ReleaseStream(row.id, tag, raw=Serving(session, principal).export(row))


def manifest_documents(session: Session, stream: ReleaseStream) -> Iterator[dict[str, Any]]:
    """The manifest's leaves as the JSON documents their hashes cover, in leaf order."""
    for leaf in export.manifest_leaves(session, stream.release_id):
        yield leaf.document()


def export_documents(session: Session, stream: ReleaseStream) -> Iterator[ExportRow]:
    return export.export_rows(session, stream.release_id, raw=stream.raw)


# The cursors of manifest_page and export_page: a record id, scoped to the release.
MANIFEST = Keyset("manifest", uuid.UUID)
EXPORT = Keyset("export", uuid.UUID)


def manifest_page(
    session: Session, *, principal: Principal, dataset_id: uuid.UUID, tag: str, limit: int, cursor: str | None = None
) -> Page[dict[str, Any]]:
    """A page of the manifest's leaf documents, in leaf order."""
    stream = open_manifest(session, principal=principal, dataset_id=dataset_id, tag=tag)
    after = MANIFEST.after(cursor, stream.release_id)
    found = export.manifest_page(session, stream.release_id, limit=limit + 1, after=after)
    paging = _paging(MANIFEST, stream, found, limit)
    return paging.page([leaf.document() for leaf in found[:limit]])


def export_page(
    session: Session, *, principal: Principal, dataset_id: uuid.UUID, tag: str, limit: int, cursor: str | None = None
) -> Page[ExportRow]:
    """A page of the release's training rows; a raw page is audited as :func:`open_export` audits."""
    stream = open_export(session, principal=principal, dataset_id=dataset_id, tag=tag)
    after = EXPORT.after(cursor, stream.release_id)
    rows = export.export_page(session, stream.release_id, raw=stream.raw, limit=limit + 1, after=after)
    return _paging(EXPORT, stream, rows, limit).page(rows[:limit])


def _paging(keyset: Keyset, stream: ReleaseStream, items: list, limit: int) -> Paging:
    """The paging of up to ``limit + 1`` items fetched in record order."""
    keys = [item.record_id for item in items[:limit]]
    return keyset.paging(keys, more=len(items) > limit, scope=stream.release_id)


def visible_release(session: Session, principal: Principal, dataset_id: uuid.UUID, tag: str) -> ReleaseRow:
    """The release if the principal may see its dataset; otherwise the same 404 as a missing one."""
    visible_dataset(session, principal, dataset_id)
    row = session.scalar(select(ReleaseRow).where(ReleaseRow.dataset_id == dataset_id, ReleaseRow.tag == tag))
    if row is None:
        raise NotFound(f"release '{tag}' not found", {"tag": tag})
    return row


def _refuse_taken_tag(session: Session, dataset_id: uuid.UUID, tag: str) -> None:
    if session.scalar(select(ReleaseRow.id).where(ReleaseRow.dataset_id == dataset_id, ReleaseRow.tag == tag)):
        raise Conflict(f"release '{tag}' already exists; a release is never changed", {"tag": tag})


def _release_row(
    session: Session, dataset_id: uuid.UUID, data: ReleaseCreate, principal: Principal, manifest: list[Leaf]
) -> ReleaseRow:
    row = ReleaseRow(
        id=new_id(),
        dataset_id=dataset_id,
        tag=data.tag,
        notes=data.notes,
        statuses=[status.value for status in data.statuses],
        splits=data.splits.model_dump(),
        root=merkle_root(leaf.sha256() for leaf in manifest),
        records=len(manifest),
        annotations=sum(len(leaf.annotations) for leaf in manifest),
        profile={},
        contamination={},
        gates=[],
        created_by=principal.id,
        created_at=utcnow(),
    )
    if session.get_bind().dialect.name != "postgresql":  # there, the identity column numbers it
        row.number = select(func.coalesce(func.max(ReleaseRow.number), 0) + 1).scalar_subquery()
    return row


def _write_manifest(
    session: Session, release: ReleaseRow, manifest: list[Leaf], labels: dict[uuid.UUID, list[ReleasedLabel]]
) -> None:
    keys = {"release_id": release.id, "release_number": release.number}
    records = [
        {
            **keys, "position": position, "record_id": leaf.record_id,
            "record_sha256": leaf.record_sha256, "masked_sha256": leaf.masked_sha256,
            "detector_version": leaf.detector_version, "split": leaf.split, "leaf_sha256": leaf.sha256(),
        }  # fmt: skip
        for position, leaf in enumerate(manifest)
    ]
    revisions = [
        {
            **keys, "revision_id": label.entry.revision_id, "record_id": leaf.record_id,
            "annotation_id": label.entry.annotation_id, "revision_sha256": label.entry.sha256,
        }  # fmt: skip
        for leaf in manifest
        for label in labels.get(leaf.record_id, ())
    ]
    for table, rows in ((ReleaseRecordRow, records), (ReleaseRevisionRow, revisions)):
        for start in range(0, len(rows), _CHUNK):
            session.execute(insert(table), rows[start : start + _CHUNK])


def _prompts(session: Session, release_id: uuid.UUID) -> Iterator[contamination.Prompt]:
    """The masked prompt text of each released record; records awaiting masking are left out."""
    rows = session.execute(
        select(RecordRow.id, ReleaseRecordRow.split, RecordRow.masked_content)
        .join(RecordRow, RecordRow.id == ReleaseRecordRow.record_id)
        .where(ReleaseRecordRow.release_id == release_id, RecordRow.mask_status == MASKED)
        .execution_options(yield_per=2000)
    )
    for record_id, split, content in rows:
        yield contamination.Prompt(record_id=record_id, split=split, text=prompt_text(content))


def _benchmark_prompts(session: Session, dataset_ids: list[uuid.UUID]) -> Iterator[contamination.Prompt]:
    if not dataset_ids:
        return
    rows = session.execute(
        select(RecordRow.id, RecordRow.masked_content)
        .where(RecordRow.dataset_id.in_(dataset_ids), RecordRow.retired_at.is_(None), RecordRow.mask_status == MASKED)
        .execution_options(yield_per=2000)
    )
    for record_id, content in rows:
        yield contamination.Prompt(record_id=record_id, split="benchmark", text=prompt_text(content))


def prompt_text(content: dict) -> str:
    return "\n".join(message["content"] for message in content["messages"])


def _facts(
    manifest: list[Leaf], labels: dict[uuid.UUID, list[ReleasedLabel]], found: ContaminationOut
) -> ReleaseFacts:
    released = [label for leaf in manifest for label in labels.get(leaf.record_id, ())]
    return ReleaseFacts(
        pending_records=sum(leaf.masked_sha256 is None for leaf in manifest),
        pending_labels=sum(not label.masked for label in released),
        labels_without_guideline=sum(label.guideline_version is None for label in released),
        contamination_share=found.share,
    )


def _override(principal: Principal, data: ReleaseCreate, gates: list[GateResult]) -> dict | None:
    """Refuse a release that fails a gate, unless an admin set the policy aside with a reason."""
    failed = [gate for gate in gates if not gate.passed]
    if not failed:
        return None
    if data.override is None:
        reasons = "; ".join(f"{gate.gate}: {gate.detail}" for gate in failed)
        raise ReleaseRefused(
            f"release '{data.tag}' refused by its gates: {reasons}",
            {"gates": [gate.model_dump() for gate in failed]},
        )
    return {"by": principal.name, "reason": data.override.reason, "failed": [gate.gate for gate in failed]}


def _audit_cut(session: Session, principal: Principal, row: ReleaseRow) -> None:
    details = {"tag": row.tag, "root": row.root, "records": row.records, "annotations": row.annotations}
    audit_log.append(
        session, actor=principal, action=Action.RELEASE_CREATE, resource=f"release:{row.id}",
        dataset_id=row.dataset_id, details=details,
    )  # fmt: skip
    if row.override is not None:
        audit_log.append(
            session, actor=principal, action=Action.RELEASE_OVERRIDE, resource=f"release:{row.id}",
            dataset_id=row.dataset_id, details={"tag": row.tag, **row.override},
        )  # fmt: skip


def _announce_cut(session: Session, row: ReleaseRow, started: datetime) -> None:
    """The release's outbox row, written once the gates passed: a refused release raises before it."""
    facts = {
        "dataset_id": str(row.dataset_id), "release_id": str(row.id), "tag": row.tag, "root": row.root,
        "records": row.records, "annotations": row.annotations, "overridden": row.override is not None,
    }  # fmt: skip
    outbox.record(session, kind=outbox.Kind.RELEASE, facts=facts, started_at=started)


def _to_dto(row: ReleaseRow, names: dict[uuid.UUID, str]) -> ReleaseOut:
    profile = Profile.model_validate(row.profile)
    return ReleaseOut(
        id=row.id,
        dataset_id=row.dataset_id,
        tag=row.tag,
        notes=row.notes,
        root=row.root,
        records=row.records,
        annotations=row.annotations,
        statuses=row.statuses,
        splits=SplitRatios.model_validate(row.splits),
        split_counts=profile.categorical.get("split", {}),
        gates=[GateResult.model_validate(gate) for gate in row.gates],
        override=row.override,
        contamination=ContaminationOut.model_validate(row.contamination),
        created_by=names.get(row.created_by, ""),
        created_at=row.created_at,
    )
