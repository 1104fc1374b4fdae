"""GraphQL over HTTP for tests, and the link between REST's JSON and GraphQL's.

``selection(DTO)`` asks for every field of a DTO (nested DTOs expanded), so a field added to a
DTO is compared between the two APIs without touching the tests; ``graphql_case`` turns a REST
body into the shape GraphQL returns (camelCase keys, JSON values left as they are).
"""

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from strawberry.utils.str_converters import to_camel_case

from catalog.datasets.label_schema import LabelSchema

# Free-form JSON in both APIs: their contents are data, not field names. (A release diff's
# ``examples`` is JSON too, but its keys are single words; a contamination's are DTOs.)
JSON_FIELDS = frozenset(
    {"label_schema", "value", "metadata", "details", "split_counts", "override", "categorical", "numeric",
     "by_source", "guideline_versions"}
)
_JSON_MODELS = (LabelSchema,)


def graphql(caller, query: str, variables: dict | None = None) -> dict:
    """The response body of one GraphQL request by ``caller`` (anything with .client and .headers)."""
    response = caller.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


def data(caller, query: str, variables: dict | None = None) -> dict:
    """The data of a request that must succeed without errors."""
    body = graphql(caller, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def error_codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def selection(model: type[BaseModel]) -> str:
    """Every field of ``model`` as a GraphQL selection."""
    fields = []
    for name, field in model.model_fields.items():
        nested = _nested_model(field.annotation)
        fields.append(f"{to_camel_case(name)} {{ {selection(nested)} }}" if nested else to_camel_case(name))
    return " ".join(fields)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Annotated, list, Union, types.UnionType):
        found = [_nested_model(arg) for arg in args if arg is not type(None)]
        return next((model for model in found if model), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and not issubclass(annotation, _JSON_MODELS):
        return annotation
    return None


def graphql_case(value: Any) -> Any:
    """REST JSON with the keys GraphQL uses: camelCase, except inside free-form JSON."""
    if isinstance(value, list):
        return [graphql_case(item) for item in value]
    if isinstance(value, dict):
        return {to_camel_case(k): v if k in JSON_FIELDS else graphql_case(v) for k, v in value.items()}
    return value


def page_of(connection: dict | None) -> dict | None:
    """A Relay connection in the shape of a REST page (GraphQL case)."""
    if connection is None:
        return None
    info = connection["pageInfo"]
    return {
        "items": [edge["node"] for edge in connection["edges"]],
        "nextCursor": info["endCursor"] if info["hasNextPage"] else None,
    }
