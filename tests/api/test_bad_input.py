"""Bad input, REST and GraphQL: each gets a 4xx naming the problem, in the error body every
error has, and leaves nothing written but the audit entry of a refused write.

One world per module and backend: a steward, a reader without import rights and one dataset;
each test runs in a savepoint over it. The limits are set small so that going past them is cheap.
"""

import base64
import gzip
import json
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import func, select

from catalog.core.models import (
    AnnotationRow,
    AuditEntryRow,
    DatasetRow,
    GuidelineRow,
    LineageEventRow,
    OutboxRow,
    RecordRow,
)
from catalog.core.principal import Role
from tests.conftest import suite_settings
from tests.support.builders import TEXT_SCHEMA, Caller, undone

MAX_BODY = 64 * 1024
MAX_LINE = 4 * 1024
MAX_DEPTH = 16
LIMITS = {"max_body_bytes": MAX_BODY, "import_max_line_bytes": MAX_LINE, "max_json_depth": MAX_DEPTH}


def small_limits():
    return suite_settings().model_copy(update=LIMITS)


@pytest.fixture(scope="module")
def module_settings():
    return small_limits()


@pytest.fixture
def settings():
    return small_limits()


@dataclass
class World:
    steward: Caller
    admin: Caller
    reader: Caller
    dataset: dict
    record_id: str


@pytest.fixture(scope="module")
def world(module_actors) -> World:
    steward = module_actors(Role.DATA_STEWARD, "steward")
    dataset = steward.dataset("bad", TEXT_SCHEMA)
    [record_id] = steward.records(dataset["id"], {"messages": [{"role": "user", "content": "hi"}]})
    reader = module_actors(Role.ANNOTATOR, "no-import", on=[dataset["id"]])  # may not import
    return World(steward, module_actors(Role.ADMIN, "admin"), reader, dataset, record_id)


@pytest.fixture
def sessions(module_sessions, world):
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def steward(world, client) -> Caller:
    return replace(world.steward, client=client)


_COUNTED = (DatasetRow, GuidelineRow, RecordRow, AnnotationRow, LineageEventRow, OutboxRow)


def written(session) -> dict[str, int]:
    """What the catalog holds, and the audit entries that are not failures."""
    counts = {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in _COUNTED}
    counts["audit ok"] = session.scalar(select(func.count()).where(AuditEntryRow.outcome == "ok"))
    return counts


@pytest.fixture
def unchanged(session):
    """Asserts, after the test, that nothing was written but failure entries."""
    before = written(session)
    yield
    session.expire_all()
    assert written(session) == before


def refused(response, status: int, code: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    for word in words:
        assert word in error["message"], error
    return error


def test_the_openapi_document_gives_every_refusal_the_error_body(world, steward):
    """FastAPI documented 422 as its own ``{"detail": [...]}`` and no other 4xx, so a fuzzer could
    not tell a documented refusal from a wrong one."""
    document = steward.ok(steward.get("/openapi.json"))
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404", "409", "413", "415", "422", "503"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


# --- the body gate: size, type, encoding, syntax, nesting, REST and GraphQL ---------------------

DEEP = '{"a":' * 10_000 + "1" + "}" * 10_000
JUST_TOO_DEEP = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)


def dataset_body(description: str = "") -> str:
    return json.dumps({"name": "new", "label_schema": TEXT_SCHEMA, "description": description})


def graphql_body(variables: str = "{}") -> str:
    return '{"query": "query($v: JSON) { me { name } }", "variables": {"v": ' + variables + "}}"


BODIES = {
    "rest": ("/api/v1/datasets", dataset_body),
    "graphql": ("/graphql", lambda text="": graphql_body(json.dumps(text))),
}


def post_raw(caller, path: str, body, content_type: str | None = "application/json", headers: dict | None = None):
    sent = {**caller.headers, **(headers or {})}
    if content_type is not None:
        sent["content-type"] = content_type
    return caller.client.post(path, content=body, headers=sent)


