"""Dependencies: the request's unit of work and the authenticated principal.

The session dependency has ``scope="function"``: it commits right after the handler returns and
before the response is sent, so a client never sees success for a change that did not commit.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from catalog.authz import Principal
from catalog.db import transaction
from catalog.errors import Unauthenticated
from catalog.services.principals import authenticate

_bearer = HTTPBearer(auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer API key: send 'Authorization: Bearer <key>'")
    return authenticate(session, key=credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def page_limit(request: Request, limit: Annotated[int | None, Query(ge=1)] = None) -> int:
    settings = request.app.state.settings
    return min(limit or settings.page_size_default, settings.page_size_max)


LimitDep = Annotated[int, Depends(page_limit)]
