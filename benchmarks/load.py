"""Load: concurrent clients against ``labeltrail serve --workers 2`` on PostgreSQL, quiet and with an import and masking going.

The data is the trace benchmark's (``benchmarks/trace.py``, its ``seed_database``, imported, not
copied): two datasets with one release each, ``--annotations`` released annotations in all
(bench-chat one per record, bench-safety two), every record masked, and a model two lineage steps
downstream of both releases. A scratch PostgreSQL database is made for the run and dropped after
it. An ML engineer (masked text, so no read writes to the audit log) is created with an API key.

The server is the real one, ``labeltrail serve --workers 2`` in a process of its own on loopback
(two uvicorn worker processes; the masking and delivery threads in their supervisor), at log
level WARNING. ``--clients`` clients (16) run in this process (asyncio, one httpx connection
each); each sends its next request as soon as the last one answered. Scenarios, each measured on
its own for ``--seconds`` (60) after ``--warmup`` seconds (10) of the same traffic:

- rest_records: ``GET /api/v1/datasets/{bench-chat}/records?limit=50``, each client walking the
  pages forward (``next_cursor``) from a random record, and from another one at the end;
- graphql_records: ``POST /graphql``, a page of 50 bench-safety records with their messages,
  metadata and annotations (two per record, each with its current value, status, revision and
  annotator), walked the same way (``endCursor``);
- lineage: ``GET /api/v1/lineage?nodeId=dataset:s3://bench:bench-model&depth=5``, the Marquez-style
  graph around the model.

Then the same three again ("busy") while ``labeltrail import`` runs back to back in processes of
their own (a generated alpaca file of ``--import-items`` items, benchmarks/ingest.py's generator,
into a dataset ``load-import``), and the server's masking thread (``LABELTRAIL_PII_MODE``, NER by
default; batches of ``--mask-batch`` records, 100, so that one commits every few seconds) works
through the pending records the imports leave; its batches hold row locks on
PostgreSQL while they scan. How many items were imported and records masked in the busy phase is
printed.

An error is a transport error or timeout, any status but 200, or a GraphQL answer with
``errors``. Latency is from sending a request to having read its whole body. Goals at 16
clients, no errors anywhere: REST records and lineage p99 under 500 ms; GraphQL records, and
every busy scenario, p99 under 2 s. The clients share the machine with the server, PostgreSQL and
(when busy) the import and the masker. The last line of output is one JSON object: overall
``rps`` (requests / measured seconds), ``p50_ms``, ``p99_ms``, ``errors``, ``goals_met``, and per
phase and scenario the same figures.
"""

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from trace import MODEL, RECORD, ident, parts, seed_database  # benchmarks/trace.py (this folder comes first)
from typing import Any

import httpx
from ingest import DEFAULT_POSTGRES_URL, jsonl, make_items
from ingest import SCHEMA as IMPORT_SCHEMA
from sqlalchemy import func, select

from catalog.access import service as principals
from catalog.access.schemas import BindingIn, PrincipalCreate
from catalog.core.db import make_engine, make_sessionmaker, scratch_postgres, transaction
from catalog.core.models import MASKED, PENDING, DatasetRow, RecordRow
from catalog.core.principal import Role
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate
from catalog.records.service import RECORDS

ROOT = Path(__file__).resolve().parents[1]
IMPORT_DATASET = "load-import"
MODEL_NODE = f"dataset:s3://bench:{MODEL}"
PAGE = 50
GOALS_MS = {"quiet": {"rest_records": 500, "graphql_records": 2000, "lineage": 500},
            "busy": {"rest_records": 2000, "graphql_records": 2000, "lineage": 2000}}  # fmt: skip
