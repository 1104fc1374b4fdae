"""Records: immutable prompts (multi-turn messages, optional candidates) with their metadata."""

import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.access.policy import Action, in_scope, require, scope_datasets
from catalog.access.serving import RecordText, Serving
from catalog.core import audit_log
from catalog.core.errors import Conflict, InvalidInput, NotFound
from catalog.core.hashing import canonical_json, content_hash, digest_strings, sha256_hex
from catalog.core.models import DatasetRow, RecordRow, new_id, utcnow
from catalog.core.pagination import Keyset, fetch_page
from catalog.core.principal import Principal
from catalog.core.schemas import Page
from catalog.datasets.service import visible_dataset
from catalog.records.schemas import RecordIds, RecordIn, RecordOut, RecordRetire

_LOOKUP_CHUNK = 500


def add_records(
    session: Session, *, principal: Principal, dataset_id: uuid.UUID, records: Sequence[RecordIn]
) -> RecordIds:
    """Add records all together or not at all (the caller's transaction rolls back on error)."""
    dataset = visible_dataset(session, principal, dataset_id)
    require(principal, Action.RECORD_CREATE, dataset_id=dataset_id)
    rows = [record_row(dataset, record, principal.id, utcnow()) for record in records]
    insert_records(session, dataset_id, rows)
    audit_log.append(
        session, actor=principal, action=Action.RECORD_CREATE, resource=f"dataset:{dataset_id}",
        dataset_id=dataset_id, details={"records": len(rows)},
    )
    return RecordIds(ids=[row["id"] for row in rows])


