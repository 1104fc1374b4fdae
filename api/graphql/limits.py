"""Limits on what one GraphQL document may ask for, from ``Settings`` (``LABELTRAIL_GRAPHQL_*``).

Each is checked before anything runs and refused as ``INVALID_INPUT`` with a message naming the
limit. Introspection fields do not count towards the depth. The limiters are given as factories:
each operation gets its own, as they keep the operation they check.
"""

from collections.abc import Callable
from functools import partial

from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension


def limits(*, max_tokens: int, max_depth: int, max_aliases: int) -> list[Callable[[], SchemaExtension]]:
    """The limiters for ``LABELTRAIL_GRAPHQL_MAX_TOKENS``, ``…_MAX_DEPTH`` and ``…_MAX_ALIASES``."""
    return [
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        partial(QueryDepthLimiter, max_depth=max_depth),
        partial(MaxAliasesLimiter, max_alias_count=max_aliases),
    ]
