"""Model traces: the trace service against hand-written SQL over the same tables, on SQLite and PostgreSQL.

The data, generated deterministically here and written straight into a fresh migrated database
(no import service, no NER masking; not timed): two datasets, ``bench-chat`` and ``bench-safety``,
each with one release (``v1``) holding ``--annotations`` released annotations in all: every record
of bench-chat has one annotation (``response``), every record of bench-safety two (``response``,
``safety``), so half the annotations are in each release (500,000 records + 250,000 records by
default). Each annotation has one submitted revision, by one of 300 annotators, with a source of
human (60%), model (30%) or import (10%), and guideline version 1-3 (none for imports). Records,
annotations, revisions and the release manifests (``releases``, ``release_records``,
``release_revisions``) are inserted with SQLAlchemy Core ``executemany`` on SQLite and ``COPY`` on
PostgreSQL, not by ``cut_release``: a cut reads the whole dataset into Python, hashes a Merkle tree
and MinHashes every prompt for contamination, none of which a trace reads. The model is made as a
client makes it: four OpenLineage RunEvents through ``lineage.receive.receive`` (START and COMPLETE
of a ``tokenise`` run that reads both releases by tag and writes ``tokenised@1``, then of a
``TRAINING`` run that reads ``tokenised@1`` and writes the model ``bench-model@1``), so the trace
walks two steps upstream. PostgreSQL gets an ``ANALYZE`` after seeding.

What is timed, per backend, all on the same database in the same run, by a global ml_engineer:

- summary, project: ``catalog.lineage_graph.service.trace_model`` (the model, the recursive upstream walk,
  the visible releases, the runs, one GROUP BY per release, the DTOs), in a new ORM session.
- summary, SQL: one hand-written statement: the same recursive walk over ``lineage_io`` from the
  model's runs, then the labels of the releases it reached counted by (release, source, annotator
  id, guideline version) over ``release_revisions`` x ``annotation_revisions`` x ``annotations``,
  then joined to ``releases``, ``datasets`` and ``principals`` for the names (counting by annotator
  id and naming the few hundred groups afterwards, not joining ``principals`` on every label, is
  how one writes it by hand, and about twice as fast on SQLite). It runs on the DBAPI connection
  (sqlite3 / psycopg: no SQLAlchemy, no authorization, no DTOs); its rows are folded into the same
  per-release counts by source, annotators and counts by guideline version.
- rows, project: every ``TraceRow`` of ``catalog.lineage_graph.service.trace_rows`` consumed, in a new
  ORM session.
- rows, SQL: on the DBAPI connection, one statement walks the lineage the same way and lists the
  releases reached with their dataset names in trace order (dataset name, release id), then one
  hand-written SELECT per release (``release_revisions`` x ``annotation_revisions`` x
  ``annotations`` x ``principals``) gives the same tuples (dataset, tag, record, annotation,
  question, revision id, revision, annotator, source, guideline version) in the same order (record,
  annotation), fetched in chunks of ``--chunk`` rows (a server-side cursor on PostgreSQL). One
  SELECT over all releases ordered by dataset name first cannot walk the (release_id, record_id)
  index and sorts every row: about 1.5x slower on PostgreSQL for 1,000,000 rows (the sort spills
  at the default work_mem), which would flatter the project, so the SQL arm does what the service
  does, one statement per release.

Both arms run once untimed first (caches warm, statements compiled), and their results are
compared: the same releases with the same counts, the same row count and the same checksum of all
rows in order (UUIDs compared as hex, so SQLite's CHAR(32) and PostgreSQL's uuid agree). Then the
arms alternate for ``--runs`` rounds; the median of each counts. Both use the same engine's pool:
the project opens a new session per call, the SQL arm checks out a raw connection per call.

ratio = project time / SQL time; the goal is at most 2 for both summary and rows. The last line of
output is one JSON object: {"sqlite": {...}, "postgresql": {...} or null}, each with
summary_ratio, rows_ratio, rows_per_s (the project's) and the times behind them.
"""

import argparse
import gc
import hashlib
import itertools
import json
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest import add_postgres_option, batched, on_each_backend
from sqlalchemy import JSON, Engine, Table, insert, text

