"""Dependencies: the request's unit of work and the authenticated principal.

The session dependency has ``scope="function"``: it commits right after the handler returns and
before the response is sent, so a client never sees success for a change that did not commit.
Each session carries the request's audit context, so entries name the request and the client.

On SQLite a unit of work that writes must say so before its first statement, so that it begins
with the write lock (``catalog.core.db.will_write``): a request that is not a plain read does,
and so does a read whose principal's reads are audited (raw text, the audit export), which is
known once the principal is authenticated, in a short transaction of its own, before the
request's first statement. GraphQL decides per operation (``get_graphql_session``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from catalog.access.policy import reads_are_audited
from catalog.access.service import KEY_PREFIX, KeyHolder, identify, principal_for_identity, stamp_use
from catalog.core import audit_log
from catalog.core.config import Settings
from catalog.core.db import transaction, will_write
from catalog.core.errors import Unauthenticated
from catalog.core.json_input import NUL, NUL_PROBLEM
from catalog.core.logging import get_logger
from catalog.core.principal import Principal
from catalog.pii_gate import service as masking

API_PREFIX = "/api/v1"
READS = frozenset({"GET", "HEAD", "OPTIONS"})
log = get_logger(__name__)

_bearer = HTTPBearer(auto_error=False)


def audit_context(request: Request) -> audit_log.AuditContext:
    return audit_log.AuditContext(
        request_id=getattr(request.state, "request_id", None),
        client=request.client.host if request.client else None,
    )


@contextmanager
def _unit_of_work(request: Request, *, write: bool) -> Iterator[Session]:
    with transaction(request.app.state.sessions, write=write) as session:
        session.info.update(audit_log.session_info(audit_context(request), request.app.state.sealer))
        session.info[masking.SCANNER_KEY] = request.app.state.scan
        yield session


@contextmanager
def read_session(request: Request) -> Iterator[Session]:
    """A short read transaction of its own, beside the request's unit of work: for a check that
    may refuse the request before its unit of work runs its first statement (and, if a writer,
    takes SQLite's write lock)."""
    with _unit_of_work(request, write=False) as session:
        yield session


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: a writer unless the request is a plain read (or, once the
    principal is known, a read that is audited)."""
    with _unit_of_work(request, write=request.method not in READS) as session:
        _join(request, session)
        yield session


def get_graphql_session(request: Request) -> Iterator[Session]:
    """GraphQL's unit of work: a GraphQL request is a POST whatever it does, so it begins as a
    reader and becomes a writer before its first statement when its principal's reads are
    audited, or when its operation is a mutation (``api.graphql.context``)."""
    with _unit_of_work(request, write=False) as session:
        _join(request, session)
        yield session


def _join(request: Request, session: Session) -> None:
    """Keep the session where :func:`get_principal` finds it; if the principal came first,
    mark the session a writer now when that principal's reads are audited."""
    request.state.session = session
    principal = getattr(request.state, "principal", None)
    if principal is not None and reads_are_audited(principal):
        will_write(session)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
GraphQLSessionDep = Annotated[Session, Depends(get_graphql_session, scope="function")]


def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate in a read transaction of its own, before the request's first statement.

    What authentication writes goes into short writer transactions of their own, committed at
    once, so that it is kept whether or not the request succeeds, and a read need not take the
    write lock for it: a key's last use (at most once a minute) and an OIDC principal's
    provisioning (on first sight).
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer API key: send 'Authorization: Bearer <key>'")
    principal = _authenticate(request, credentials.credentials)
    request.state.principal = principal  # for the audit entry of a request that fails later
    session = getattr(request.state, "session", None)
    if session is not None and reads_are_audited(principal):
        will_write(session)
    return principal


def _authenticate(request: Request, token: str) -> Principal:
    """An API key (``lt_...``), or, when OIDC is configured, a JWT from the identity provider."""
    verifier = request.app.state.oidc
    if verifier is None or token.startswith(f"{KEY_PREFIX}_"):
        with _unit_of_work(request, write=False) as session:
            holder = identify(session, key=token)
        _stamp(request, holder)
        return holder.principal
    identity = verifier.verify(token)
    with _unit_of_work(request, write=False) as session:
        found = principal_for_identity(session, identity, provision=False)
    if found is not None:
        return found
    with _unit_of_work(request, write=True) as session:
        return principal_for_identity(session, identity)


def _stamp(request: Request, holder: KeyHolder) -> None:
    """Stamp the key's last use when due. It is bookkeeping: if the database stays busy past
    the timeout, the request goes on and a later one stamps it."""
    if holder.stamp_due is None:
        return
    try:
        with _unit_of_work(request, write=True) as session:
            stamp_use(session, holder.stamp_due)
    except OperationalError as error:
        log.warning("key_use_not_stamped", error=type(error.orig).__name__)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def no_nul_in_parameters(request: Request) -> None:
    """Every route's (the app's dependency): no NUL in a query or path parameter, which the
    input schemas cannot see; a 422 naming the parameter, as any invalid one."""
    found = [
        {"type": "value_error", "loc": (where, name), "msg": NUL_PROBLEM, "input": value}
        for where, items in (("path", request.path_params.items()), ("query", request.query_params.multi_items()))
        for name, value in items
        if NUL in name or NUL in str(value)
    ]
    if found:
        raise RequestValidationError(found)


INT32_MAX = 2**31 - 1  # GraphQL's Int: the largest number either API takes as a count or version


def page_limit(request: Request, limit: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None) -> int:
    return page_size(request.app.state.settings, limit)


def page_size(settings: Settings, requested: int | None) -> int:
    """The page size asked for, capped at the maximum; the default when none was asked for."""
    return min(requested or settings.page_size_default, settings.page_size_max)


LimitDep = Annotated[int, Depends(page_limit)]