@pytest.mark.parametrize("api", ["rest", "graphql"])
@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        pytest.param(lambda ok: ok()[:-3], "BAD_REQUEST", ["not valid JSON", "line 1"], id="malformed"),
        pytest.param(lambda ok: ok().encode().replace(b'"query"', b'"q\xffuery"').replace(b'"name"', b'"n\xffame"'),
                     "BAD_REQUEST", ["not valid UTF-8", "\\xff"], id="invalid-utf8"),
        pytest.param(lambda ok: ok()[:-1] + ', "x": ' + DEEP + "}", "BAD_REQUEST", [f"deeper than {MAX_DEPTH}"],
                     id="nested-10000"),
        pytest.param(lambda ok: ok()[:-1] + ', "x": ' + JUST_TOO_DEEP + "}", "BAD_REQUEST",
                     [f"deeper than {MAX_DEPTH}"], id="nested-just-too-deep"),
    ],
)  # fmt: skip
def test_a_body_that_is_not_json_is_400_naming_why(steward, unchanged, api, body, code, words):
    path, ok = BODIES[api]
    refused(post_raw(steward, path, body(ok)), 400, code, *words)


@pytest.mark.parametrize("api", ["rest", "graphql"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_declared_json_is_415(steward, unchanged, api, content_type):
    path, ok = BODIES[api]
    refused(post_raw(steward, path, ok(), content_type), 415, "UNSUPPORTED_MEDIA_TYPE", "application/json")


@pytest.mark.parametrize("api", ["rest", "graphql"])
def test_a_json_body_with_parameters_or_a_json_suffix_is_json(steward, api):
    path, ok = BODIES[api]
    assert post_raw(steward, path, ok(), "application/json; charset=utf-8").status_code in (200, 201)


@pytest.mark.parametrize("api", ["rest", "graphql"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413(steward, unchanged, api, chunked):
    path, ok = BODIES[api]
    body = ok("x" * MAX_BODY).encode()
    content = (body[i : i + 4096] for i in range(0, len(body), 4096)) if chunked else body
    error = refused(post_raw(steward, path, content), 413, "PAYLOAD_TOO_LARGE", f"{MAX_BODY:,} bytes")
    assert "LABELTRAIL_MAX_BODY_BYTES" in error["message"]


@pytest.mark.parametrize("api", ["rest", "graphql"])
def test_a_body_just_under_the_limit_is_read(steward, api):
    path, ok = BODIES[api]
    body = ok("x" * (MAX_BODY - 200))
    assert len(body.encode()) <= MAX_BODY
    assert post_raw(steward, path, body).status_code in (200, 201)


def test_the_default_body_limit_is_a_few_megabytes():
    assert 1024**2 <= suite_settings().max_body_bytes <= 16 * 1024**2


def test_a_gate_refusal_keeps_the_request_id(steward):
    response = post_raw(steward, "/api/v1/datasets", "{", headers={"x-request-id": "bad-1"})
    assert response.status_code == 400 and response.headers["x-request-id"] == "bad-1"


# --- GraphQL: a document of several operations names the one to run -----------------------------

TWO_OPERATIONS = "query A { me { name } } query B { me { id } }"


def post_graphql(caller, body: dict):
    return caller.client.post("/graphql", json=body, headers=caller.headers)


def test_two_operations_without_an_operation_name_run_nothing(steward):
    response = post_graphql(steward, {"query": TWO_OPERATIONS})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT" and "operationName" in error["message"]


def test_two_mutations_without_an_operation_name_write_nothing_and_are_audited(steward, session, unchanged):
    mutation = 'mutation M%d { createDataset(input: {name: "m%d", labelSchema: {questions: []}}) { id } }'
    response = post_graphql(steward, {"query": f"{mutation % (1, 1)} {mutation % (2, 2)}"})
    assert response.json()["data"] is None and "operationName" in response.json()["errors"][0]["message"]
    entry = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1)).one()
    assert (entry.outcome, entry.action) == ("failed", "graphql:mutation")


def test_the_named_operation_is_the_one_that_runs(steward):
    response = post_graphql(steward, {"query": TWO_OPERATIONS, "operationName": "B"})
    assert response.json() == {"data": {"me": {"id": str(steward.principal.id)}}}


def test_an_operation_name_that_names_no_operation_is_refused(steward):
    response = post_graphql(steward, {"query": TWO_OPERATIONS, "operationName": "C"})
    refused(response, 400, "BAD_REQUEST", 'Unknown operation named "C"')


# --- NUL in any text: bodies, free-form JSON, parameters, GraphQL, lineage events ---------------

NUL = "\u0000"


def chat(content: str = "hi", **fields) -> dict:
    return {"messages": [{"role": "user", "content": content}], **fields}


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/api/v1/datasets/{dataset}/records", {"records": [chat(f"a{NUL}b")]}, "body.records.0.messages.0.content"),
        ("/api/v1/datasets/{dataset}/records", {"records": [chat(metadata={"note": f"x{NUL}"})]},
         "body.records.0.metadata"),
        ("/api/v1/datasets/{dataset}/records", {"records": [chat(metadata={f"k{NUL}": "x"})]},
         "body.records.0.metadata"),
        ("/api/v1/datasets/{dataset}/records", {"records": [chat(external_id=NUL)]}, "body.records.0.external_id"),
        ("/api/v1/datasets/{dataset}/guidelines", {"text": f"Be kind.{NUL}"}, "body.text"),
        ("/api/v1/datasets", {"name": "n", "label_schema": TEXT_SCHEMA, "description": NUL}, "body.description"),
        ("/api/v1/datasets", {"name": "n", "label_schema": TEXT_SCHEMA, "origin": {"source": NUL}},
         "body.origin.source"),
        ("/api/v1/datasets",
         {"name": "n", "label_schema": {"questions": [{"name": "q", "kind": "text", "description": NUL}]}},
         "body.label_schema"),
        ("/api/v1/records/{record}/annotations", {"question": "response", "value": f"a{NUL}"}, "body.value"),
        ("/api/v1/records/{record}/retire", {"reason": NUL}, "body.reason"),
        ("/api/v1/annotations/{record}/reviews", {"base_revision": 1, "decision": "accept", "comment": NUL},
         "body.comment"),
    ],
)  # fmt: skip
def test_nul_in_a_body_is_422_naming_the_field(world, steward, unchanged, path, body, where):
    url = path.format(dataset=world.dataset["id"], record=world.record_id)
    error = refused(steward.post(url, body), 422, "INVALID_INPUT", where, "NUL")
    assert error["details"][0]["location"] == where


