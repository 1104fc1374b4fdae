"""GraphQL against REST for one graph: a page of records with their annotations and every annotation's history.

What is measured, per backend (SQLite, and PostgreSQL when it answers), on a fresh migrated
database holding one dataset of ``--records`` records, each with ``--annotations`` annotations
edited ``--edits`` times (so ``--edits`` + 1 revisions each), all masked, read by an ML engineer
(masked text, so neither arm writes to the audit log):

- graphql: one ``POST /graphql`` asking for the first ``--records`` records of the dataset with
  their annotations and each annotation's history.
- rest: the calls a client needs for the same data: ``GET /datasets/{id}/records?limit=N``, then
  ``GET /records/{id}/annotations`` for each record and ``GET /annotations/{id}/history`` for each
  annotation (1 + N + N x annotations requests).

Both arms run through the real app in process (FastAPI's TestClient, no network), with the same
API key, and must return the same number of records, annotations and revisions. After a warm-up
the heap is frozen (``gc.freeze()``, as a server that preloads its app does): otherwise a full
garbage collection over everything the PII libraries leave in memory (about 200 ms) lands on
every other request of either arm. The arms alternate for ``--runs`` rounds; the median of each
counts. SQL statements are counted
with a ``before_cursor_execute`` listener, for each arm, and for GraphQL also with a page of 10,
to show its count does not grow with the page. Goal: the same GraphQL statement count for both
page sizes, and GraphQL no slower than REST.

The last line of output is one JSON object: "graphql_ms", "rest_ms", "graphql_statements" (and
"rest_statements") are PostgreSQL's when it answered, else SQLite's; "sqlite" and "postgresql"
(null when skipped) hold each backend's figures.
"""

import sys

# Run as a script, this file's folder leads sys.path, where this file would stand in for the
# graphql package that strawberry imports: the folder goes last (``ingest`` is still found there).
sys.path.append(sys.path.pop(0))

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import AbstractContextManager, contextmanager  # noqa: E402
from typing import Any  # noqa: E402

from fastapi.testclient import TestClient  # noqa: E402
from ingest import add_postgres_option, on_each_backend  # noqa: E402
from sqlalchemy import Engine, event  # noqa: E402

from api.app import create_app  # noqa: E402
from catalog.access import service as principals
from catalog.access.schemas import BindingIn, PrincipalCreate
from catalog.annotations import service as annotations
from catalog.annotations.schemas import AnnotationCreate, AnnotationEdit
from catalog.core import migrate
from catalog.core.config import Settings
from catalog.core.db import transaction
from catalog.core.principal import Role
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate
from catalog.pii_gate.service import SCANNER_KEY
from catalog.pii_gate.worker import mask_all
from catalog.records import service as records
from catalog.records.schemas import RecordIn
from pii import ScannerConfig  # noqa: E402

MASKING = ScannerConfig(mode="pattern")
SCHEMA = {"questions": [{"name": f"q{n}", "kind": "text"} for n in range(10)]}
QUERY = """query($id: UUID!, $first: Int!) {
  dataset(id: $id) {
    records(first: $first) {
      edges { node { id text messages { role content } metadata
        annotations { id question annotator value status revision
          history { revision kind actor value status reason sha256 } } } }
    }
  }
}"""


# --- the data --------------------------------------------------------------------------------------


def prepare(url: str, args) -> tuple[TestClient, str, str]:
    """A migrated database with the dataset, its annotations, and an ML engineer's key; the app."""
    migrate.upgrade(url)
    app = create_app(
        Settings(database_url=url, log_level="WARNING", pii_mode="pattern", audit_seal_key="benchmark-seal-key")
    )
    sessions = app.state.sessions
    with transaction(sessions) as session:
        system = principals.system_principal(session)
        dataset = datasets.create_dataset(session, principal=system, data=DatasetCreate(name="bench", label_schema=SCHEMA))
        prompts = [RecordIn(messages=[{"role": "user", "content": f"Mail ann{n}@example.com: question {n}?"}],
                            metadata={"domain": "support"}) for n in range(args.records)]
        added = records.add_records(session, principal=system, dataset_id=dataset.id, records=prompts)
        reader = principals.create_principal(
            session, principal=system, data=PrincipalCreate(name="reader", roles=[BindingIn(role=Role.ML_ENGINEER)])
        )
    mask_all(sessions, MASKING, batch_size=1000)
    with transaction(sessions) as session:
        session.info[SCANNER_KEY] = app.state.scan  # annotation text is masked as it is written, as through the API
        for record_id in added.ids:
            annotate(session, system, record_id, args)
    return TestClient(app), str(dataset.id), reader.api_key


