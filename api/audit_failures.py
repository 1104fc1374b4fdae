"""Audit entries for requests that did not succeed: failed authentication, denials, failed writes.

They are written after the request's transaction rolled back, in a transaction of their own,
so the record of a refused or failed attempt survives the rollback of the attempt.
Reads that fail for other reasons (a 404 on a GET) are not audited: they changed nothing and
showed nothing. Error messages are masked before they are written (they may echo personal data).
"""

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.deps import API_PREFIX, audit_context
from catalog import audit

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def record_failed_request(request: Request, *, status: int, code: str, message: str, action: str | None) -> None:
    outcome = _outcome(request, code)
    if outcome is None:
        return
    principal = getattr(request.state, "principal", None)
    await run_in_threadpool(
        audit.record_failure,
        request.app.state.sessions,
        context=audit_context(request),
        sealer=request.app.state.sealer,
        actor=principal if outcome is not audit.Outcome.UNAUTHENTICATED else None,
        action=action or ("auth:authenticate" if outcome is audit.Outcome.UNAUTHENTICATED else _route(request)),
        resource=request.url.path,
        outcome=outcome,
        details={"method": request.method, "status": status, "code": code, "message": await _masked(request, message)},
    )


async def _masked(request: Request, message: str) -> str:
    """Error messages echo what the caller sent, and compliance officers read the audit log
    without read_raw: the message goes through the PII gate before it is written."""
    [masked] = await run_in_threadpool(request.app.state.scan, [audit.storable(message[:500])])
    return masked.text


def _outcome(request: Request, code: str) -> audit.Outcome | None:
    if code == "UNAUTHENTICATED":
        return audit.Outcome.UNAUTHENTICATED
    if code == "FORBIDDEN":
        return audit.Outcome.DENIED
    if request.method not in _READS:
        return audit.Outcome.FAILED
    return None


def _route(request: Request) -> str:
    """The operation as its template (``POST /api/v1/datasets/{dataset_id}/records``), not its values.

    A route included with a prefix knows only its own part of the path, so the prefix is added.
    """
    route, path = request.scope.get("route"), request.url.path
    if route is None:
        return f"{request.method} {path}"
    prefix = API_PREFIX if path.startswith(API_PREFIX) and not route.path.startswith(API_PREFIX) else ""
    return f"{request.method} {prefix}{route.path}"
