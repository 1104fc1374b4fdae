"""The audit log, read-only: filtered pages, a JSONL export and the seals (``audit:read``)."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from api.deps import LimitDep, PrincipalDep, SessionDep
from catalog.audit import service as audit_trail
from catalog.audit.schemas import AuditEntryOut, AuditFilter, AuditSealOut
from catalog.core.db import transaction
from catalog.core.errors import InvalidInput
from catalog.core.principal import Principal
from catalog.core.schemas import Page

router = APIRouter(prefix="/audit", tags=["audit"])


def audit_filter(
    actor: str | None = None,
    action: str | None = None,
    resource: str | None = None,
    since: Annotated[str | None, Query(description="ISO 8601, with a timezone")] = None,
    until: Annotated[str | None, Query(description="ISO 8601, with a timezone")] = None,
) -> AuditFilter:
    try:
        return AuditFilter(actor=actor, action=action, resource=resource, since=since, until=until)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise InvalidInput(f"invalid filter: {where}: {error['msg'].removeprefix('Value error, ')}") from None


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("")
def list_entries(
    where: FilterDep, session: SessionDep, principal: PrincipalDep, limit: LimitDep, cursor: str | None = None
) -> Page[AuditEntryOut]:
    return audit_trail.list_entries(session, principal=principal, where=where, limit=limit, cursor=cursor)


@router.get("/export", response_class=StreamingResponse)
def export_entries(request: Request, where: FilterDep, session: SessionDep, principal: PrincipalDep) -> StreamingResponse:
    """Every matching entry as JSON Lines, streamed. The export is recorded in the log before it starts."""
    audit_trail.record_export(session, principal=principal, where=where)
    return StreamingResponse(_jsonl(request.app.state.sessions, principal, where), media_type="application/x-ndjson")


def _jsonl(sessions, principal: Principal, where: AuditFilter) -> Iterator[str]:
    """Reads in a session of its own: the request's session is closed once the response starts."""
    with transaction(sessions) as session:
        for entry in audit_trail.stream_entries(session, principal=principal, where=where):
            yield entry.model_dump_json() + "\n"


@router.get("/seals")
def list_seals(session: SessionDep, principal: PrincipalDep) -> list[AuditSealOut]:
    return audit_trail.list_seals(session, principal=principal)