@pytest.mark.parametrize(
    ("method", "url", "where"),
    [
        ("GET", "/api/v1/audit?actor=a%00b", "query.actor"),
        ("GET", "/api/v1/models/a%00b", "path.name"),
        ("GET", "/api/v1/impact?annotator=%00", "query.annotator"),
        ("POST", "/api/v1/datasets/{dataset}/imports?format=alpaca&question=%00", "query.question"),
        ("POST", "/api/v1/datasets/{dataset}/imports?format=alpaca&file_name=a%00.jsonl", "query.file_name"),
        ("DELETE", "/api/v1/subjects/s1?reason=gone%00", "query.reason"),
    ],
)
def test_nul_in_a_parameter_is_422_naming_it(world, steward, unchanged, method, url, where):
    body = b'{"instruction": "x", "output": "y"}\n' if method == "POST" else None
    response = steward.client.request(method, url.format(dataset=world.dataset["id"]), content=body,
                                      headers=steward.headers)  # fmt: skip
    refused(response, 422, "INVALID_INPUT", where, "NUL")


GUIDELINE = "mutation($id: UUID!, $text: String!) { addGuideline(datasetId: $id, input: {text: $text}) { version } }"


def test_nul_in_graphql_variables_and_literals_is_invalid_input(world, steward, unchanged):
    for query, variables in (
        (GUIDELINE, {"id": world.dataset["id"], "text": f"a{NUL}b"}),
        ('mutation($id: UUID!) { addGuideline(datasetId: $id, input: {text: "a\\u0000b"}) { version } }',
         {"id": world.dataset["id"]}),
    ):  # fmt: skip
        body = post_graphql(steward, {"query": query, "variables": variables}).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "INVALID_INPUT" and "NUL" in error["message"], error


def run_event(*, job_name: str) -> dict:
    """A valid OpenLineage START event but for its job's name."""
    return {
        "eventType": "START", "eventTime": "2026-01-01T00:00:00Z", "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "01900000-0000-7000-8000-000000000000"}, "job": {"namespace": "ns", "name": job_name},
    }  # fmt: skip


def test_nul_in_a_lineage_event_is_400_naming_where(world, client, unchanged):
    admin = replace(world.admin, client=client)
    refused(admin.post("/api/v1/lineage", run_event(job_name=f"j{NUL}")), 400, "INVALID_EVENT", "job.name", "NUL")


# --- a lone surrogate in any text: JSON escapes it ("\\ud800"), no UTF-8 encodes it, no database stores it

