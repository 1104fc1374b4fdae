"""The schema and its router, mounted at ``/graphql`` by the app factory.

Authentication is the REST dependency itself (the context getter depends on it), so a request
without a valid key is a 401 with the REST error body before any GraphQL runs. Only POST is
served: no GraphiQL (its page loads from a CDN; use a local client, docs/api.md) and no
subscriptions.
"""

from functools import lru_cache

import strawberry
from cross_web import HTTPException as GraphQLHTTPError
from fastapi.routing import APIWebSocketRoute
from starlette.exceptions import HTTPException
from strawberry.fastapi import GraphQLRouter
from strawberry.tools import merge_types

from api.graphql.access import AccessMutation, AccessQuery
from api.graphql.context import ENDPOINT, get_context
from api.graphql.errors import ErrorCodes
from api.graphql.limits import limits
from api.graphql.lineage import LineageQuery
from api.graphql.mutations import Mutation
from api.graphql.queries import Query
from api.graphql.releases import ReleaseMutation, ReleaseQuery
from api.graphql.scalars import SCALARS
from catalog.core.config import Settings


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Expected errors are the client's; unexpected ones are logged by ``ErrorCodes`` with the request id."""


def make_schema(settings: Settings) -> Schema:
    """The schema under the settings' limits, built once per distinct limits: building it takes
    tens of milliseconds, and every app a process makes (each test's) would pay that again."""
    return _schema(settings.graphql_max_tokens, settings.graphql_max_depth, settings.graphql_max_aliases)


@lru_cache(maxsize=8)
def _schema(max_tokens: int, max_depth: int, max_aliases: int) -> Schema:
    return Schema(
        query=merge_types("Query", (Query, ReleaseQuery, AccessQuery, LineageQuery)),
        mutation=merge_types("Mutation", (Mutation, ReleaseMutation, AccessMutation)),
        extensions=[*limits(max_tokens=max_tokens, max_depth=max_depth, max_aliases=max_aliases), ErrorCodes],
        scalar_overrides=SCALARS,
    )


class Router(GraphQLRouter):
    async def run(self, request, context=strawberry.UNSET, root_value=strawberry.UNSET):
        """A request GraphQL cannot read (no query, not JSON) gets the REST error body, not plain text."""
        try:
            return await super().run(request, context, root_value)
        except GraphQLHTTPError as error:
            raise HTTPException(error.status_code, error.reason) from None


def graphql_router(settings: Settings) -> GraphQLRouter:
    router = Router(
        make_schema(settings), path=ENDPOINT, context_getter=get_context, graphql_ide=None,
        allow_queries_via_get=False, include_in_schema=False,
    )
    # No subscriptions: the websocket route goes (its dependencies would need an HTTP request).
    router.routes = [route for route in router.routes if not isinstance(route, APIWebSocketRoute)]
    return router