from catalog.access import service as principals
from catalog.access.schemas import BindingIn, PrincipalCreate
from catalog.core import migrate
from catalog.core.config import Settings
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.core.models import (
    AnnotationRow,
    PrincipalRow,
    RecordRow,
    ReleaseRecordRow,
    ReleaseRevisionRow,
    ReleaseRow,
    RevisionRow,
)
from catalog.core.principal import Principal, Role
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate
from catalog.lineage_graph import service as traces
from catalog.lineage_graph.schemas import TraceRow
from catalog.releases.schemas import SplitRatios
from lineage.derive import ModelRules
from lineage.receive import receive

GOAL = 2.0
BATCH = 10_000
ANNOTATORS = 300
MODEL = "bench-model"
SOURCES = (  # (weight, source); imports carry no guideline version
    (6, {"kind": "human"}),
    (3, {"kind": "model", "model": "bench-llm", "model_version": "1"}),
    (1, {"kind": "import", "file": "seed.jsonl"}),
)
DATASETS = (  # name, questions per record
    ("bench-chat", ("response",)),
    ("bench-safety", ("response", "safety")),
)
TAG = "v1"
DETECTOR = "bench-detector 1"
PRODUCER = "https://github.com/labeltrail/benchmarks"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_SCHEMA = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json"
TYPE_SCHEMA = "https://openlineage.io/spec/facets/1-0-0/DatasetTypeDatasetFacet.json"
JOB_TYPE_SCHEMA = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json"
NONE = traces.NONE
_EPOCH_MS = 1_790_000_000_000  # the time part of every generated id (UUIDv7 layout)


# --- the data --------------------------------------------------------------------------------------


def ident(kind: int, number: int) -> uuid.UUID:
    """A UUIDv7-shaped id made from (kind, number): computable, so no id list is kept in memory."""
    return uuid.UUID(int=(_EPOCH_MS << 80) | (7 << 76) | (2 << 62) | (kind << 48) | number)


RECORD, ANNOTATION, REVISION, PRINCIPAL = 1, 2, 3, 4


@dataclass(frozen=True)
class Part:
    """One dataset's share of the data: records [first, first + records) of the global numbering."""

    name: str
    questions: tuple[str, ...]
    first: int
    records: int

    @property
    def annotations(self) -> int:
        return self.records * len(self.questions)


def parts(annotations: int) -> list[Part]:
    """Half the annotations in each release: bench-chat 1 per record, bench-safety 2 per record."""
    safety_records = annotations // 4
    chat_records = annotations - 2 * safety_records
    return [
        Part(DATASETS[0][0], DATASETS[0][1], 0, chat_records),
        Part(DATASETS[1][0], DATASETS[1][1], chat_records, safety_records),
    ]


_PARTS: list[Part] = []  # the layout of the database being seeded and measured (set by seed_database)


def _weights() -> list[int]:
    return [index for index, (weight, _) in enumerate(SOURCES) for _ in range(weight)]


_SOURCE_BY_DRAW = _weights()


def label_of(number: int) -> tuple[int, int, int | None]:
    """Annotation ``number``'s annotator, source index and guideline version: deterministic, well mixed."""
    mixed = (number * 2_654_435_761) & 0xFFFFFFFF
    source = _SOURCE_BY_DRAW[mixed % len(_SOURCE_BY_DRAW)]
    guideline = None if SOURCES[source][1]["kind"] == "import" else 1 + (mixed >> 8) % 3
    return (mixed >> 12) % ANNOTATORS, source, guideline


def _hex64(kind: str, number: int) -> str:
    return f"{kind[:8]:>8}".replace(" ", "0").encode().hex()[:16] + f"{number:048x}"


@dataclass(frozen=True)
class Seeded:
    release_ids: dict[str, uuid.UUID]
    rows: int
    seconds: float