SURROGATE = "\ud800"


def post_escaped(caller, path: str, body) -> object:
    """The body as ASCII JSON, a lone surrogate escaped (``json=`` would have to encode it as UTF-8)."""
    return caller.client.post(path, content=json.dumps(body), headers={**caller.headers, "Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/api/v1/datasets/{dataset}/records", {"records": [chat(metadata={"note": f"x{SURROGATE}"})]},
         "body.records.0.metadata"),
        ("/api/v1/datasets/{dataset}/records", {"records": [chat(metadata={f"k{SURROGATE}": "x"})]},
         "body.records.0.metadata"),
        ("/api/v1/records/{record}/annotations", {"question": "response", "value": f"a{SURROGATE}"}, "body.value"),
        ("/api/v1/records/{record}/annotations", {"question": "response", "value": "\udfff"}, "body.value"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_in_free_form_json_is_422_naming_the_field(world, steward, unchanged, path, body, where):
    """Pydantic refuses one in a ``str`` field, not in free-form JSON (metadata, values): that
    reached the database and was a 500, on PostgreSQL and on SQLite."""
    url = path.format(dataset=world.dataset["id"], record=world.record_id)
    error = refused(post_escaped(steward, url, body), 422, "INVALID_INPUT", where, "lone surrogate")
    assert error["details"][0]["location"] == where


def test_a_lone_surrogate_in_graphql_json_variables_is_invalid_input(world, steward, unchanged):
    query = 'mutation($id: UUID!, $v: JSON!) { annotate(recordId: $id, input: {question: "response", value: $v}) { id } }'
    body = {"query": query, "variables": {"id": world.record_id, "v": {"text": SURROGATE}}}
    response = post_escaped(steward, "/graphql", body)
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT" and "lone surrogate" in error["message"], error


def test_a_lone_surrogate_in_a_lineage_event_is_400_naming_where(world, client, unchanged):
    admin = replace(world.admin, client=client)
    refused(post_escaped(admin, "/api/v1/lineage", run_event(job_name=f"j{SURROGATE}")), 400, "INVALID_EVENT", "job.name", "lone surrogate")


# --- numbers out of range: limits, versions, timestamps ----------------------------------------

LISTS = ["/api/v1/datasets", "/api/v1/datasets/{dataset}/records", "/api/v1/audit"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["0", "-1", "-9223372036854775809", "2147483648", "99999999999999999999999", "1.5", "x"])
def test_a_limit_out_of_range_is_422_naming_it(world, client, path, limit):
    admin = replace(world.admin, client=client)
    response = admin.get(path.format(dataset=world.dataset["id"]), params={"limit": limit})
    refused(response, 422, "INVALID_INPUT", "query.limit")


@pytest.mark.parametrize("path", LISTS)
def test_a_limit_above_the_page_size_is_capped(world, client, path):
    admin = replace(world.admin, client=client)
    assert admin.get(path.format(dataset=world.dataset["id"]), params={"limit": 2147483647}).status_code == 200


@pytest.mark.parametrize("value", ["-15527549", "0", "1700000000", "1.7e9", " 12 "])
@pytest.mark.parametrize("name", ["since", "until"])
def test_an_audit_time_that_is_a_number_is_422(world, client, name, value):
    admin = replace(world.admin, client=client)
    for path in ("/api/v1/audit", "/api/v1/audit/export"):
        refused(admin.get(path, params={name: value}), 422, "INVALID_INPUT", name, "ISO 8601")


def test_an_audit_time_without_a_timezone_is_422(world, client):
    admin = replace(world.admin, client=client)
    refused(admin.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}), 422, "INVALID_INPUT", "since")
    assert admin.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00Z"}).status_code == 200


def test_graphql_refuses_a_number_for_an_audit_time(world, client):
    admin = replace(world.admin, client=client)
    query = "query($s: DateTime) { auditEntries(input: {since: $s}) { edges { cursor } } }"
    for value in (-15527549, "-15527549"):
        body = post_graphql(admin, {"query": query, "variables": {"s": value}}).json()
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body


@pytest.mark.parametrize("version", ["0", "-1", "2147483648", "99999999999999999999"])
def test_a_guideline_version_out_of_range_is_422(world, client, version):
    admin = replace(world.admin, client=client)
    refused(admin.get("/api/v1/impact", params={"guideline_version": version}), 422, "INVALID_INPUT",
            "query.guideline_version")  # fmt: skip


