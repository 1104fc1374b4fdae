"""Schemathesis against the app in-process: every REST operation in ``/openapi.json`` and every
GraphQL query and mutation, with a bounded number of generated requests each and a fixed seed.

REST, as an admin (every operation) and as an ML engineer (the reads): no 5xx, and the response
is what ``/openapi.json`` documents for it (a documented status, its body and content type). GraphQL, as an admin
(every query and mutation): no 5xx, a body of ``data`` and ``errors`` only, and every error
coded and none masked as ``INTERNAL`` (schemathesis's own GraphQL check counts any error,
``NOT_FOUND`` too, as a failure). A bug it finds gets a hand-written case in ``test_bad_input.py``.

One world per module and backend: a dataset with records, an annotation and a release. Some of
the generated requests take that world's ids as path parameters, so the operations also run on
things that exist, not only into 404s; every request runs in a savepoint that is rolled back,
so each meets the same world. Schemathesis never generates a lone surrogate (it cannot send
one as UTF-8): ``test_bad_input.py`` sends those by hand.
"""

from dataclasses import dataclass

import hypothesis
import pytest
import schemathesis
from graphql import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
)
from hypothesis import HealthCheck, strategies
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.graphql.schema import make_schema
from catalog.core.principal import Role
from tests.conftest import suite_settings
from tests.support.builders import FULL_SCHEMA, Caller, chat_record, undone

pytestmark = pytest.mark.slow

SEED = 18
EXAMPLES = 15  # per operation
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, print_blob=False,
    # Generated bodies are large and many are refused: both are the point here.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


def _literal(value) -> ValueNode:
    """A JSON value as a GraphQL literal."""
    if value is None:
        return NullValueNode()
    if isinstance(value, bool):
        return BooleanValueNode(value=value)
    if isinstance(value, int):
        return IntValueNode(value=str(value))
    if isinstance(value, float):
        return FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return StringValueNode(value=value)
    if isinstance(value, list):
        return ListValueNode(values=tuple(_literal(item) for item in value))
    return ObjectValueNode(
        fields=tuple(ObjectFieldNode(name=NameNode(value=k), value=_literal(v)) for k, v in value.items())
    )


_NAMES = strategies.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,8}", fullmatch=True)  # object literal keys are names
_JSON = strategies.recursive(
    strategies.none() | strategies.booleans() | strategies.integers() | strategies.text(max_size=20)
    | strategies.floats(allow_nan=False, allow_infinity=False),
    lambda inner: strategies.lists(inner, max_size=3) | strategies.dictionaries(_NAMES, inner, max_size=3),
    max_leaves=10,
)
# A label schema or an answer the catalog takes, now and then, among arbitrary JSON.
schemathesis.graphql.scalar("JSON", (strategies.sampled_from([FULL_SCHEMA, "4", "safe"]) | _JSON).map(_literal))


@dataclass
class World:
    admin: Caller
    ml: Caller
    ids: dict[str, str]  # path parameter name -> an id in the world


@pytest.fixture(scope="module")
def world(module_actors) -> World:
    steward = module_actors(Role.DATA_STEWARD, "stew")
    dataset = steward.dataset("fuzz", FULL_SCHEMA)
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/guidelines", {"text": "Be kind."}), 201)
    first, _second = steward.records(dataset["id"], chat_record("Mail ann@example.com"), chat_record("Second?"))
    annotation = steward.annotate(first, "response", "4")
    steward.ok(steward.post(f"/api/v1/datasets/{dataset['id']}/releases", {"tag": "v1"}), 201)
    admin = module_actors(Role.ADMIN, "admin")
    ml = module_actors(Role.ML_ENGINEER, "ml")
    ids = {
        "dataset_id": dataset["id"], "record_id": first, "annotation_id": annotation["id"],
        "principal_id": str(steward.principal.id), "tag": "v1", "base": "v1", "target": "v1",
    }
    return World(admin, ml, ids)