def seed_database(url: str, annotations: int) -> Seeded:
    """Migrate; make the datasets, the reader, the annotators, the rows, both releases, the lineage."""
    started = time.perf_counter()
    _PARTS[:] = parts(annotations)
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            system = principals.system_principal(session)
            dataset_ids = {
                part.name: datasets.create_dataset(
                    session, principal=system,
                    data=DatasetCreate(name=part.name, task_types=["sft"], label_schema=_schema(part)),
                ).id
                for part in _PARTS
            }  # fmt: skip
            principals.create_principal(
                session, principal=system, data=PrincipalCreate(name="reader", roles=[BindingIn(role=Role.ML_ENGINEER)])
            )
        release_ids = {part.name: uuid.uuid4() for part in _PARTS}
        now = datetime.now(UTC)
        tables = [
            (PrincipalRow, _principal_rows(now)),
            (RecordRow, _record_rows(dataset_ids, system.id, now)),
            (AnnotationRow, _annotation_rows(dataset_ids, now)),
            (RevisionRow, _revision_rows(now)),
            (ReleaseRow, _release_rows(dataset_ids, release_ids, system.id, now)),
            (ReleaseRecordRow, _release_record_rows(release_ids)),
            (ReleaseRevisionRow, _release_revision_rows(release_ids)),
        ]
        rows = sum(write_rows(engine, model.__table__, made) for model, made in tables)
        with transaction(sessions) as session:
            reader = principals.find_principal(session, "reader")
            rules = ModelRules.from_settings(Settings())
            for document in lineage_events(rules.namespace):
                receive(session, principal=reader, document=document, rules=rules)
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
    finally:
        engine.dispose()
    return Seeded(release_ids, rows, time.perf_counter() - started)


def _schema(part: Part) -> dict:
    kinds = {"response": {"kind": "text"}, "safety": {"kind": "label", "options": ["safe", "unsafe"]}}
    return {"questions": [{"name": question, **kinds[question]} for question in part.questions]}