def annotate(session, principal, record_id: uuid.UUID, args) -> None:
    for number in range(args.annotations):
        made = annotations.create_annotation(
            session, principal=principal, record_id=record_id,
            data=AnnotationCreate(question=f"q{number}", value=f"An answer to write to bob{number}@example.com."),
        )  # fmt: skip
        for revision in range(1, args.edits + 1):
            edit = AnnotationEdit(base_revision=revision, value=f"Answer, version {revision + 1}.", reason="clearer")
            annotations.edit_annotation(session, principal=principal, annotation_id=made.id, data=edit)


# --- the two arms ----------------------------------------------------------------------------------


def via_graphql(client: TestClient, headers: dict, dataset_id: str, first: int) -> tuple[int, int, int]:
    response = client.post("/graphql", json={"query": QUERY, "variables": {"id": dataset_id, "first": first}}, headers=headers)
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"the GraphQL query failed: {response.text[:500]}")
    nodes = [edge["node"] for edge in body["data"]["dataset"]["records"]["edges"]]
    found = [annotation for node in nodes for annotation in node["annotations"]]
    return len(nodes), len(found), sum(len(annotation["history"]) for annotation in found)


def via_rest(client: TestClient, headers: dict, dataset_id: str, first: int) -> tuple[int, int, int]:
    def get(path: str, **params) -> Any:
        response = client.get(f"/api/v1{path}", headers=headers, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} failed: {response.text[:500]}")
        return response.json()

    page = get(f"/datasets/{dataset_id}/records", limit=first)["items"]
    found = [annotation for record in page for annotation in get(f"/records/{record['id']}/annotations")]
    revisions = sum(len(get(f"/annotations/{annotation['id']}/history")["revisions"]) for annotation in found)
    return len(page), len(found), revisions


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    executed: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- measuring -------------------------------------------------------------------------------------


def measure(name: str, scratch: Callable[[], AbstractContextManager[str]], args) -> dict[str, Any]:
    with scratch() as url:
        client, dataset_id, key = prepare(url, args)
        engine = client.app.state.sessions.kw["bind"]
        headers = {"Authorization": f"Bearer {key}"}
        arms = {"graphql": via_graphql, "rest": via_rest}
        try:
            shapes = {arm: fetch(client, headers, dataset_id, args.records) for arm, fetch in arms.items()}  # warm-up
            if shapes["graphql"] != shapes["rest"]:
                raise RuntimeError(f"the arms read different data: {shapes}")
            statements = {}
            for arm, fetch in arms.items():
                with counting(engine) as executed:
                    fetch(client, headers, dataset_id, args.records)
                statements[arm] = len(executed)
            with counting(engine) as executed:
                via_graphql(client, headers, dataset_id, 10)
            statements["graphql_10"] = len(executed)
            gc.collect()
            gc.freeze()
            times: dict[str, list[float]] = {"graphql": [], "rest": []}
            for run in range(1, args.runs + 1):
                for arm in ("graphql", "rest") if run % 2 else ("rest", "graphql"):
                    started = time.perf_counter()
                    arms[arm](client, headers, dataset_id, args.records)
                    times[arm].append((time.perf_counter() - started) * 1000)
        finally:
            gc.unfreeze()
            client.close()
            engine.dispose()
    records_, annotations_, revisions = shapes["graphql"]
    graphql_ms, rest_ms = statistics.median(times["graphql"]), statistics.median(times["rest"])
    print(
        f"{name:10} {records_} records, {annotations_} annotations, {revisions} revisions: "
        f"GraphQL {graphql_ms:8.1f} ms in {statements['graphql']} statements (page of 10: {statements['graphql_10']}), "
        f"REST {rest_ms:8.1f} ms in {1 + records_ + annotations_} requests and {statements['rest']} statements; "
        f"REST / GraphQL = {rest_ms / graphql_ms:.1f}"
    )
    return {
        "graphql_ms": round(graphql_ms, 1),
        "rest_ms": round(rest_ms, 1),
        "graphql_statements": statements["graphql"],
        "graphql_statements_page_of_10": statements["graphql_10"],
        "rest_statements": statements["rest"],
        "rest_requests": 1 + records_ + annotations_,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100, help="records in the page (default 100)")
    parser.add_argument("--annotations", type=int, default=2, help="annotations per record (default 2, at most 10)")
    parser.add_argument("--edits", type=int, default=2, help="edits per annotation (default 2: three revisions)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per arm; the median counts (default 15)")
    add_postgres_option(parser)
    return parser.parse_args()


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    args = parse_args()
    results = on_each_backend(lambda backend, scratch: measure(backend, scratch, args), args.postgres_url)
    headline = results["postgresql"] or results["sqlite"]
    keys = ("graphql_ms", "rest_ms", "graphql_statements", "rest_statements")
    print(json.dumps({**{key: headline[key] for key in keys}, **results}))


if __name__ == "__main__":
    main()
