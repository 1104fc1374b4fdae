"""Ingest throughput: the import service against raw SQLAlchemy Core executemany, on SQLite and PostgreSQL.

What is measured, per backend:

- service: ``catalog.importing.service.run_import`` reads an in-memory JSON-lines file of N alpaca
  items (generated deterministically here) and parses, validates, hashes and inserts one record,
  one annotation and its first revision per item, committing every batch. Timed from the start of
  the import to the last commit.
- raw: the same rows (built beforehand by the same row builders, so the columns and value sizes
  match) inserted with ``connection.execute(insert(table), rows)`` in batches of the same size,
  committing every batch. Only the inserts and commits are timed. This is the limit on the engine.

Rows per second counts records + annotations + revisions for both arms. Every run gets a fresh,
migrated database (SQLite: a temp file opened with the project's engine settings, WAL and foreign
keys on; PostgreSQL: a scratch database created and dropped here). The arms alternate and the better
of ``--repeats`` runs of each is kept. The goal is a service rate of at least half the raw rate.
The last line of output is one JSON object: {"sqlite": {...}, "postgresql": {...}}, each with
service_rows_per_s, raw_rows_per_s and ratio (service / raw); "postgresql" is null when no server answers.
"""

import argparse
import gc
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from catalog.access import service as principals
from catalog.annotations.service import new_annotation_rows
from catalog.core import migrate
from catalog.core.config import get_settings
from catalog.core.db import make_engine, make_sessionmaker, scratch_postgres, transaction
from catalog.core.models import AnnotationRow, DatasetRow, RecordRow, RevisionRow, utcnow
from catalog.core.principal import Principal
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate
from catalog.importing.formats import Format, parse
from catalog.importing.service import run_import
from catalog.records.service import record_row

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = {"questions": [{"name": "response", "kind": "text"}]}
FILE_NAME = "bench.jsonl"
_WORDS = (
    "the a model answer question data training example explain why how what which because therefore "
    "however function value return list string number python sql database index query result error "
    "user assistant system prompt response label review annotate quality safety helpful honest "
    "summarise translate classify describe compare write code test step first second finally also "
    "café naïve résumé über straße 東京 数据 模型 😀 ✓ — “quoted” 'single' tab\tnew\nline"
).split(" ")


# --- data ------------------------------------------------------------------------------------------


def make_items(count: int, seed: int = 8785) -> list[dict[str, Any]]:
    """Alpaca items with prompts and responses of 200-800 characters; a third carry an ``input``."""
    rng = random.Random(seed)
    return [_item(rng, number) for number in range(count)]


def _item(rng: random.Random, number: int) -> dict[str, Any]:
    item = {"id": f"bench-{number:07d}", "instruction": _text(rng, 200, 800), "output": _text(rng, 200, 800)}
    item["input"] = _text(rng, 50, 400) if rng.random() < 1 / 3 else ""
    return item


