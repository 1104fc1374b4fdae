"""Request cost: what one request of each load scenario costs in process, one at a time.

``benchmarks/load.py`` measures latency under 16 clients, which on two cores is mostly queueing:
what moves it is the CPU one request takes. This measures that alone. The trace benchmark's data
(``--annotations``, 20,000 by default: the same tables, smaller) in a PostgreSQL database, the
app built as ``serve --workers`` builds each worker's (``create_app``, heap frozen), and an ML
engineer (masked text) sending ``--requests`` requests per scenario one after another through
``fastapi.testclient.TestClient``: the REST page of 50 bench-chat records, the GraphQL page of 50
bench-safety records with their annotations, the lineage graph around the model (the requests of
``load.py``). Pages are walked from the first one, so every run sends the same requests, and the
sha256 of all the bodies of a scenario is printed: a change that should not change a response
can be checked against it.

The database is a scratch one, dropped at the end, unless ``--database NAME`` names one to keep
(seeded on first use, reused after). The last line of output is one JSON object: per scenario
the median wall and CPU (this process: the app and the client) milliseconds per request over
``--rounds`` rounds, the SQL statements per request (BEGIN, COMMIT and pool pings not counted),
and the bodies' digest.
"""

import argparse
import gc
import hashlib
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from trace import seed_database  # benchmarks/trace.py (this folder comes first)
from typing import Any

from ingest import DEFAULT_POSTGRES_URL
from load import GRAPHQL_PAGE  # the page the load benchmark asks for
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine, make_url

from catalog.access import service as principals
from catalog.access.schemas import BindingIn, KeyCreate, PrincipalCreate
from catalog.core.config import Settings
from catalog.core.db import make_engine, make_sessionmaker, normalise_url, scratch_postgres, transaction
from catalog.core.models import DatasetRow
from catalog.core.principal import Role

HERE = Path(__file__).resolve().parent
READER = "cost-reader"
PAGE = 50


@contextmanager
def database(server_url: str, name: str | None, annotations: int):
    """The URL of a seeded database: a scratch one, or ``name``, seeded when it has no tables yet."""
    if name is None:
        with scratch_postgres(server_url, "labeltrail_cost") as url:
            seed(url, annotations)
            yield url
        return
    url = make_url(normalise_url(server_url)).set(database=name).render_as_string(hide_password=False)
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(url)
    with engine.connect() as connection:
        seeded = connection.scalar(text("SELECT to_regclass('datasets') IS NOT NULL"))
    engine.dispose()
    if not seeded:
        seed(url, annotations)
    yield url


def seed(url: str, annotations: int) -> None:
    seeded = seed_database(url, annotations)
    print(f"seeded {seeded.rows:,} rows in {seeded.seconds:.1f} s")


def reader_key(url: str) -> tuple[str, dict[str, str]]:
    """A fresh key of the ML engineer (made on first use), and the datasets' ids by name."""
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine), write=True) as session:
            system = principals.system_principal(session)
            found = principals.find_principal(session, READER)
            if found is None:
                key = principals.create_principal(
                    session, principal=system, data=PrincipalCreate(name=READER, roles=[BindingIn(role=Role.ML_ENGINEER)])
                ).api_key  # fmt: skip
            else:
                key = principals.create_key(session, principal=system, principal_id=found.id, data=KeyCreate()).api_key
            ids = {name: str(id_) for name, id_ in session.execute(select(DatasetRow.name, DatasetRow.id))}
    finally:
        engine.dispose()
    return key, ids




def scenarios(client, ids: dict[str, str]):
    """Each scenario as a function sending its next request; it returns the body."""
    state: dict[str, str | None] = {"rest": None, "graphql": None}

    def rest_records() -> bytes:
        params: dict[str, Any] = {"limit": PAGE}
        if state["rest"]:
            params["cursor"] = state["rest"]
        response = client.get(f"/api/v1/datasets/{ids['bench-chat']}/records", params=params)
        assert response.status_code == 200, response.text
        state["rest"] = response.json()["next_cursor"]
        return response.content

    def graphql_records() -> bytes:
        variables = {"id": ids["bench-safety"], "first": PAGE, "after": state["graphql"]}
        response = client.post("/graphql", json={"query": GRAPHQL_PAGE, "variables": variables})
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), response.text
        info = body["data"]["dataset"]["records"]["pageInfo"]
        state["graphql"] = info["endCursor"] if info["hasNextPage"] else None
        return response.content

    def lineage() -> bytes:
        response = client.get("/api/v1/lineage", params={"nodeId": "dataset:s3://bench:bench-model", "depth": 5})
        assert response.status_code == 200 and len(response.json()["graph"]) == 6, response.text
        return response.content

    return state, {"rest_records": rest_records, "graphql_records": graphql_records, "lineage": lineage}


def measure(url: str, requests: int, rounds: int) -> dict[str, Any]:
    # This folder, first on the path for trace and ingest, holds a graphql.py that would shadow
    # the graphql package the app needs.
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.cli.server import frozen

    key, ids = reader_key(url)
    os.environ["LABELTRAIL_DATABASE_URL"] = url
    app = frozen(create_app(Settings(database_url=url, log_level="WARNING")))
    results: dict[str, dict[str, Any]] = {}
    statements = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def count(*_args) -> None:
        statements[0] += 1

    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        for round_ in range(rounds + 1):  # the first round warms up, unmeasured
            state, sends = scenarios(client, ids)
            for name, send in sends.items():
                state.update(rest=None, graphql=None)
                digest = hashlib.sha256()
                statements[0] = 0
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(requests):
                    digest.update(send())
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if round_:
                    shown = results.setdefault(name, {"wall": [], "cpu": [], "sha256": digest.hexdigest()})
                    shown["statements"] = statements[0] / requests
                    shown["wall"].append(wall * 1000 / requests)
                    shown["cpu"].append(cpu * 1000 / requests)
                    assert shown["sha256"] == digest.hexdigest(), f"{name}: the bodies changed between rounds"
    gc.collect()
    return {
        name: {"wall_ms": round(statistics.median(shown["wall"]), 2), "cpu_ms": round(statistics.median(shown["cpu"]), 2),
               "statements": shown["statements"], "sha256": shown["sha256"][:16]}
        for name, shown in results.items()
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="sequential requests per scenario and round (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds; medians are reported (default 5)")
    parser.add_argument("--annotations", type=int, default=20_000, help="the trace data's size (default 20000)")
    parser.add_argument("--database", help="a database to keep and reuse (seeded on first use)")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("LABELTRAIL_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="the PostgreSQL server (env LABELTRAIL_BENCH_POSTGRES_URL)",
    )  # fmt: skip
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    with database(args.postgres_url, args.database, args.annotations) as url:
        result = measure(url, args.requests, args.rounds)
    for name, shown in result.items():
        print(f"{name:16} {shown['wall_ms']:7.2f} ms wall, {shown['cpu_ms']:7.2f} ms CPU, "
              f"{shown['statements']:g} statements per request; bodies {shown['sha256']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
