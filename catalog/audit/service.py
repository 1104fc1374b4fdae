"""Reading the audit log: filtered pages, a streaming export and the seals. Nothing here writes
to the log but the record of an export; nothing anywhere updates or deletes an entry."""

from collections.abc import Iterator

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require
from catalog.audit.schemas import AuditEntryOut, AuditFilter, AuditSealOut
from catalog.core import audit_log
from catalog.core.models import AuditEntryRow, AuditSealRow
from catalog.core.pagination import Keyset, seq_of
from catalog.core.principal import Principal
from catalog.core.schemas import Page

_STREAM = 1000
ENTRIES = Keyset("audit", int)  # the cursors of list_entries: an entry's seq


def list_entries(
    session: Session, *, principal: Principal, where: AuditFilter, limit: int, cursor: str | None = None
) -> Page[AuditEntryOut]:
    """Entries oldest first, after ``cursor``: a page's ``next_cursor`` or (deprecated) a plain seq."""
    require(principal, Action.AUDIT_READ)
    stmt = _filtered(where)
    if cursor:
        stmt = stmt.where(AuditEntryRow.seq > _after(cursor))
    rows = session.scalars(stmt.order_by(AuditEntryRow.seq).limit(limit + 1)).all()
    rows, more = rows[:limit], len(rows) > limit
    return ENTRIES.paging([row.seq for row in rows], more=more).page([_to_dto(row) for row in rows])


def record_export(session: Session, *, principal: Principal, where: AuditFilter) -> None:
    """An export is itself recorded, so the log shows who took a copy of it, and of what."""
    require(principal, Action.AUDIT_READ)
    audit_log.append(
        session, actor=principal, action="audit:export", resource="audit",
        details=where.model_dump(mode="json", exclude_none=True),
    )


def stream_entries(session: Session, *, principal: Principal, where: AuditFilter) -> Iterator[AuditEntryOut]:
    """Every matching entry, oldest first, streamed in constant memory."""
    require(principal, Action.AUDIT_READ)
    stmt = _filtered(where).order_by(AuditEntryRow.seq).execution_options(yield_per=_STREAM)
    for row in session.scalars(stmt):
        yield _to_dto(row)


def list_seals(session: Session, *, principal: Principal) -> list[AuditSealOut]:
    require(principal, Action.AUDIT_READ)
    rows = session.scalars(select(AuditSealRow).order_by(AuditSealRow.seq))
    return [AuditSealOut.model_validate(row, from_attributes=True) for row in rows]


def _filtered(where: AuditFilter) -> Select:
    stmt = select(AuditEntryRow)
    if where.actor is not None:
        stmt = stmt.where(AuditEntryRow.actor_name == where.actor)
    if where.action is not None:
        stmt = stmt.where(AuditEntryRow.action == where.action)
    if where.resource is not None:
        stmt = stmt.where(AuditEntryRow.resource == where.resource)
    if where.since is not None:
        stmt = stmt.where(AuditEntryRow.occurred_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(AuditEntryRow.occurred_at < where.until)
    return stmt


def _after(cursor: str) -> int:
    """The seq a cursor stands after. A plain number is the deprecated cursor docs/api.md once
    promised (the last seq of the previous page), still accepted."""
    if cursor.isascii() and cursor.isdigit():
        return seq_of(cursor)
    return ENTRIES.position(cursor)


def _to_dto(row: AuditEntryRow) -> AuditEntryOut:
    return AuditEntryOut(
        seq=row.seq, occurred_at=row.occurred_at, actor_id=row.actor_id, actor_name=row.actor_name,
        roles=row.roles.split(",") if row.roles else [], action=row.action, resource=row.resource,
        outcome=row.outcome, request_id=row.request_id, client=row.client, details=row.details,
        previous_sha256=row.previous_sha256, sha256=row.sha256,
    )