def write_rows(engine: Engine, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """SQLite: Core ``executemany`` in batches, one transaction. PostgreSQL: one ``COPY``."""
    count = 0
    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            for batch in batched(rows, BATCH):
                connection.execute(insert(table), batch)
                count += len(batch)
        return count
    from psycopg.types.json import Jsonb

    json_columns = {column.name for column in table.columns if isinstance(column.type, JSON)}
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return 0
        columns = list(first)
        wrap = [name in json_columns for name in columns]
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in itertools.chain((first,), iterator):
                    copy.write_row([Jsonb(value) if json else value for value, json in zip(row.values(), wrap)])
                    count += 1
        connection.commit()
    finally:
        raw.close()
    return count


def _principal_rows(now: datetime) -> Iterator[dict]:
    for number in range(ANNOTATORS):
        name = f"annotator-{number:03d}"
        yield {"id": ident(PRINCIPAL, number), "name": name, "created_at": now, "disabled_at": None}


def _record_rows(dataset_ids: dict[str, uuid.UUID], creator: uuid.UUID, now: datetime) -> Iterator[dict]:
    for part in _PARTS:
        for number in range(part.first, part.first + part.records):
            content = {"messages": [{"role": "user", "content": f"Question number {number}?"}]}
            digest = _hex64("content", number)
            yield {
                "id": ident(RECORD, number), "dataset_id": dataset_ids[part.name], "external_id": f"bench-{number:07d}",
                "content": content, "metadata": {}, "content_sha256": digest, "prompt_sha256": _hex64("prompt", number),
                "created_by": creator, "created_at": now, "retired_at": None, "retired_by": None,
                "retire_reason": None, "mask_status": "masked", "masked_content": content, "masked_meta": {},
                "detector_version": DETECTOR, "masked_at": now, "erased_at": None, "erased_by": None,
                "content_digests": None,
            }  # fmt: skip


def _labels() -> Iterator[tuple[Part, int, int, str, int]]:
    """(part, record number, annotation number, question, question index) for every annotation."""
    number = 0
    for part in _PARTS:
        for record in range(part.first, part.first + part.records):
            for index, question in enumerate(part.questions):
                yield part, record, number, question, index
                number += 1


def _annotation_rows(dataset_ids: dict[str, uuid.UUID], now: datetime) -> Iterator[dict]:
    for part, record, number, question, _ in _labels():
        annotator, source, _ = label_of(number)
        yield {
            "id": ident(ANNOTATION, number), "dataset_id": dataset_ids[part.name], "record_id": ident(RECORD, record),
            "question": question, "annotator_id": ident(PRINCIPAL, annotator), "source": SOURCES[source][1],
            "created_at": now,
        }  # fmt: skip


def _revision_rows(now: datetime) -> Iterator[dict]:
    for _, record, number, question, _ in _labels():
        annotator, source, guideline = label_of(number)
        value = ("safe" if number % 7 else "unsafe") if question == "safety" else f"An answer to question {record}."
        yield {
            "id": ident(REVISION, number), "annotation_id": ident(ANNOTATION, number), "revision": 1, "kind": "create",
            "actor_id": ident(PRINCIPAL, annotator), "source": SOURCES[source][1], "guideline_version": guideline,
            "value": value, "status": "submitted", "reason": None, "created_at": now, "previous_sha256": None,
            "sha256": _hex64("revision", number),  # any 64-hex: nothing verifies the chain here
            "mask_status": "masked", "masked_value": value, "masked_reason": None,
        }  # fmt: skip


def _release_number(part: Part) -> int:
    """``releases.number`` of the part's release: the parts in order, from 1 (the database is new)."""
    return _PARTS.index(part) + 1


def _release_rows(dataset_ids, release_ids, creator, now) -> Iterator[dict]:
    for part in _PARTS:
        yield {
            "id": release_ids[part.name], "number": _release_number(part), "dataset_id": dataset_ids[part.name], "tag": TAG, "notes": "",
            "statuses": ["submitted", "accepted"], "splits": SplitRatios().model_dump(),
            "root": hashlib.sha256(part.name.encode()).hexdigest(), "records": part.records,
            "annotations": part.annotations, "profile": {}, "contamination": {},
            "gates": [{"gate": "pii", "passed": True, "detail": "seeded: every record masked"}],
            "override": None, "created_by": creator, "created_at": now,
        }  # fmt: skip


def _release_record_rows(release_ids) -> Iterator[dict]:
    splits = ("train",) * 8 + ("validation", "test")
    for part in _PARTS:
        for position, number in enumerate(range(part.first, part.first + part.records)):
            yield {
                "release_id": release_ids[part.name], "release_number": _release_number(part), "position": position,
                "record_id": ident(RECORD, number),
                "record_sha256": _hex64("content", number), "masked_sha256": _hex64("content", number),
                "detector_version": DETECTOR, "split": splits[number % 10], "leaf_sha256": _hex64("leaf", number),
            }  # fmt: skip


def _release_revision_rows(release_ids) -> Iterator[dict]:
    for part, record, number, _, _ in _labels():
        yield {
            "release_id": release_ids[part.name], "release_number": _release_number(part),
            "revision_id": ident(REVISION, number),
            "record_id": ident(RECORD, record), "annotation_id": ident(ANNOTATION, number),
            "revision_sha256": _hex64("revision", number),
        }  # fmt: skip


def lineage_events(namespace: str) -> list[dict]:
    """START and COMPLETE of a tokenise run reading both releases, then of the training run."""
    tokenise, train = uuid.uuid4(), uuid.uuid4()

    def facet(schema: str, **fields) -> dict:
        return {"_producer": PRODUCER, "_schemaURL": schema, **fields}

    def event(kind: str, at: str, run_id: uuid.UUID, job: str, inputs: list, outputs: list, job_facets=None) -> dict:
        return {
            "eventType": kind, "eventTime": at, "producer": PRODUCER, "schemaURL": RUN_SCHEMA,
            "run": {"runId": str(run_id)}, "job": {"namespace": "bench", "name": job, "facets": job_facets or {}},
            "inputs": inputs, "outputs": outputs,
        }  # fmt: skip

    releases = [
        {"namespace": namespace, "name": part.name, "facets": {"version": facet(FACET_SCHEMA, datasetVersion=TAG)}}
        for part in _PARTS
    ]
    version = {"version": facet(FACET_SCHEMA, datasetVersion="1")}
    tokenised = {"namespace": "s3://bench", "name": "tokenised", "facets": version}
    model = {
        "namespace": "s3://bench", "name": MODEL,
        "facets": {**version, "datasetType": facet(TYPE_SCHEMA, datasetType="MODEL")},
    }  # fmt: skip
    training = {"jobType": facet(JOB_TYPE_SCHEMA, processingType="BATCH", integration="bench", jobType="TRAINING")}
    return [
        event("START", "2026-12-01T10:00:00Z", tokenise, "tokenise", releases, [tokenised]),
        event("COMPLETE", "2026-12-01T10:20:00Z", tokenise, "tokenise", releases, [tokenised]),
        event("START", "2026-12-01T11:00:00Z", train, "sft", [tokenised], [model], training),
        event("COMPLETE", "2026-12-01T15:00:00Z", train, "sft", [tokenised], [model], training),
    ]


# --- the hand-written SQL --------------------------------------------------------------------------

WALK = """
WITH RECURSIVE walk(run_id, depth) AS (
    SELECT io.run_id, 0
    FROM model_versions mv JOIN lineage_io io ON io.run_id = mv.run_id
    WHERE mv.name = {model}
  UNION
    SELECT o.run_id, walk.depth + 1
    FROM walk
    JOIN lineage_io i ON i.run_id = walk.run_id AND i.direction = 'input'
    JOIN lineage_io o ON o.dataset_id = i.dataset_id AND o.direction = 'output'
                     AND (i.version = '' OR o.version = i.version)
    WHERE walk.depth < {depth}
), read_releases AS (
    SELECT DISTINCT io.release_id
    FROM lineage_io io JOIN walk ON walk.run_id = io.run_id
    WHERE io.direction = 'input' AND io.release_id IS NOT NULL
)"""

SUMMARY_SQL = (
    WALK
    + """, counts AS (
    SELECT rr.release_id, {kind} AS kind, a.annotator_id, ar.guideline_version AS guideline, count(*) AS labels
    FROM read_releases rel
    JOIN release_revisions rr ON rr.release_id = rel.release_id
    JOIN annotation_revisions ar ON ar.id = rr.revision_id
    JOIN annotations a ON a.id = rr.annotation_id
    GROUP BY rr.release_id, {kind}, a.annotator_id, ar.guideline_version
)
SELECT r.id, d.name, r.tag, r.root, r.records, r.annotations, c.kind, p.name, c.guideline, c.labels
FROM counts c
JOIN releases r ON r.id = c.release_id
JOIN datasets d ON d.id = r.dataset_id
JOIN principals p ON p.id = c.annotator_id"""
)

RELEASES_SQL = (
    WALK
    + """
SELECT r.id, d.name, r.tag
FROM read_releases rel
JOIN releases r ON r.id = rel.release_id
JOIN datasets d ON d.id = r.dataset_id
ORDER BY d.name, r.id"""
)

ROWS_SQL = """
SELECT rr.record_id, rr.annotation_id, a.question, ar.id, ar.revision, p.name, COALESCE({kind}, '(none)'),
       ar.guideline_version
FROM release_revisions rr
JOIN annotation_revisions ar ON ar.id = rr.revision_id
JOIN annotations a ON a.id = rr.annotation_id
JOIN principals p ON p.id = a.annotator_id
WHERE rr.release_id = {release}
ORDER BY rr.record_id, rr.annotation_id"""

DIALECT = {
    "sqlite": {
        "model": ":model", "depth": ":depth", "release": ":release", "kind": "json_extract(ar.source, '$.kind')",
    },
    "postgresql": {
        "model": "%(model)s", "depth": "%(depth)s", "release": "%(release)s", "kind": "(ar.source ->> 'kind')",
    },
}


def sql_for(template: str, dialect: str) -> str:
    return template.format(**DIALECT[dialect])


# --- the arms --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Releases:
    """Per release, in trace order: (dataset, tag, root, records, annotations, by source, annotators, guidelines)."""

    summaries: tuple[tuple, ...]


def project_summary(engine: Engine, reader: Principal, depth: int) -> Releases:
    with make_sessionmaker(engine)() as session:
        found = traces.trace_model(session, principal=reader, name=MODEL, max_depth=depth)
    if found.hidden_releases:
        raise RuntimeError(f"the reader cannot see {found.hidden_releases} release(s)")
    return Releases(tuple(
        (r.dataset, r.tag, r.root, r.records, r.annotations, tuple(r.by_source.items()), tuple(r.annotators),
         tuple(r.guideline_versions.items()))
        for r in found.releases
    ))  # fmt: skip


def sql_summary(engine: Engine, depth: int) -> Releases:
    dialect = engine.dialect.name
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql_for(SUMMARY_SQL, dialect), {"model": MODEL, "depth": depth})
        rows = cursor.fetchall()
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    heads: dict[Any, tuple] = {}
    sources: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    guidelines: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    annotators: dict[Any, set[str]] = defaultdict(set)
    for release, dataset, tag, root, records, annotations, kind, annotator, guideline, count in rows:
        heads[release] = (dataset, tag, root, records, annotations)
        sources[release][kind or NONE] += count
        guidelines[release][NONE if guideline is None else str(guideline)] += count
        annotators[release].add(annotator)
    order = sorted(heads, key=lambda release: (heads[release][0], _hex(release)))
    return Releases(tuple(
        (*heads[r], tuple(sorted(sources[r].items())), tuple(sorted(annotators[r])),
         tuple(sorted(guidelines[r].items())))
        for r in order
    ))  # fmt: skip