def _text(rng: random.Random, low: int, high: int) -> str:
    length = rng.randint(low, high)
    return " ".join(rng.choices(_WORDS, k=length // 5 + 1))[:length]


def jsonl(items: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(item, ensure_ascii=False).encode() + b"\n" for item in items)


# --- databases -------------------------------------------------------------------------------------


@contextmanager
def scratch_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="labeltrail_bench_") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


def postgres_answers(url: str) -> bool:
    engine = make_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


T = TypeVar("T")


def batched(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` rows (the last one shorter) for executemany; itertools.batched from Python 3.12."""
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LABELTRAIL_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="server to make scratch databases on (env LABELTRAIL_BENCH_POSTGRES_URL)",
    )


def on_each_backend(measure: Callable[[str, Callable], dict], postgres_url: str) -> dict[str, dict | None]:
    """``measure(backend, scratch)`` on SQLite, then on PostgreSQL when one answers at ``postgres_url``."""
    results: dict[str, dict | None] = {"sqlite": measure("sqlite", scratch_sqlite)}
    if postgres_answers(postgres_url):
        results["postgresql"] = measure("postgresql", lambda: scratch_postgres(postgres_url, "labeltrail_bench"))
    else:
        print(f"postgresql: skipped, nothing answers at {make_url(postgres_url).render_as_string()}")
        results["postgresql"] = None
    return results


def prepare(url: str) -> tuple[Engine, Principal, uuid.UUID]:
    """Migrate a fresh database; make the importing principal and an empty dataset."""
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        principal = principals.system_principal(session)
        data = DatasetCreate(name="bench", task_types=["sft"], label_schema=SCHEMA)
        dataset = datasets.create_dataset(session, principal=principal, data=data)
    return engine, principal, dataset.id


# --- the two arms ----------------------------------------------------------------------------------


def run_service(url: str, payload: bytes, batch_size: int) -> tuple[int, float]:
    engine, principal, dataset_id = prepare(url)
    try:
        with make_sessionmaker(engine)() as session:
            stream = io.BytesIO(payload)
            gc.collect()
            started = time.perf_counter()
            report = run_import(
                session, source=stream, batch_size=batch_size, commit_batches=True,
                principal=principal, dataset_id=dataset_id, fmt=Format.ALPACA, file_name=FILE_NAME,
            )  # fmt: skip
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    if report.rejected:
        raise RuntimeError(f"the import rejected {report.rejected} item(s): {report.errors[:3]}")
    revisions = report.annotations_added + report.annotations_revised
    return report.records_added + report.annotations_added + revisions, seconds


def run_raw(url: str, payload: bytes, batch_size: int) -> tuple[int, float]:
    engine, principal, dataset_id = prepare(url)
    try:
        items = [json.loads(line) for line in payload.splitlines()]
        batches = raw_batches(engine, principal, dataset_id, items, batch_size)
        del items
        tables = (RecordRow.__table__, AnnotationRow.__table__, RevisionRow.__table__)
        with engine.connect() as connection:
            gc.collect()
            started = time.perf_counter()
            for batch in batches:
                for table, rows in zip(tables, batch, strict=True):
                    connection.execute(insert(table), rows)
                connection.commit()
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return sum(len(rows) for batch in batches for rows in batch), seconds


def raw_batches(engine: Engine, principal: Principal, dataset_id: uuid.UUID, items: list, size: int) -> list:
    """Per batch: the record, annotation and revision rows the service would write (untimed)."""
    with make_sessionmaker(engine)() as session:
        dataset = session.get_one(DatasetRow, dataset_id)
    return [_raw_batch(dataset, principal, items[start : start + size]) for start in range(0, len(items), size)]


def _raw_batch(dataset: DatasetRow, principal: Principal, items: list) -> tuple[list, list, list]:
    now = utcnow()
    records, annotations, revisions = [], [], []
    for item in items:
        parsed = parse(Format.ALPACA, item)
        row = record_row(dataset, parsed.record, principal.id, now)
        annotation, revision = new_annotation_rows(
            dataset=dataset, record=row, question="response", actor_id=principal.id,
            source={"kind": "import", "file": FILE_NAME}, value=parsed.response, status="submitted",
            guideline_version=None, now=now,
        )  # fmt: skip
        row["metadata"] = row.pop("meta")  # the column's name; the ORM attribute is ``meta``
        records.append(row)
        annotations.append(annotation)
        revisions.append(revision)
    return records, annotations, revisions


# --- measuring -------------------------------------------------------------------------------------


def measure(name: str, scratch: Callable[[], AbstractContextManager[str]], payload: bytes, args) -> dict[str, float]:
    """Alternate the arms ``args.repeats`` times, each on a fresh database; keep the best rate of each."""
    best = {"service": 0.0, "raw": 0.0}
    for repeat in range(1, args.repeats + 1):
        for arm in ("service", "raw"):
            with scratch() as url:
                if arm == "service":
                    rows, seconds = run_service(url, payload, args.batch_size)
                else:
                    rows, seconds = run_raw(url, payload, args.batch_size)
            rate = rows / seconds
            best[arm] = max(best[arm], rate)
            print(f"{name:10} run {repeat} {arm:7}: {rows:,} rows in {seconds:6.2f} s = {rate:9,.0f} rows/s")
    ratio = best["service"] / best["raw"]
    print(
        f"{name:10} best: service {best['service']:,.0f} rows/s, raw {best['raw']:,.0f} rows/s, "
        f"ratio {ratio:.2f} ({'meets' if ratio >= 0.5 else 'BELOW'} the 0.50 goal)"
    )
    return {
        "service_rows_per_s": round(best["service"], 1),
        "raw_rows_per_s": round(best["raw"], 1),
        "ratio": round(ratio, 3),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="items to import (default 100000)")
    add_postgres_option(parser)
    parser.add_argument("--batch-size", type=int, default=get_settings().import_batch_size)
    parser.add_argument("--repeats", type=int, default=2, help="runs per arm; the best counts (default 2)")
    return parser.parse_args()


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, even through a pipe
    args = parse_args()
    payload = jsonl(make_items(args.records))  # only the bytes stay: a real import holds no parsed copy
    print(f"{args.records:,} alpaca items, {len(payload) / 1e6:.1f} MB of JSON lines, batches of {args.batch_size}")
    results = on_each_backend(lambda backend, scratch: measure(backend, scratch, payload, args), args.postgres_url)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
