"""Dependencies: the request's unit of work and the authenticated principal.

The session dependency has ``scope="function"``: it commits right after the handler returns and
before the response is sent, so a client never sees success for a change that did not commit.
Each session carries the request's audit context, so entries name the request and the client.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from catalog.access.service import KEY_PREFIX, authenticate, principal_for_identity
from catalog.core import audit_log
from catalog.core.config import Settings
from catalog.core.db import transaction
from catalog.core.errors import Unauthenticated
from catalog.core.principal import Principal
from catalog.pii_gate import service as masking

API_PREFIX = "/api/v1"

_bearer = HTTPBearer(auto_error=False)


def audit_context(request: Request) -> audit_log.AuditContext:
    return audit_log.AuditContext(
        request_id=getattr(request.state, "request_id", None),
        client=request.client.host if request.client else None,
    )


@contextmanager
def _unit_of_work(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.sessions) as session:
        session.info.update(audit_log.session_info(audit_context(request), request.app.state.sealer))
        session.info[masking.SCANNER_KEY] = request.app.state.scan
        yield session


def get_session(request: Request) -> Iterator[Session]:
    with _unit_of_work(request) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate in a transaction of its own, committed at once.

    A key's last use and an OIDC principal's provisioning are then kept whether or not the
    request that follows succeeds.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer API key: send 'Authorization: Bearer <key>'")
    with _unit_of_work(request) as session:
        principal = _authenticate(request, session, credentials.credentials)
    request.state.principal = principal  # for the audit entry of a request that fails later
    return principal


def _authenticate(request: Request, session: Session, token: str) -> Principal:
    """An API key (``lt_...``), or, when OIDC is configured, a JWT from the identity provider."""
    verifier = request.app.state.oidc
    if verifier is None or token.startswith(f"{KEY_PREFIX}_"):
        return authenticate(session, key=token)
    return principal_for_identity(session, verifier.verify(token))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def page_limit(request: Request, limit: Annotated[int | None, Query(ge=1)] = None) -> int:
    return page_size(request.app.state.settings, limit)


def page_size(settings: Settings, requested: int | None) -> int:
    """The page size asked for, capped at the maximum; the default when none was asked for."""
    return min(requested or settings.page_size_default, settings.page_size_max)


LimitDep = Annotated[int, Depends(page_limit)]