@pytest.mark.parametrize("first", [0, -1, 2147483648])
def test_graphql_refuses_a_first_out_of_range(steward, first):
    body = post_graphql(steward, {"query": "query($f: Int) { datasets(first: $f) { edges { cursor } } }",
                                  "variables": {"f": first}}).json()  # fmt: skip
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body


# --- cursors: garbage and overflow, every paged list --------------------------------------------


def token(*payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def cursors(scope: str) -> list[str]:
    return [
        "9223372036854775808", "99999999999999999999999", "-1", "x", "%", "\u00e9", "=" * 3000, "[[[[",
        token(1, "audit", "", 2**63), token(1, "audit", "", -1), token(1, "audit", "", 1e300),
        token(1, "datasets", "", "zz" * 16), token(1, "records", scope, "0" * 31), token(1, "records", scope),
        token(2, "datasets", "", "0" * 32), token(*([1] * 5000)), base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[" * 100_000).decode()[:2048],
    ]  # fmt: skip


@pytest.mark.parametrize("path", LISTS)
def test_a_bad_cursor_is_422_naming_it_on_every_list(world, client, path):
    admin = replace(world.admin, client=client)
    for cursor in cursors(world.dataset["id"]):
        response = admin.get(path.format(dataset=world.dataset["id"]), params={"cursor": cursor})
        error = refused(response, 422, "INVALID_INPUT", "invalid cursor")
        assert error["details"] == {"cursor": cursor}


GRAPHQL_LISTS = [
    "query($a: String) { datasets(after: $a) { edges { cursor } } }",
    "query($a: String, $d: UUID!) { dataset(id: $d) { records(after: $a) { edges { cursor } } } }",
    "query($a: String) { auditEntries(after: $a) { edges { cursor } } }",
]


@pytest.mark.parametrize("query", GRAPHQL_LISTS)
def test_a_bad_cursor_is_invalid_input_in_graphql(world, client, query):
    admin = replace(world.admin, client=client)
    for cursor in cursors(world.dataset["id"]):
        variables = {"a": cursor, **({"d": world.dataset["id"]} if "$d" in query else {})}
        body = post_graphql(admin, {"query": query, "variables": variables}).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "INVALID_INPUT" and "invalid cursor" in error["message"], body


# --- imports: checked before the body is read; hostile files refused whole ----------------------

import api.routes.imports  # noqa: E402

GOOD_LINE = b'{"instruction": "x", "output": "y"}\n'


def post_import(caller, dataset_id: str, body, **params):
    return caller.client.post(
        f"/api/v1/datasets/{dataset_id}/imports", params={"format": "alpaca", **params}, content=body,
        headers=caller.headers,
    )  # fmt: skip


@pytest.fixture
def body_reads(monkeypatch) -> list[int]:
    """The sizes of the import body's reads."""
    reads: list[int] = []
    original = api.routes.imports._Body.readinto

    def counted(self, buffer):
        size = original(self, buffer)
        reads.append(size)
        return size

    monkeypatch.setattr(api.routes.imports._Body, "readinto", counted)
    return reads


@pytest.mark.parametrize(
    ("who", "dataset", "params", "status", "words"),
    [
        ("reader", "world", {}, 403, ["import"]),
        ("steward", "missing", {}, 404, ["dataset"]),
        ("steward", "world", {"question": "nope"}, 422, ["nope"]),
        ("steward", "world", {"file_name": "../../etc/passwd"}, 422, ["file_name"]),
        ("steward", "world", {"file_name": "a\\b.jsonl"}, 422, ["file_name"]),
        ("steward", "world", {"file_name": ".."}, 422, ["file_name"]),
        ("steward", "world", {"file_name": "a\nb"}, 422, ["file_name"]),
    ],
)  # fmt: skip
def test_an_import_is_refused_before_its_body_is_read(world, client, unchanged, body_reads, who, dataset, params,
                                                      status, words):  # fmt: skip
    caller = replace(world.steward if who == "steward" else world.reader, client=client)
    dataset_id = world.dataset["id"] if dataset == "world" else "01900000-0000-7000-8000-000000000000"
    response = post_import(caller, dataset_id, GOOD_LINE * 10_000, **params)
    assert response.status_code == status, response.text
    assert all(word in response.json()["error"]["message"] for word in words), response.text
    assert body_reads == []


def test_a_file_name_is_the_source_the_annotations_carry(world, steward):
    report = steward.ok(post_import(steward, world.dataset["id"], GOOD_LINE, file_name="v1 (final).jsonl"), 201)
    assert report["file"] == "v1 (final).jsonl"


def truncated_gzip() -> bytes:
    lines = b"".join(b'{"instruction": "q%d", "output": "%s"}\n' % (n, b"%x" % (n * 7919) * 9) for n in range(2000))
    whole = gzip.compress(lines)
    return whole[: len(whole) // 2]


HOSTILE = {
    "truncated-gzip": (truncated_gzip, "the file cannot be read past line"),
    "not-gzip": (lambda: b"\x1f\x8b not gzip at all", "cannot be read past the start of the file"),
    "invalid-utf8-line": (lambda: GOOD_LINE + b'{"instruction": "\xff", "output": "y"}\n', "line 2 is not valid UTF-8"),
    "invalid-utf8-item": (lambda: b'[{"instruction": "x", "output": "y"}, {"instruction": "\xff"}]',
                          "item 2 is not valid UTF-8"),
    "long-line": (lambda: GOOD_LINE + b'{"instruction": "' + b"x" * MAX_LINE + b'", "output": "y"}\n',
                  f"line 2 is longer than the {MAX_LINE:,} bytes allowed"),
    "large-item": (lambda: b'[{"instruction": "x", "output": "y", "z": [' + b"0," * 100_000 + b"0]}]",
                   f"item 1 is larger than the {MAX_LINE:,} bytes allowed"),
    "deep-line": (lambda: GOOD_LINE + b'{"instruction": "x", "z": ' + b"[" * 1000 + b"]" * 1000 + b"}\n",
                  f"line 2 is nested deeper than {MAX_DEPTH} levels"),
    "deep-item": (lambda: b'[{"instruction": "x", "z": ' + b"[" * 100_000, f"item 1 is nested deeper than {MAX_DEPTH}"),
    "gzip-bomb-line": (lambda: gzip.compress(GOOD_LINE + b'{"instruction": "' + b"x" * 10_000_000 + b'"}\n'),
                       "line 2 is longer than"),
}  # fmt: skip


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
def test_a_hostile_import_file_is_422_naming_the_problem_and_writes_nothing(world, steward, session, unchanged, case,
                                                                            dry_run):  # fmt: skip
    make, words = HOSTILE[case]
    response = post_import(steward, world.dataset["id"], make(), dry_run=str(dry_run).lower())
    refused(response, 422, "INVALID_INPUT", words)
    entry = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1)).one()
    assert (entry.outcome, entry.details["status"]) == ("failed", 422)


def test_a_hostile_import_through_graphql_is_invalid_input_and_writes_nothing(world, steward, unchanged):
    query = ("mutation($id: UUID!, $c: String!) { importRecords(datasetId: $id, format: \"alpaca\", content: $c) }")
    content = GOOD_LINE.decode() + '{"instruction": "' + "x" * MAX_LINE + '"}\n'
    body = post_graphql(steward, {"query": query, "variables": {"id": world.dataset["id"], "c": content}}).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT" and "line 2 is longer than" in error["message"], error


def test_a_lone_surrogate_in_an_imported_item_rejects_that_item_naming_the_field(world, steward):
    body = GOOD_LINE + b'{"instruction": "x", "output": "y\\ud800"}\n'
    report = steward.ok(post_import(steward, world.dataset["id"], body), 201)
    assert (report["records_added"], report["rejected"]) == (1, 1)
    assert report["errors"] == [
        {"location": "line 2", "reason": "output: must not contain a lone surrogate (\\ud800-\\udfff)"},
    ]


def test_nul_in_an_imported_item_rejects_that_item_naming_the_field(world, steward):
    body = GOOD_LINE + b'{"instruction": "a\\u0000b", "output": "y"}\n' + b'{"instruction": "x", "output": "\\u0000"}\n'
    report = steward.ok(post_import(steward, world.dataset["id"], body), 201)
    assert (report["records_added"], report["rejected"]) == (1, 2)
    assert report["errors"] == [
        {"location": "line 2", "reason": "instruction: must not contain NUL (\\u0000)"},
        {"location": "line 3", "reason": "output: must not contain NUL (\\u0000)"},
    ]