GRAPHQL_PAGE = """query($id: UUID!, $first: Int!, $after: String) {
  dataset(id: $id) {
    records(first: $first, after: $after) {
      edges { node { id text messages { role content } metadata
        annotations { id question annotator value status revision text } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


# --- the world -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    url: str
    key: str
    datasets: dict[str, uuid.UUID]  # bench-chat, bench-safety, load-import
    records: dict[str, tuple[int, int]]  # trace dataset -> (first record number, records)


def build_world(url: str, annotations: int) -> World:
    seeded = seed_database(url, annotations)
    print(f"seeded {seeded.rows:,} rows of the trace benchmark's data in {seeded.seconds:.1f} s (not timed)")
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine), write=True) as session:
            system = principals.system_principal(session)
            datasets.create_dataset(
                session, principal=system, data=DatasetCreate(name=IMPORT_DATASET, task_types=["sft"], label_schema=IMPORT_SCHEMA)
            )  # fmt: skip
            created = principals.create_principal(
                session, principal=system, data=PrincipalCreate(name="load-reader", roles=[BindingIn(role=Role.ML_ENGINEER)])
            )  # fmt: skip
            ids = {name: id_ for name, id_ in session.execute(select(DatasetRow.name, DatasetRow.id))}
    finally:
        engine.dispose()
    return World(url, created.api_key, ids, {part.name: (part.first, part.records) for part in parts(annotations)})


def mask_counts(url: str, dataset_id: uuid.UUID) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(RecordRow.mask_status, func.count()).where(RecordRow.dataset_id == dataset_id).group_by(RecordRow.mask_status)
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    counts = dict(rows)
    return {"masked": counts.get(MASKED, 0), "pending": counts.get(PENDING, 0)}


# --- the server and the busy work --------------------------------------------------------------------


def cli_env(url: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "LABELTRAIL_DATABASE_URL": url, "LABELTRAIL_LOG_LEVEL": "WARNING",
            "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}  # fmt: skip


def labeltrail(url: str, *args: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "-c", "from api.cli.main import app; app()", *args]
    return subprocess.Popen(command, **{"env": cli_env(url), "cwd": ROOT, **popen})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, workers: int, log: Path, mask_batch: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with log.open("wb") as out:
        server = labeltrail(
            url, "serve", "--port", str(port), "--workers", str(workers), stdout=out, stderr=subprocess.STDOUT,
            env={**cli_env(url), "LABELTRAIL_PII_BATCH_SIZE": str(mask_batch)},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline, answered = time.monotonic() + 300, 0
    while answered < 20:  # 20 answers in a row on new connections: the workers are up
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start; its log:\n{log.read_text()[-3000:]}")
        try:
            answered = answered + 1 if httpx.get(f"{base}/health", timeout=5).status_code == 200 else 0
        except httpx.HTTPError:
            answered = 0
            time.sleep(0.5)
    return server, base


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Imports(threading.Thread):
    """``labeltrail import`` of the generated file, one run after another, until stopped."""

    def __init__(self, url: str, file: Path) -> None:
        super().__init__(name="imports", daemon=True)
        self.url, self.file = url, file
        self.runs, self.items, self.failures = 0, 0, 0
        self._stopped = threading.Event()
        self._current: subprocess.Popen | None = None

    def run(self) -> None:
        while not self._stopped.is_set():
            self._current = labeltrail(
                self.url, "import", str(self.file), "--dataset", IMPORT_DATASET, "--format", "alpaca",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            out, err = self._current.communicate()
            if self._stopped.is_set() and self._current.returncode != 0:
                return  # stopped mid-run: its committed batches stay, not counted
            if self._current.returncode == 0:
                self.runs += 1
                self.items += json.loads(out)["records_added"]
            else:
                self.failures += 1
                print(f"import failed (exit {self._current.returncode}): {err.decode()[-500:]}")

    def stop(self) -> None:
        self._stopped.set()
        if self._current is not None:
            stop(self._current)
        self.join()


# --- the clients -----------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(what[:300])


Request = Callable[[httpx.AsyncClient, dict], Any]  # sends one request; returns an error text or None


def rest_records(world: World, rng: random.Random) -> Request:
    dataset_id = world.datasets["bench-chat"]

    async def send(client: httpx.AsyncClient, state: dict) -> str | None:
        params = {"limit": PAGE}
        if cursor := state.get("cursor") or start_cursor(world, "bench-chat", rng):
            params["cursor"] = cursor
        response = await client.get(f"/api/v1/datasets/{dataset_id}/records", params=params)
        if response.status_code != 200:
            return f"{response.status_code} {response.text}"
        body = response.json()
        if not body["items"]:
            return "an empty page"
        state["cursor"] = body["next_cursor"]
        return None

    return send


def graphql_records(world: World, rng: random.Random) -> Request:
    dataset_id = str(world.datasets["bench-safety"])

    async def send(client: httpx.AsyncClient, state: dict) -> str | None:
        after = state.get("cursor") or start_cursor(world, "bench-safety", rng)
        variables = {"id": dataset_id, "first": PAGE, "after": after}
        response = await client.post("/graphql", json={"query": GRAPHQL_PAGE, "variables": variables})
        if response.status_code != 200:
            return f"{response.status_code} {response.text}"
        body = response.json()
        if body.get("errors") or not body.get("data"):
            return f"GraphQL errors: {json.dumps(body.get('errors'))}"
        page = body["data"]["dataset"]["records"]
        if any(len(edge["node"]["annotations"]) != 2 for edge in page["edges"]):
            return "a record without its two annotations"
        state["cursor"] = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
        return None

    return send


def lineage(world: World, rng: random.Random) -> Request:
    async def send(client: httpx.AsyncClient, state: dict) -> str | None:
        response = await client.get("/api/v1/lineage", params={"nodeId": MODEL_NODE, "depth": 5})
        if response.status_code != 200:
            return f"{response.status_code} {response.text}"
        if len(response.json()["graph"]) != 6:  # two releases' dataset, tokenise, tokenised, sft, the model
            return f"a graph of {len(response.json()['graph'])} nodes"
        return None

    return send


def start_cursor(world: World, dataset: str, rng: random.Random) -> str | None:
    """The cursor after a random record of ``dataset`` (the trace data's ids are computable), so
    the clients read pages all over the table, not the same first pages."""
    first, count = world.records[dataset]
    number = rng.randrange(first, first + count - PAGE)
    return None if number == first else RECORDS.cursor(ident(RECORD, number), scope=world.datasets[dataset])


SCENARIOS: dict[str, Callable[[World, random.Random], Request]] = {
    "rest_records": rest_records, "graphql_records": graphql_records, "lineage": lineage,
}  # fmt: skip


async def drive(
    base: str, world: World, scenario: str, clients: int, warmup: float, seconds: float
) -> tuple[Tally, float]:
    """``clients`` clients in a closed loop for warmup + seconds; what answered in the last ``seconds`` counts."""
    tally = Tally()
    started = time.perf_counter()
    measure_from, end = started + warmup, started + warmup + seconds
    headers = {"Authorization": f"Bearer {world.key}"}

    async def client(number: int) -> None:
        rng = random.Random(f"{scenario}-{number}")
        send = SCENARIOS[scenario](world, rng)
        state: dict = {}
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0, limits=limits) as http:
            while (now := time.perf_counter()) < end:
                try:
                    problem = await send(http, state)
                except httpx.HTTPError as error:
                    problem = f"{type(error).__name__}: {error}"
                done = time.perf_counter()
                if now >= measure_from and done <= end:
                    if problem is None:
                        tally.latencies.append(done - now)
                    else:
                        tally.error(problem)
                elif problem is not None and now < measure_from:
                    tally.error(f"(warm-up) {problem}")

    await asyncio.gather(*(client(number) for number in range(clients)))
    return tally, seconds


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def figures(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered), "rps": round(len(ordered) / seconds, 1),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1), "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "errors": errors,
    }  # fmt: skip


# --- the run ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, dict[str, dict]] = {"quiet": {}, "busy": {}}
    everything: list[float] = []
    total_errors, total_seconds = 0, 0.0
    busy_work: dict[str, Any] = {}
    with scratch_postgres(args.postgres_url, "labeltrail_load") as url, tempfile.TemporaryDirectory() as folder:
        world = build_world(url, args.annotations)
        import_file = Path(folder) / "load-import.jsonl"
        items = make_items(args.import_items, seed=1812)
        for item in items:
            del item["id"]  # no external ids: the same file imports again and again
        import_file.write_bytes(jsonl(items))
        del items
        server, base = start_server(url, args.workers, Path(folder) / "serve.log", args.mask_batch)
        print(f"labeltrail serve --workers {args.workers} answering at {base}; {args.clients} clients, "
              f"{args.warmup:g} s warm-up + {args.seconds:g} s per scenario")  # fmt: skip
        try:
            for phase in ("quiet", "busy"):
                imports = None
                if phase == "busy":
                    before = mask_counts(url, world.datasets[IMPORT_DATASET])
                    imports = Imports(url, import_file)
                    imports.start()
                    started = time.perf_counter()
                for scenario in SCENARIOS:
                    if phase == "busy":
                        pending = mask_counts(url, world.datasets[IMPORT_DATASET])["pending"]
                        print(f"busy: {pending:,} records pending masking as {scenario} starts")
                    tally, seconds = asyncio.run(drive(base, world, scenario, args.clients, args.warmup, args.seconds))
                    results[phase][scenario] = {**figures(tally.latencies, tally.errors, seconds),
                                                "goal_p99_ms": GOALS_MS[phase][scenario]}  # fmt: skip
                    for problem in tally.first_errors:
                        print(f"  {phase} {scenario} error: {problem}")
                    everything.extend(tally.latencies)
                    total_errors += tally.errors
                    total_seconds += seconds
                    shown = results[phase][scenario]
                    print(f"{phase:5} {scenario:16} {shown['requests']:7,} requests, {shown['rps']:7.1f}/s, "
                          f"p50 {shown['p50_ms']:7.1f} ms, p99 {shown['p99_ms']:7.1f} ms, {shown['errors']} errors")  # fmt: skip
                if imports is not None:
                    if server.poll() is not None:
                        raise RuntimeError("the server died")
                    imports.stop()
                    after = mask_counts(url, world.datasets[IMPORT_DATASET])
                    elapsed = time.perf_counter() - started
                    busy_work = {
                        "seconds": round(elapsed, 1), "imports_completed": imports.runs, "import_failures": imports.failures,
                        "items_imported_by_completed_runs": imports.items,
                        "records_added": after["masked"] + after["pending"] - before["masked"] - before["pending"],
                        "records_masked": after["masked"] - before["masked"], "pending_at_end": after["pending"],
                    }  # fmt: skip
                    total_errors += imports.failures
        finally:
            stop(server)
            if server.returncode not in (0, -15):
                print(f"the server exited with {server.returncode}")
            logged = (Path(folder) / "serve.log").read_text(errors="replace").splitlines()
            problems = [line for line in logged if '"level": "error"' in line or "Traceback" in line]
            print(f"the server logged {len(problems)} error(s)" + "".join(f"\n  {line[:300]}" for line in problems[:5]))
            total_errors += len(problems)
    return report(results, everything, total_errors, total_seconds, busy_work, args)


def report(results, everything, errors, seconds, busy_work, args) -> dict[str, Any]:
    met_all = errors == 0
    print()
    print(f"{'phase':6} {'scenario':16} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  goal")
    for phase, scenarios in results.items():
        for scenario, shown in scenarios.items():
            met = shown["errors"] == 0 and shown["p99_ms"] < shown["goal_p99_ms"]
            shown["goal_met"] = met
            met_all = met_all and met
            print(f"{phase:6} {scenario:16} {shown['requests']:9,} {shown['rps']:8.1f} {shown['p50_ms']:8.1f} "
                  f"{shown['p99_ms']:8.1f} {shown['errors']:6}  p99 < {shown['goal_p99_ms']:,} ms, no errors: "
                  f"{'met' if met else 'MISSED'}")  # fmt: skip
    if busy_work:
        print(f"busy phase ({busy_work['seconds']} s): {busy_work['records_added']:,} records imported "
              f"({busy_work['imports_completed']} import runs completed, {busy_work['import_failures']} failed), "
              f"{busy_work['records_masked']:,} masked by the server's masker, {busy_work['pending_at_end']:,} still pending")  # fmt: skip
    overall = figures(everything, errors, seconds)
    print(f"overall: {overall['rps']} req/s, p50 {overall['p50_ms']} ms, p99 {overall['p99_ms']} ms, "
          f"{errors} errors; every goal {'met' if met_all else 'NOT met'}")  # fmt: skip
    return {
        **{key: overall[key] for key in ("rps", "p50_ms", "p99_ms", "errors")}, "goals_met": met_all,
        "clients": args.clients, "workers": args.workers, "seconds": args.seconds, "annotations": args.annotations,
        **results, "busy_work": busy_work,
    }  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per scenario (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds before each (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (default 2)")
    parser.add_argument("--annotations", type=int, default=1_000_000,
                        help="released annotations of the trace data (default 1000000)")  # fmt: skip
    parser.add_argument("--import-items", type=int, default=20_000, help="items per import run (default 20000)")
    parser.add_argument(
        "--mask-batch", type=int, default=100,
        help="the server's LABELTRAIL_PII_BATCH_SIZE (default 100: a batch of long texts commits within seconds)",
    )  # fmt: skip
    parser.add_argument(
        "--postgres-url", default=os.environ.get("LABELTRAIL_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="server to make the scratch database on (env LABELTRAIL_BENCH_POSTGRES_URL)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.annotations < 8 * PAGE:
        parser.error(f"--annotations must be at least {8 * PAGE}")
    return args


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    args = parse_args()
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
