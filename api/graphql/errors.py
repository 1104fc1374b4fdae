"""The error table, GraphQL side: every error leaves with ``extensions.code``.

- A domain error keeps its code (``NOT_FOUND``, ``FORBIDDEN``, ``CONFLICT``, ``INVALID_INPUT``),
  message and details, as REST sends them.
- An error in the document itself (syntax, an unknown field, a wrong argument type, a limit)
  is ``INVALID_INPUT`` with graphql's message. In a mutation it is audited as a failed write,
  as REST audits a body that does not validate.
- Anything else is masked as ``INTERNAL``, "internal error (request id …)", and logged with
  its traceback and the request id.
"""

from collections.abc import AsyncIterator

from graphql import GraphQLError
from sqlalchemy.exc import IntegrityError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.errors import CONCURRENT_CHANGE
from catalog.core.errors import Conflict, DomainError
from catalog.core.logging import get_logger

INVALID_INPUT = "INVALID_INPUT"
log = get_logger("labeltrail.graphql")


def as_domain_error(exc: DomainError | IntegrityError) -> DomainError:
    """A unique constraint that fires after the service's own checks: a concurrent writer won."""
    return exc if isinstance(exc, DomainError) else Conflict(CONCURRENT_CHANGE)


class ErrorCodes(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        if self._is_mutation() and any(_in_document(error) for error in result.errors):
            await self._audit_refused_document(result.errors)
        result.errors = [self._coded(error) for error in result.errors]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, DomainError):
            extensions = {"code": original.code}
            if original.details is not None:
                extensions["details"] = original.details
            return _with(error, original.message, extensions)
        if _in_document(error):
            return _with(error, error.message, {"code": INVALID_INPUT})
        request_id = self._request_id()
        log.error("unhandled error", request_id=request_id, path=error.path, exc_info=original)
        return _with(error, f"internal error (request id {request_id})", {"code": "INTERNAL"})

    def _is_mutation(self) -> bool:
        context = self.execution_context
        return context.graphql_document is not None and context.operation_type is OperationType.MUTATION

    async def _audit_refused_document(self, errors: list[GraphQLError]) -> None:
        message = "; ".join(error.message for error in errors if _in_document(error))
        await self.execution_context.context.record_refused_mutation(INVALID_INPUT, message)

    def _request_id(self) -> str | None:
        return getattr(self.execution_context.context.request.state, "request_id", None)


def _in_document(error: GraphQLError) -> bool:
    """An error in the document or its variables, found before any field ran: it has no path."""
    return error.path is None


def _with(error: GraphQLError, message: str, extensions: dict) -> GraphQLError:
    return GraphQLError(
        message, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
        extensions=extensions,
    )