def project_rows(engine: Engine, reader: Principal, depth: int, digest=None) -> int:
    count = 0
    with make_sessionmaker(engine)() as session:
        if digest is None:
            for _ in traces.trace_rows(session, principal=reader, name=MODEL, max_depth=depth):
                count += 1
        else:
            for row in traces.trace_rows(session, principal=reader, name=MODEL, max_depth=depth):
                digest.update(_line(_as_tuple(row)))
                count += 1
    return count


def sql_rows(engine: Engine, depth: int, chunk: int, digest=None) -> int:
    """The releases (walk, visible or not: the reader sees all), then each one's labels in trace order."""
    dialect = engine.dialect.name
    count = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql_for(RELEASES_SQL, dialect), {"model": MODEL, "depth": depth})
        releases = cursor.fetchall()
        cursor.close()
        for release, dataset, tag in releases:
            if dialect == "postgresql":
                cursor = raw.driver_connection.cursor(name="trace_rows")  # server-side: rows stream, chunk by chunk
                cursor.itersize = chunk
            else:
                cursor = raw.cursor()
            cursor.execute(sql_for(ROWS_SQL, dialect), {"release": release})
            while rows := cursor.fetchmany(chunk):
                count += len(rows)
                if digest is not None:
                    for row in rows:
                        digest.update(_line((dataset, tag, *row)))
            cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return count


