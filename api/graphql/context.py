"""The per-request context: the request's session and principal, from the same dependencies as
REST, and the one way resolvers and loaders reach the services.

Services are synchronous and share one session, so calls take turns (a lock) and run in the
thread pool, off the event loop. A mutation runs in a savepoint: when it raises, its writes are
rolled back and only its audit entry stays, in the request's transaction, which the session
dependency commits before the response is sent (a GraphQL failure is still a 200).

The request's session begins as a reader (``api.deps.get_graphql_session``). A mutation marks it
a writer before its first statement, so on SQLite it begins with the write lock. A query that
is refused is recorded in a short transaction of its own when the request's is a reader: a
reader that starts writing is what SQLite fails when another writer committed meanwhile.
"""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from api.audit_failures import record_failed_operation
from api.deps import GraphQLSessionDep, PrincipalDep, page_size
from api.graphql.errors import as_domain_error
from api.graphql.inputs import dtos_of
from api.graphql.loaders import Loaders
from catalog.core.config import Settings
from catalog.core.db import is_writer, transaction, will_write
from catalog.core.errors import DomainError, InvalidInput
from catalog.core.principal import Principal

T = TypeVar("T")
ENDPOINT = "/graphql"  # the resource named by audit entries that have no more precise one


class Context(BaseContext):
    def __init__(
        self, *, session: Session, principal: Principal, settings: Settings, sessions: sessionmaker[Session],
    ) -> None:
        super().__init__()
        self.session = session
        self._sessions = sessions
        self.principal = principal
        self.settings = settings
        self.loaders = Loaders(self.call)
        self._turn = asyncio.Lock()

    async def call(
        self, service: Callable[..., T], arguments: dict[str, Any], *, field: str, write: bool = False,
        resource: str = ENDPOINT,
    ) -> T:
        """``service(session, principal=..., **arguments)``, with input objects turned into DTOs."""
        async with self._turn:
            result = await run_in_threadpool(self._guarded, service, arguments, field, write, resource)
        if write:
            self.loaders = Loaders(self.call)  # what was loaded before the write may have changed
        return result

    def _guarded(self, service: Callable[..., T], arguments: dict, field: str, write: bool, resource: str) -> T:
        try:
            if not write:
                return service(self.session, principal=self.principal, **dtos_of(arguments))
            will_write(self.session)
            with self.session.begin_nested():
                return service(self.session, principal=self.principal, **dtos_of(arguments))
        except (DomainError, IntegrityError) as exc:
            error = as_domain_error(exc)
            action = error.details.get("action") if isinstance(error.details, dict) else None
            with self._audit_session() as session:
                record_failed_operation(
                    session, principal=self.principal, field=field, write=write, code=error.code,
                    message=error.message, action=action, resource=resource,
                )
            if error is exc:
                raise
            raise error from None

    @contextmanager
    def _audit_session(self) -> Iterator[Session]:
        """Where a failure's entry goes: the request's transaction when it writes; else one of its
        own, committed at once (a refused query has nothing of its own to roll back)."""
        if is_writer(self.session):
            yield self.session
            return
        with transaction(self._sessions, write=True) as session:
            session.info.update(self.session.info)
            yield session

    async def record_refused_mutation(self, code: str, message: str) -> None:
        """A mutation whose document or variables did not validate: a failed write, as REST
        records a body that does not."""
        will_write(self.session)
        record = partial(
            record_failed_operation, self.session, principal=self.principal, field="mutation", write=True,
            code=code, message=message, action=None, resource=ENDPOINT,
        )
        async with self._turn:
            await run_in_threadpool(record)


async def get_context(request: Request, session: GraphQLSessionDep, principal: PrincipalDep) -> Context:
    """A FastAPI dependency: the same unit of work and principal as every REST route."""
    return Context(
        session=session, principal=principal, settings=request.app.state.settings, sessions=request.app.state.sessions,
    )


async def read(info: Info, service: Callable[..., T], /, **arguments: Any) -> T:
    return await info.context.call(service, arguments, field=info.field_name)


async def write(info: Info, resource: str, service: Callable[..., T], /, **arguments: Any) -> T:
    """A mutation: rolled back to its savepoint when it fails; ``resource`` names its target in
    the audit entry of a failure."""
    return await info.context.call(service, arguments, field=info.field_name, write=True, resource=resource)


def page_limit(info: Info, first: int | None) -> int:
    if first is not None and first < 1:
        raise InvalidInput("first: must be at least 1", {"first": first})
    return page_size(info.context.settings, first)
