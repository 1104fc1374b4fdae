"""Audit entries for requests that did not succeed: failed authentication, denials, failed writes.

A REST request's entry is written after its transaction rolled back, in a transaction of its
own, so the record of a refused or failed attempt survives the rollback of the attempt. A
GraphQL operation's attempt is rolled back to a savepoint and its entry goes into the request's
own transaction, which carries on (GraphQL answers failures inside a 200 and commits).
Reads that fail for other reasons (a 404 on a GET, a query that finds nothing) are not audited:
they changed nothing and showed nothing. Error messages are masked before they are written
(they may echo personal data).
"""

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import API_PREFIX, audit_context
from catalog.core import audit_log
from catalog.core.principal import Principal
from catalog.pii_gate.service import SCANNER_KEY, Scan

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_MESSAGE_LIMIT = 500


async def record_failed_request(request: Request, *, status: int, code: str, message: str, action: str | None) -> None:
    outcome = failure_outcome(code, write=request.method not in _READS)
    if outcome is None:
        return
    principal = getattr(request.state, "principal", None)
    masked = await run_in_threadpool(masked_message, request.app.state.scan, message)
    await run_in_threadpool(
        audit_log.record_failure,
        request.app.state.sessions,
        context=audit_context(request),
        sealer=request.app.state.sealer,
        actor=principal if outcome is not audit_log.Outcome.UNAUTHENTICATED else None,
        action=action or ("auth:authenticate" if outcome is audit_log.Outcome.UNAUTHENTICATED else _route(request)),
        resource=request.url.path,
        outcome=outcome,
        details={"method": request.method, "status": status, "code": code, "message": masked},
    )


def record_failed_operation(
    session: Session,
    *,
    principal: Principal,
    field: str,
    write: bool,
    code: str,
    message: str,
    action: str | None,
    resource: str,
) -> None:
    """The entry for a GraphQL field that failed (``field``: the query or mutation), in ``session``.

    ``action`` is the policy action refused, if any; otherwise the entry names ``graphql:<field>``.
    """
    outcome = failure_outcome(code, write=write)
    if outcome is None:
        return
    audit_log.append_failure(
        session,
        actor=principal,
        action=action or f"graphql:{field}",
        resource=resource,
        outcome=outcome,
        details={"graphql": field, "code": code, "message": masked_message(session.info[SCANNER_KEY], message)},
    )


def failure_outcome(code: str, *, write: bool) -> audit_log.Outcome | None:
    """How a failure is recorded, or None when it is not: failed reads that were not refused."""
    if code == "UNAUTHENTICATED":
        return audit_log.Outcome.UNAUTHENTICATED
    if code == "FORBIDDEN":
        return audit_log.Outcome.DENIED
    if write:
        return audit_log.Outcome.FAILED
    return None


def masked_message(scan: Scan, message: str) -> str:
    """Error messages echo what the caller sent, and compliance officers read the audit log
    without read_raw: the message goes through the PII gate before it is written."""
    [masked] = scan([audit_log.storable(message[:_MESSAGE_LIMIT])])
    return masked.text


def _route(request: Request) -> str:
    """The operation as its template (``POST /api/v1/datasets/{dataset_id}/records``), not its values.

    A route included with a prefix knows only its own part of the path, so the prefix is added.
    """
    route, path = request.scope.get("route"), request.url.path
    if route is None:
        return f"{request.method} {path}"
    prefix = API_PREFIX if path.startswith(API_PREFIX) and not route.path.startswith(API_PREFIX) else ""
    return f"{request.method} {prefix}{route.path}"