def _as_tuple(row: TraceRow) -> tuple:
    return (row.dataset, row.tag, row.record_id, row.annotation_id, row.question, row.revision_id, row.revision,
            row.annotator, row.source, row.guideline_version)  # fmt: skip


def _hex(value: Any) -> str:
    """A UUID as 32 hex digits, whether it came as uuid.UUID (PostgreSQL, the ORM) or CHAR(32) (SQLite)."""
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "").lower()


_UUID_FIELDS = (2, 3, 5)


def _line(row: tuple) -> bytes:
    values = ["" if value is None else str(value) for value in row]
    for index in _UUID_FIELDS:
        values[index] = _hex(row[index])
    return ("\x1f".join(values) + "\n").encode()


# --- measuring -------------------------------------------------------------------------------------


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def check(engine: Engine, reader: Principal, depth: int, chunk: int, annotations: int) -> dict[str, Any]:
    """One untimed run of every arm: the project's results must equal the SQL's."""
    ours, theirs = project_summary(engine, reader, depth), sql_summary(engine, depth)
    if ours != theirs:
        raise RuntimeError(f"the summaries differ:\nproject {ours}\nSQL     {theirs}")
    if len(ours.summaries) != len(_PARTS) or sum(release[4] for release in ours.summaries) != annotations:
        raise RuntimeError(f"the trace found {ours.summaries!r}: expected {len(_PARTS)} releases, {annotations} labels")
    counted = sum(count for release in ours.summaries for _, count in release[5])
    if counted != annotations:
        raise RuntimeError(f"the trace counts {counted:,} labels by source, {annotations:,} were released")
    project_digest, sql_digest = hashlib.sha256(), hashlib.sha256()
    project_count = project_rows(engine, reader, depth, project_digest)
    sql_count = sql_rows(engine, depth, chunk, sql_digest)
    if (project_count, project_digest.hexdigest()) != (sql_count, sql_digest.hexdigest()):
        raise RuntimeError(
            f"the rows differ: project {project_count:,} rows, sha256 {project_digest.hexdigest()}; "
            f"SQL {sql_count:,} rows, sha256 {sql_digest.hexdigest()}"
        )
    if project_count != annotations:
        raise RuntimeError(f"the trace streamed {project_count:,} rows, {annotations:,} were released")
    return {"rows": project_count, "rows_sha256": project_digest.hexdigest(),
            "by_source": {release[0]: dict(release[5]) for release in ours.summaries}}  # fmt: skip