@pytest.fixture(scope="module")
def app(module_sessions, module_settings, world):
    return create_app(module_settings, sessions=module_sessions)


def _operations(document: dict) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


# The document does not depend on the database: an app on none is enough to list the operations.
_DOCUMENT = create_app(suite_settings()).openapi()
REST = _operations(_DOCUMENT)
GRAPHQL = [("Query", name) for name in make_schema(suite_settings())._schema.query_type.fields] + [
    ("Mutation", name) for name in make_schema(suite_settings())._schema.mutation_type.fields
]


def _without_tuples(node):
    """The document with each ``prefixItems`` tuple as an array of as many numbers. Schemathesis
    rewrites ``prefixItems`` to draft 4's ``items: [...]``, then refuses that in an OpenAPI 3.1
    response schema (a release profile's ``(value, count)`` pairs); every tuple here is numbers."""
    if isinstance(node, list):
        return [_without_tuples(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "prefixItems" in node:
        assert all(item.get("type") in ("number", "integer") for item in node["prefixItems"]), node
        node = {**{k: v for k, v in node.items() if k != "prefixItems"}, "items": {"type": "number"}}
    return {key: _without_tuples(value) for key, value in node.items()}


@pytest.fixture(scope="module")
def rest_schema(app, world):
    document = world.admin.ok(world.admin.get("/openapi.json"))
    schema = schemathesis.openapi.from_dict(_without_tuples(document), config=SchemathesisConfig())
    schema.app = app  # requests go to the app in-process, as from_asgi's would
    return schema


@pytest.fixture(scope="module")
def graphql_schema(app, world):
    return schemathesis.graphql.from_asgi("/graphql", app, config=SchemathesisConfig(), headers=world.admin.headers)


def cases(operation, known: dict[str, str] | None = None):
    """Generated requests: schema-valid and not, and schema-valid on the world's ids where the
    operation takes ids the world has."""
    made = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    names = [p.name for p in operation.path_parameters] if known is not None else []
    if any(name in known for name in names):
        fixed = {name: known[name] for name in names if name in known}
        made.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed))
    return strategies.one_of(made)


def fuzz(strategy, call) -> None:
    @SETTINGS
    @hypothesis.seed(SEED)
    @hypothesis.given(case=strategy)
    def run(case):
        call(case)

    run()


@pytest.mark.parametrize(("method", "path"), REST, ids=[f"{m} {p}" for m, p in REST])
def test_rest(method, path, rest_schema, world, module_sessions):
    operation = rest_schema[path][method]

    def call(case):
        with undone(module_sessions):
            case.call_and_validate(headers=world.admin.headers, checks=CHECKS)

    fuzz(cases(operation, world.ids), call)


READS = [(m, p) for m, p in REST if m == "GET"]


@pytest.mark.parametrize(("method", "path"), READS, ids=[f"{m} {p}" for m, p in READS])
def test_rest_reads_as_ml_engineer(method, path, rest_schema, world, module_sessions):
    def call(case):
        with undone(module_sessions):
            case.call_and_validate(headers=world.ml.headers, checks=CHECKS)

    fuzz(cases(rest_schema[path][method], world.ids), call)


@pytest.mark.parametrize(("kind", "name"), GRAPHQL, ids=[f"{k}.{n}" for k, n in GRAPHQL])
def test_graphql(kind, name, graphql_schema, world, module_sessions):
    operation = graphql_schema[kind][name]

    def call(case):
        with undone(module_sessions):
            response = case.call(headers=world.admin.headers)
        # Refusals (INVALID_INPUT, NOT_FOUND, ...) are answers; a 5xx or a masked error is a bug.
        assert response.status_code < 500, response.text
        body = response.json()
        assert set(body) <= {"data", "errors"} and body, body
        codes = [error.get("extensions", {}).get("code") for error in body.get("errors") or []]
        assert None not in codes and "INTERNAL" not in codes, response.text

    fuzz(operation.as_strategy(), call)
