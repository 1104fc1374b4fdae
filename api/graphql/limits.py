"""Limits on what one GraphQL document may ask for, from ``Settings`` (``LABELTRAIL_GRAPHQL_*``),
and the rule that a document of several operations names the one to run.

Each is checked before anything runs and refused as ``INVALID_INPUT`` with a message naming the
limit. Introspection fields do not count towards the depth. The limiters are given as factories:
each operation gets its own, as they keep the operation they check.
"""

from collections.abc import Callable, Iterator
from functools import partial

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension


class OperationNamed(SchemaExtension):
    """A document holding several operations runs only the one ``operationName`` names, as the
    GraphQL spec requires (strawberry would run the first). Without one, it is refused
    (``INVALID_INPUT``); a name that matches no operation is a 400 already, from strawberry."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
            name = context._provided_operation_name  # what the request named, if anything
            if name is None and len(operations) > 1:
                message = f"the document holds {len(operations)} operations: name the one to run in operationName"
                context.pre_execution_errors = [GraphQLError(message)]
        yield


def limits(*, max_tokens: int, max_depth: int, max_aliases: int) -> list[Callable[[], SchemaExtension]]:
    """The limiters for ``LABELTRAIL_GRAPHQL_MAX_TOKENS``, ``…_MAX_DEPTH`` and ``…_MAX_ALIASES``."""
    return [
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        partial(QueryDepthLimiter, max_depth=max_depth),
        partial(MaxAliasesLimiter, max_alias_count=max_aliases),
        OperationNamed,
    ]