def measure(name: str, scratch: Callable[[], AbstractContextManager[str]], args) -> dict[str, Any]:
    depth = Settings().lineage_max_depth
    with scratch() as url:
        seeded = seed_database(url, args.annotations)
        print(f"{name:10} seeded {seeded.rows:,} rows in {seeded.seconds:.1f} s (not timed)")
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine)() as session:
                reader = principals.find_principal(session, "reader")
            checked = check(engine, reader, depth, args.chunk, args.annotations)
            print(f"{name:10} results agree: {checked['rows']:,} rows (sha256 {checked['rows_sha256'][:16]}...), "
                  f"labels by source {json.dumps(checked['by_source'])}")  # fmt: skip
            arms: dict[str, Callable[[], Any]] = {
                "summary_project": lambda: project_summary(engine, reader, depth),
                "summary_sql": lambda: sql_summary(engine, depth),
                "rows_project": lambda: project_rows(engine, reader, depth),
                "rows_sql": lambda: sql_rows(engine, depth, args.chunk),
            }
            times: dict[str, list[float]] = {arm: [] for arm in arms}
            for run in range(1, args.runs + 1):
                for what in ("summary", "rows"):
                    order = ("project", "sql") if run % 2 else ("sql", "project")
                    for side in order:
                        _, seconds = timed(arms[f"{what}_{side}"])
                        times[f"{what}_{side}"].append(seconds)
                    project_s, sql_s = times[f"{what}_project"][-1], times[f"{what}_sql"][-1]
                    print(f"{name:10} run {run} {what:7}: project {project_s:7.3f} s, SQL {sql_s:7.3f} s, "
                          f"ratio {project_s / sql_s:5.2f}")  # fmt: skip
        finally:
            engine.dispose()
    median = {arm: statistics.median(seconds) for arm, seconds in times.items()}
    summary_ratio = median["summary_project"] / median["summary_sql"]
    rows_ratio = median["rows_project"] / median["rows_sql"]
    rows = checked["rows"]
    rows_per_s, sql_rows_per_s = rows / median["rows_project"], rows / median["rows_sql"]

    def verdict(ratio: float) -> str:
        return "meets" if ratio <= GOAL else "MISSES"

    print(
        f"{name:10} median summary: project {median['summary_project']:.3f} s, SQL {median['summary_sql']:.3f} s, "
        f"ratio {summary_ratio:.2f} ({verdict(summary_ratio)} the {GOAL:.0f}x goal)"
    )
    print(
        f"{name:10} median rows:    project {median['rows_project']:.3f} s = {rows_per_s:,.0f} rows/s, "
        f"SQL {median['rows_sql']:.3f} s = {sql_rows_per_s:,.0f} rows/s, ratio {rows_ratio:.2f} "
        f"({verdict(rows_ratio)} the {GOAL:.0f}x goal)"
    )
    return {
        "summary_ratio": round(summary_ratio, 3),
        "rows_ratio": round(rows_ratio, 3),
        "rows_per_s": round(rows_per_s, 1),
        "sql_rows_per_s": round(sql_rows_per_s, 1),
        "rows": rows,
        **{f"{arm}_s": round(seconds, 4) for arm, seconds in median.items()},
        **{f"{arm}_runs_s": [round(s, 4) for s in seconds] for arm, seconds in times.items()},
        "seed_s": round(seeded.seconds, 1),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--annotations", type=int, default=1_000_000, help="released annotations in both releases (default 1000000)"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per arm; the median counts (default 3)")
    parser.add_argument("--chunk", type=int, default=5000, help="rows per fetch in the SQL arm (default 5000)")
    add_postgres_option(parser)
    args = parser.parse_args()
    if args.annotations < 4:
        parser.error("--annotations must be at least 4")
    return args


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    args = parse_args()
    shares = ", ".join(f"{p.name} {p.records:,} records x {len(p.questions)}" for p in parts(args.annotations))
    print(f"{args.annotations:,} released annotations in two releases ({shares}), {ANNOTATORS} annotators")
    results = on_each_backend(lambda backend, scratch: measure(backend, scratch, args), args.postgres_url)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