def record_row(dataset: DatasetRow, record: RecordIn, actor_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The row for one new record, hashes included (texts hashed as salted digests)."""
    content = record.content
    digested = digest_strings(content, dataset.text_salt)
    return {
        "id": new_id(),
        "dataset_id": dataset.id,
        "external_id": record.external_id,
        "content": content,
        "meta": record.metadata,
        "content_sha256": sha256_hex(canonical_json(digested)),
        "prompt_sha256": sha256_hex(canonical_json(digested["messages"])),
        "created_by": actor_id,
        "created_at": now,
    }


def prompt_hash(messages: list[dict[str, str]], salt: bytes) -> str:
    """What identifies a prompt across re-imports: its messages, without candidates or labels.
    (:func:`record_row` computes the same from the digests it already has.)"""
    return content_hash(messages, salt)


def insert_records(session: Session, dataset_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """Insert in one statement. The unique constraint finds taken external ids (an index lookup per
    row, whatever the planner's statistics say); only then is the clearer error worked out."""
    if not rows:
        return
    try:
        with session.begin_nested():
            session.execute(insert(RecordRow), rows)
    except IntegrityError:
        _refuse_taken_external_ids(session, dataset_id, [row["external_id"] for row in rows if row["external_id"]])
        raise


def _refuse_taken_external_ids(session: Session, dataset_id: uuid.UUID, external_ids: list[str]) -> None:
    repeated = {eid for eid, count in Counter(external_ids).items() if count > 1}
    taken: set[str] = set()
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        chunk = external_ids[start : start + _LOOKUP_CHUNK]
        taken.update(
            session.scalars(
                select(RecordRow.external_id).where(
                    RecordRow.dataset_id == dataset_id, RecordRow.external_id.in_(chunk)
                )
            )
        )
    if repeated or taken:
        duplicates = sorted(repeated | taken)
        raise Conflict(
            f"external_id already used in this dataset: {', '.join(duplicates[:10])}",
            {"external_ids": duplicates},
        )


RECORDS = Keyset("records", uuid.UUID)  # the cursors of list_records: a record id, scoped to its dataset


def list_records(
    session: Session,
    *,
    principal: Principal,
    dataset_id: uuid.UUID,
    limit: int,
    cursor: str | None = None,
    include_retired: bool = False,
) -> Page[RecordOut]:
    """A page of the dataset's records. The dataset's visibility is folded into the page: the
    roles decide whether the principal may see it at all, and a record of the page proves the
    dataset exists; only an empty page (or a cursor refused) asks whether it does, so that a
    missing dataset is the same 404 as an invisible one, before any cursor error."""
    if not in_scope(principal, dataset_id):
        raise NotFound("dataset not found", {"dataset_id": str(dataset_id)})
    serving = Serving(session, principal)
    stmt = serving.record_rows(dataset_id)  # plain rows, the raw columns only for a raw reader
    if not include_retired:
        stmt = stmt.where(RecordRow.retired_at.is_(None))
    try:
        rows, paging = fetch_page(
            session, stmt, RecordRow.id, keyset=RECORDS, limit=limit, cursor=cursor, scope=dataset_id, entity=False
        )  # fmt: skip
    except InvalidInput:
        visible_dataset(session, principal, dataset_id)
        raise
    if not rows:
        visible_dataset(session, principal, dataset_id)
    return paging.page(served(serving, list(rows)))


def get_record(session: Session, *, principal: Principal, record_id: uuid.UUID) -> RecordOut:
    row = visible_record(session, principal, record_id)
    return served(Serving(session, principal), [row])[0]


def served(serving: Serving, rows: list[Any]) -> list[RecordOut]:
    """Records as the principal may see them (callers pass only rows it may be served):
    ``RecordRow``s, or rows of ``Serving.record_rows``."""
    return [to_dto(row, text) for row, text in zip(rows, serving.records(rows), strict=True)]


def visible_record(session: Session, principal: Principal, record_id: uuid.UUID) -> RecordRow:
    """A record the principal may see: in a dataset it can see, and masked unless it may read raw."""
    row = visible_records(session, principal, [record_id]).get(record_id)
    if row is None:
        raise NotFound("record not found", {"record_id": str(record_id)})
    return row


def visible_records(
    session: Session, principal: Principal, record_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, RecordRow]:
    """Those of ``record_ids`` the principal may see (as :func:`visible_record` decides), by id."""
    stmt = scope_datasets(select(RecordRow).where(RecordRow.id.in_(record_ids)), principal, RecordRow.dataset_id)
    serving = Serving(session, principal)
    return {row.id: row for row in session.scalars(stmt) if serving.servable(row)}


def visible_record_keys(session: Session, principal: Principal, record_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """As :func:`visible_records`, but only each record's ``id``, ``dataset_id`` and
    ``mask_status`` (plain rows), for callers that need which records the principal may see, not
    what they hold: a page's annotations."""
    stmt = scope_datasets(
        select(RecordRow.id, RecordRow.dataset_id, RecordRow.mask_status).where(RecordRow.id.in_(record_ids)),
        principal, RecordRow.dataset_id,
    )  # fmt: skip
    serving = Serving(session, principal)
    return {row.id: row for row in session.execute(stmt) if serving.servable(row)}


def retire_record(
    session: Session, *, principal: Principal, record_id: uuid.UUID, data: RecordRetire
) -> RecordOut:
    """Retire one record by hand: it stays, with its annotations, but leaves future releases."""
    row = visible_record(session, principal, record_id)
    if row.retired_at is not None:
        raise Conflict("the record is already retired", {"retired_at": row.retired_at.isoformat()})
    retire_records(session, principal=principal, dataset_id=row.dataset_id, record_ids=[record_id], reason=data.reason)
    return served(Serving(session, principal), [row])[0]


def retire_records(
    session: Session,
    *,
    principal: Principal,
    dataset_id: uuid.UUID,
    record_ids: Iterable[uuid.UUID],
    reason: str,
) -> None:
    """Exclude records of one dataset from future releases. Nothing is deleted; the retirement is stamped."""
    require(principal, Action.RECORD_RETIRE, dataset_id=dataset_id)
    ids = list(record_ids)
    if not ids:
        return
    now = utcnow()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        stmt = select(RecordRow).where(RecordRow.dataset_id == dataset_id, RecordRow.id.in_(chunk))
        for row in session.scalars(stmt):
            row.retired_at, row.retired_by, row.retire_reason = now, principal.id, reason
    session.flush()
    audit_log.append(
        session, actor=principal, action=Action.RECORD_RETIRE, resource=f"dataset:{dataset_id}",
        dataset_id=dataset_id, details={"records": len(ids), "reason": reason},
    )


def to_dto(row: Any, served: RecordText) -> RecordOut:
    return RecordOut(
        id=row.id,
        dataset_id=row.dataset_id,
        external_id=row.external_id,
        text=served.text,
        messages=served.content["messages"],
        candidates=served.content.get("candidates"),
        metadata=served.meta,
        mask_status=row.mask_status,
        detector_version=row.detector_version,
        erased_at=row.erased_at,
        content_sha256=row.content_sha256,
        created_at=row.created_at,
        retired_at=row.retired_at,
        retire_reason=row.retire_reason,
    )
