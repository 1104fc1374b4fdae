"""Shift between two releases: the project's SQL profiles and shift against Evidently's DataDriftPreset.

The data, generated deterministically here and written straight into a fresh migrated database
with SQLAlchemy Core ``executemany`` (no import service, no NER masking; not timed):

- one dataset whose schema asks a ``response`` (text) and a ``safety`` label (safe/unsafe);
- ``--records`` x 1.5 records, all masked (``masked_content`` = ``content``, no PII), with 1 to 3
  messages of 20 to 600 characters (900 in the later population; some non-ASCII, emoji too), and
  ``task_type``, ``domain`` (missing in some) and ``language`` in their metadata; two annotations
  each (response and safety), one submitted revision each, both by the same annotator (one of 40
  principals) with the same source (human/model/import) and guideline version (1-3);
- two releases of ``--records`` records each: A holds records [0, N), B records [N/2, 3N/2). The
  first N records are drawn from one population, the last N/2 from a later one in which the task
  types, message lengths, turns, annotators and guideline versions moved and the rest did not,
  so B is half old and half new and some features drift while others do not.

The release manifests (``releases``, ``release_records``, ``release_revisions``) are written
directly as well, not by ``cut_release``: cutting reads the whole dataset into Python, hashes a
Merkle tree and MinHashes every prompt for contamination, none of which is what is measured here.
Then, as ``cut_release`` does, ``fill_features`` writes each released record's and label's
features beside its manifest row (in SQL, not timed): the project's counterpart of the prebuilt
per-record table Evidently is given.
The ``split`` of each record is ``assign_split``'s, as a cut would set it. PostgreSQL gets a
``VACUUM ANALYZE`` after seeding: the state autovacuum leaves a settled database in, and otherwise
autovacuum would start on the 2.7 million new rows in the middle of the timed runs.

What is timed:

- project: a new engine and session (cold: no pooled connection, no ORM or statement cache;
  SQLite's file stays in the OS page cache and PostgreSQL's shared buffers stay warm, neither of
  which a benchmark can drop without root), the dataset's label schema read, then
  ``build_profile`` of A and of B (the GROUP BY queries of ``catalog.releases.profile``) and
  ``catalog.releases.shift.compare(A, B)``.
- evidently: ``Report([DataDriftPreset()]).run(current, reference)`` on two prebuilt
  ``Dataset``s (one row per record, one column per profile feature, the column types given
  explicitly: categorical as pandas categoricals, or strings with ``--evidently-columns string``,
  numeric as int64), after one warm-up run on the same report. Evidently is faster on categoricals
  (about 1.8 s against 4.5 s for 200,000 records per side on the development machine), so they are
  the default. Importing Evidently and building the tables and ``Dataset``s is not timed. Every record
  has exactly one annotation per question and both share annotator, source and guideline version,
  so each column's shares equal the profile's per-observation shares and Evidently picks the same
  test (Jensen-Shannon or normed Wasserstein) per feature.

On each backend the arms run in pairs, ``--runs`` times: an Evidently run, then a project run, so
both meet the machine in the same state (a shared 2-core machine drifts by tens of percent over
minutes, and a baseline timed minutes before the project would carry that drift into the ratio).
The medians count: speedup = Evidently time / project time, per backend. Correctness, per backend: the profiles are compared count by count with the generated
rows ("profiles_match"); each feature's score is recomputed with scipy on the raw pandas columns
(``scipy.spatial.distance.jensenshannon`` over the union of values for categorical features and
numeric ones with at most 5 values, ``scipy.stats.wasserstein_distance / np.std(reference)``
otherwise) and the largest absolute difference is "max_score_diff" (goal: under 1e-9); Evidently's
own per-column scores and drift verdicts are compared with the project's as well. An untimed run
after the timed ones times each profile query group ("breakdown_s"). For comparison only, the
built profiles are then stored in ``releases.profile`` (as ``cut_release`` stores them) and the
path of a release diff is timed too, cold: both stored profiles read, then ``compare``
("stored_profiles_s"; it is not the headline figure).

Goal: speedup at least 5 on every backend. The last line of output is one JSON object:
{"speedup": the smaller of the backends', "max_score_diff": the larger, ..., "sqlite": {...
"evidently_s", "project_s", ...}, "postgresql": {...} or null}.
"""

import argparse
import gc
import hashlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from ingest import add_postgres_option, batched, on_each_backend
from scipy import stats
from scipy.spatial import distance
from sqlalchemy import insert, select, text, update

from catalog.access import service as principals
from catalog.core import migrate
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.core.models import (
    AnnotationRow,
    DatasetRow,
    PrincipalRow,
    RecordRow,
    ReleaseRecordRow,
    ReleaseRevisionRow,
    ReleaseRow,
    RevisionRow,
    new_id,
)
from catalog.datasets import service as datasets
from catalog.datasets.label_schema import LabelSchema
from catalog.datasets.schemas import DatasetCreate
from catalog.releases import profile as profile_module
from catalog.releases import shift
from catalog.releases.features import fill_features
from catalog.releases.schemas import Profile, ShiftOut, SplitRatios
from catalog.releases.splits import assign_split

SCHEMA = {
    "questions": [
        {"name": "response", "kind": "text"},
        {"name": "safety", "kind": "label", "options": ["safe", "unsafe"]},
    ]
}
DETECTOR = "bench-detector 1"
RATIOS = SplitRatios()
BATCH = 5000
ANNOTATORS = 40
TASK_TYPES = ("sft", "qa", "chat", "summarise", "code")
DOMAINS = ("support", "medical", "legal", "finance", "code", None)  # None: no ``domain`` key at all
LANGUAGES = ("en", "de", "fr", "es", "ja")
SOURCES = (
    {"kind": "human"},
    {"kind": "model", "model": "bench-llm", "model_version": "1"},
    {"kind": "import", "file": "seed.jsonl"},
)
NONE = profile_module.NONE
CATEGORICAL = ("task_type", "domain", "language", "split", "source", "annotator", "guideline_version", "label:safety")
NUMERIC = ("prompt_length", "turns", "response_length")
PER_ANNOTATION = ("source", "annotator", "guideline_version")  # counted once per annotation (two per record)
EVIDENTLY_TESTS = {"Jensen-Shannon distance": "jensenshannon", "Wasserstein distance (normed)": "wasserstein"}
GOAL = 5.0
EXACT = 1e-9
_WORDS = (
    "the a model answer question data training example explain why how what which because therefore however "
    "function value return list string number python sql database index query result error user assistant "
    "system prompt response label review annotate quality safety helpful honest summarise translate classify "
    "café naïve résumé über straße 東京 数据 模型 😀 ✓ — “quoted” tab\tnew\nline"
).split(" ")


# --- the data --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    """How one period's records are drawn: probabilities per category, inclusive (low, high) ranges."""

    task_type: tuple[float, ...]
    domain: tuple[float, ...]
    language: tuple[float, ...]
    turns: tuple[float, float, float]
    message_chars: tuple[int, int]
    response_chars: tuple[int, int]
    annotators: tuple[int, int]
    guideline: tuple[float, float, float]
    source: tuple[float, float, float]
    unsafe: float


EARLIER = Population(
    task_type=(0.40, 0.25, 0.15, 0.10, 0.10),
    domain=(0.30, 0.15, 0.10, 0.15, 0.20, 0.10),
    language=(0.60, 0.10, 0.10, 0.10, 0.10),
    turns=(0.60, 0.30, 0.10),
    message_chars=(20, 600),
    response_chars=(50, 1500),
    annotators=(0, 29),
    guideline=(0.50, 0.40, 0.10),
    source=(0.60, 0.30, 0.10),
    unsafe=0.08,
)
LATER = Population(
    task_type=(0.10, 0.15, 0.20, 0.15, 0.40),
    domain=(0.25, 0.15, 0.10, 0.15, 0.25, 0.10),
    language=(0.60, 0.10, 0.10, 0.10, 0.10),
    turns=(0.45, 0.35, 0.20),
    message_chars=(20, 900),
    response_chars=(50, 1500),
    annotators=(10, 39),
    guideline=(0.10, 0.30, 0.60),
    source=(0.60, 0.30, 0.10),
    unsafe=0.08,
)


@dataclass
class Seed:
    """Every record's features (``frame``, one row per record) and what its rows need besides."""

    size: int  # records per release
    frame: pd.DataFrame
    record_ids: list[uuid.UUID]
    annotation_ids: list[tuple[uuid.UUID, uuid.UUID]]  # (response, safety)
    revision_ids: list[tuple[uuid.UUID, uuid.UUID]]
    annotator_ids: list[uuid.UUID]
    contents: list[dict[str, Any]]
    metas: list[dict[str, Any]]
    responses: list[str]
    hashes: list[tuple[str, str]]  # (content_sha256, prompt_sha256)

    @property
    def releases(self) -> dict[str, range]:
        """Record positions in each release: A the first N, B from N/2 on."""
        return {"A": range(0, self.size), "B": range(self.size // 2, self.size // 2 + self.size)}

    def table(self, release: str) -> pd.DataFrame:
        positions = self.releases[release]
        return self.frame.iloc[positions.start : positions.stop].reset_index(drop=True)


def make_seed(size: int, seed: int = 5150) -> Seed:
    total = size + size // 2
    rng = np.random.default_rng(seed)
    corpus = " ".join(rng.choice(np.array(_WORDS, dtype=object), 400_000))
    later = np.arange(total) >= size
    populations = (EARLIER, LATER)

    def draw(values, field: str) -> np.ndarray:
        """One value per record, from the record's own population."""
        out = np.empty(total, dtype=object)
        for is_later, population in enumerate(populations):
            mask = later == bool(is_later)
            picked = rng.choice(len(values), int(mask.sum()), p=getattr(population, field))
            out[mask] = [values[i] for i in picked]
        return out

    def uniform(field: str) -> np.ndarray:
        out = np.empty(total, dtype=np.int64)
        for is_later, population in enumerate(populations):
            mask = later == bool(is_later)
            low, high = getattr(population, field)
            out[mask] = rng.integers(low, high, int(mask.sum()), endpoint=True)
        return out

    task_types, domains, languages = draw(TASK_TYPES, "task_type"), draw(DOMAINS, "domain"), draw(LANGUAGES, "language")
    turns = draw((1, 2, 3), "turns").astype(np.int64)
    guidelines = draw((1, 2, 3), "guideline").astype(np.int64)
    sources = draw((0, 1, 2), "source").astype(np.int64)
    unsafe = rng.random(total) < np.where(later, LATER.unsafe, EARLIER.unsafe)
    annotators = uniform("annotators")
    response_chars = uniform("response_chars")
    message_chars = np.stack([uniform("message_chars") for _ in range(3)], axis=1)
    offsets = rng.integers(0, len(corpus) - 2000, (total, 4))

    contents, metas, responses, hashes, prompt_lengths, splits = [], [], [], [], [], []
    for i in range(total):
        messages = [
            {"role": "user" if turn % 2 == 0 else "assistant",
             "content": corpus[offsets[i, turn] : offsets[i, turn] + message_chars[i, turn]]}
            for turn in range(turns[i])
        ]  # fmt: skip
        contents.append({"messages": messages})
        prompt_lengths.append(sum(len(message["content"]) for message in messages))
        meta = {"task_type": task_types[i], "language": languages[i]}
        if domains[i] is not None:
            meta["domain"] = domains[i]
        metas.append(meta)
        responses.append(corpus[offsets[i, 3] : offsets[i, 3] + response_chars[i]])
        content_sha256 = hashlib.sha256(f"content {i}".encode()).hexdigest()
        prompt_sha256 = hashlib.sha256(f"prompt {i}".encode()).hexdigest()
        hashes.append((content_sha256, prompt_sha256))
        splits.append(assign_split(None, prompt_sha256, RATIOS))

    annotator_names = [f"annotator-{number:02d}" for number in range(ANNOTATORS)]
    frame = pd.DataFrame(
        {
            "task_type": task_types.astype(str),
            "domain": np.array([NONE if d is None else d for d in domains], dtype=object),
            "language": languages.astype(str),
            "split": np.array(splits, dtype=object),
            "source": np.array([SOURCES[s]["kind"] for s in sources], dtype=object),
            "annotator": np.array([annotator_names[a] for a in annotators], dtype=object),
            "guideline_version": guidelines.astype(str).astype(object),
            "label:safety": np.where(unsafe, "unsafe", "safe").astype(object),
            "prompt_length": np.array(prompt_lengths, dtype=np.int64),
            "turns": turns,
            "response_length": np.array([len(r) for r in responses], dtype=np.int64),
        }
    )
    frame["_source"], frame["_annotator"], frame["_unsafe"] = sources, annotators, unsafe
    return Seed(
        size=size,
        frame=frame,
        record_ids=[new_id() for _ in range(total)],
        annotation_ids=[(new_id(), new_id()) for _ in range(total)],
        revision_ids=[(new_id(), new_id()) for _ in range(total)],
        annotator_ids=[new_id() for _ in range(ANNOTATORS)],
        contents=contents,
        metas=metas,
        responses=responses,
        hashes=hashes,
    )


# --- the database ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    dataset_id: uuid.UUID
    release_ids: dict[str, uuid.UUID]
    seconds: float
    rows: int


def seed_database(url: str, data: Seed) -> Seeded:
    """Migrate, then write the principals, dataset, records, annotations, revisions and both releases."""
    started = time.perf_counter()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            system = principals.system_principal(session)
            dataset = datasets.create_dataset(
                session, principal=system,
                data=DatasetCreate(name="bench", task_types=list(TASK_TYPES), label_schema=SCHEMA),
            )
        release_ids = {name: new_id() for name in data.releases}
        now = datetime.now(UTC)
        tables = [
            (PrincipalRow, _principal_rows(data, now)),
            (RecordRow, _record_rows(data, dataset.id, system.id, now)),
            (AnnotationRow, _annotation_rows(data, dataset.id, now)),
            (RevisionRow, _revision_rows(data, now)),
            (ReleaseRow, _release_rows(data, dataset.id, system.id, release_ids, now)),
            (ReleaseRecordRow, _release_record_rows(data, release_ids)),
            (ReleaseRevisionRow, _release_revision_rows(data, release_ids)),
        ]
        rows = 0
        with engine.connect() as connection:
            for model, batches in tables:
                for batch in batches:
                    connection.execute(insert(model.__table__), batch)
                    rows += len(batch)
                connection.commit()
        with transaction(make_sessionmaker(engine)) as session:  # as cut_release does, after writing the manifest
            for release_id in release_ids.values():
                fill_features(session, release_id, LabelSchema.model_validate(SCHEMA))
        if engine.dialect.name == "postgresql":  # settled, so autovacuum does not start during the runs
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    return Seeded(dataset.id, release_ids, time.perf_counter() - started, rows)


def _principal_rows(data: Seed, now: datetime) -> Iterator[list[dict]]:
    yield [
        {"id": principal_id, "name": f"annotator-{number:02d}", "created_at": now}
        for number, principal_id in enumerate(data.annotator_ids)
    ]


def _record_rows(data: Seed, dataset_id: uuid.UUID, creator: uuid.UUID, now: datetime) -> Iterator[list[dict]]:
    def rows() -> Iterator[dict]:
        for i, record_id in enumerate(data.record_ids):
            content_sha256, prompt_sha256 = data.hashes[i]
            yield {
                "id": record_id, "dataset_id": dataset_id, "external_id": f"bench-{i:07d}",
                "content": data.contents[i], "metadata": data.metas[i],
                "content_sha256": content_sha256, "prompt_sha256": prompt_sha256,
                "created_by": creator, "created_at": now, "retired_at": None, "retired_by": None,
                "retire_reason": None, "mask_status": "masked", "masked_content": data.contents[i],
                "masked_meta": data.metas[i], "detector_version": DETECTOR, "masked_at": now,
                "erased_at": None, "erased_by": None, "content_digests": None,
            }  # fmt: skip

    return batched(rows(), BATCH)


def _annotation_rows(data: Seed, dataset_id: uuid.UUID, now: datetime) -> Iterator[list[dict]]:
    annotators, sources = data.frame["_annotator"].to_numpy(), data.frame["_source"].to_numpy()

    def rows() -> Iterator[dict]:
        for i, record_id in enumerate(data.record_ids):
            for question, annotation_id in zip(("response", "safety"), data.annotation_ids[i], strict=True):
                yield {
                    "id": annotation_id, "dataset_id": dataset_id, "record_id": record_id, "question": question,
                    "annotator_id": data.annotator_ids[annotators[i]], "source": SOURCES[sources[i]], "created_at": now,
                }  # fmt: skip

    return batched(rows(), BATCH)


def _revision_rows(data: Seed, now: datetime) -> Iterator[list[dict]]:
    frame = data.frame
    annotators, sources, unsafe = (frame[column].to_numpy() for column in ("_annotator", "_source", "_unsafe"))
    guidelines = frame["guideline_version"].astype(int).to_numpy()

    def rows() -> Iterator[dict]:
        for i in range(len(data.record_ids)):
            values = (data.responses[i], "unsafe" if unsafe[i] else "safe")
            ids = zip(data.annotation_ids[i], data.revision_ids[i], values, strict=True)
            for annotation_id, revision_id, value in ids:
                yield {
                    "id": revision_id, "annotation_id": annotation_id, "revision": 1, "kind": "create",
                    "actor_id": data.annotator_ids[annotators[i]], "source": SOURCES[sources[i]],
                    "guideline_version": int(guidelines[i]), "value": value, "status": "submitted", "reason": None,
                    "created_at": now, "previous_sha256": None,
                    "sha256": hashlib.sha256(revision_id.bytes).hexdigest(),  # any 64-hex: nothing verifies it here
                    "mask_status": "masked", "masked_value": value, "masked_reason": None,
                }  # fmt: skip

    return batched(rows(), BATCH)


def _release_rows(data: Seed, dataset_id, creator, release_ids, now) -> Iterator[list[dict]]:
    yield [
        {
            "id": release_ids[name], "number": number, "dataset_id": dataset_id, "tag": f"v-{name}", "notes": "",
            "statuses": ["submitted", "accepted"], "splits": RATIOS.model_dump(),
            "root": hashlib.sha256(name.encode()).hexdigest(), "records": len(positions),
            "annotations": 2 * len(positions), "profile": {}, "contamination": {}, "gates": [],
            "override": None, "created_by": creator, "created_at": now,
        }  # fmt: skip
        for number, (name, positions) in enumerate(data.releases.items(), 1)
    ]


def _release_record_rows(data: Seed, release_ids) -> Iterator[list[dict]]:
    splits = data.frame["split"].to_numpy()

    def rows() -> Iterator[dict]:
        for number, (name, positions) in enumerate(data.releases.items(), 1):
            for position, i in enumerate(positions):  # record ids are UUIDv7, made in order: leaf order
                yield {
                    "release_id": release_ids[name], "release_number": number, "position": position,
                    "record_id": data.record_ids[i],
                    "record_sha256": data.hashes[i][0], "masked_sha256": data.hashes[i][0],
                    "detector_version": DETECTOR, "split": splits[i], "leaf_sha256": data.hashes[i][1],
                }  # fmt: skip

    return batched(rows(), BATCH)


def _release_revision_rows(data: Seed, release_ids) -> Iterator[list[dict]]:
    def rows() -> Iterator[dict]:
        for number, (name, positions) in enumerate(data.releases.items(), 1):
            for i in positions:
                for annotation_id, revision_id in zip(data.annotation_ids[i], data.revision_ids[i], strict=True):
                    yield {
                        "release_id": release_ids[name], "release_number": number, "revision_id": revision_id,
                        "record_id": data.record_ids[i],
                        "annotation_id": annotation_id,
                        "revision_sha256": hashlib.sha256(revision_id.bytes).hexdigest(),
                    }  # fmt: skip

    return batched(rows(), BATCH)


# --- the project arm -------------------------------------------------------------------------------


def run_project(url: str, seeded: Seeded) -> tuple[float, Profile, Profile, ShiftOut]:
    """Cold: a new engine. Both profiles from the database, then the shift; seconds and results."""
    engine = make_engine(url)
    try:
        gc.collect()
        started = time.perf_counter()
        with make_sessionmaker(engine)() as session:
            schema = LabelSchema.model_validate(session.get_one(DatasetRow, seeded.dataset_id).label_schema)
            reference = profile_module.build_profile(session, seeded.release_ids["A"], schema)
            current = profile_module.build_profile(session, seeded.release_ids["B"], schema)
        found = shift.compare(reference, current)
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return seconds, reference, current, found


def store_profiles(url: str, seeded: Seeded, profiles: dict[str, Profile]) -> None:
    """Write the built profiles into ``releases.profile``, as ``cut_release`` does when it cuts."""
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            for name, built in profiles.items():
                row = ReleaseRow.id == seeded.release_ids[name]
                session.execute(update(ReleaseRow).where(row).values(profile=built.model_dump()))
    finally:
        engine.dispose()


def run_stored(url: str, seeded: Seeded) -> tuple[float, ShiftOut]:
    """Cold, as ``diff_releases`` computes the shift: both stored profiles read and compared."""
    engine = make_engine(url)
    try:
        gc.collect()
        started = time.perf_counter()
        with make_sessionmaker(engine)() as session:
            ids = seeded.release_ids
            rows = session.execute(select(ReleaseRow.id, ReleaseRow.profile).where(ReleaseRow.id.in_(ids.values())))
            stored = dict(rows.all())
        found = shift.compare(Profile.model_validate(stored[ids["A"]]), Profile.model_validate(stored[ids["B"]]))
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return seconds, found


PROFILE_PARTS = ("_record_features", "_labels", "_response_lengths", "_pii_entities")


def breakdown(url: str, seeded: Seeded) -> dict[str, float]:
    """One more cold run with each of build_profile's query groups timed (both releases added up)."""
    spent = dict.fromkeys(PROFILE_PARTS, 0.0)

    def timed(name: str, function: Callable) -> Callable:
        @wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return wrapper

    with ExitStack() as stack:
        for name in PROFILE_PARTS:
            stack.enter_context(mock.patch.object(profile_module, name, timed(name, getattr(profile_module, name))))
        total, reference, current, _ = run_project(url, seeded)
    started = time.perf_counter()
    shift.compare(reference, current)
    spent["compare"] = time.perf_counter() - started
    spent["total"] = total
    return {name.lstrip("_"): round(seconds, 3) for name, seconds in spent.items()}


# --- the Evidently arm -----------------------------------------------------------------------------


@dataclass
class Evidently:
    """A warm drift report on two prebuilt Datasets, ready to be timed again and again."""

    report: Any
    reference: Any
    current: Any
    dataset_seconds: float
    scores: dict[str, tuple[str, float, bool]]  # column -> (test, score, drifted)

    def timed_run(self) -> float:
        gc.collect()
        started = time.perf_counter()
        self.report.run(self.current, self.reference)
        return time.perf_counter() - started


def prepare_evidently(data: Seed, categories: str) -> Evidently:
    """Both Datasets built (timed apart, not counted) and the report run once to warm it up."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        categorical_columns=list(CATEGORICAL), numerical_columns=list(NUMERIC),
        text_columns=[], datetime_columns=[], unknown_columns=[], list_columns=[],
    )  # fmt: skip
    types = {column: "category" if categories == "category" else object for column in CATEGORICAL}
    tables = [data.table(release)[[*CATEGORICAL, *NUMERIC]].astype(types) for release in ("A", "B")]
    started = time.perf_counter()
    reference, current = (Dataset.from_pandas(table, data_definition=definition) for table in tables)
    dataset_seconds = time.perf_counter() - started
    report = Report([DataDriftPreset()])
    snapshot = report.run(current, reference)
    return Evidently(report, reference, current, dataset_seconds, _evidently_scores(snapshot.dict()))


def _evidently_scores(snapshot: dict) -> dict[str, tuple[str, float, bool]]:
    scores = {}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        test = EVIDENTLY_TESTS.get(config["method"], config["method"])
        value = float(metric["value"])
        drifted = value >= config["threshold"] if test in EVIDENTLY_TESTS.values() else value < config["threshold"]
        scores[config["column"]] = (test, value, drifted)
    return scores


# --- checks ----------------------------------------------------------------------------------------


def scipy_scores(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """Each feature's score as scipy computes it on the raw columns."""
    scores = {}
    for column in (*CATEGORICAL, *NUMERIC):
        ref, cur = reference[column], current[column]
        if column in NUMERIC and len(np.union1d(ref.unique(), cur.unique())) > 5:
            scores[column] = ("wasserstein", stats.wasserstein_distance(ref, cur) / np.std(ref.to_numpy()))
        else:
            keys = sorted(set(ref.unique()) | set(cur.unique()))
            shares = [rows.value_counts().reindex(keys, fill_value=0).to_numpy() / len(rows) for rows in (ref, cur)]
            scores[column] = ("jensenshannon", float(distance.jensenshannon(*shares)))
    return scores


def profile_mismatches(profile: Profile, table: pd.DataFrame) -> list[str]:
    """Features whose counts differ from the generated rows (annotation features count twice a record)."""
    wrong = []
    if (profile.records, profile.annotations) != (len(table), 2 * len(table)):
        wrong.append("totals")
    for column in CATEGORICAL:
        counts = table[column].value_counts()
        expected = {str(key): int(n) * (2 if column in PER_ANNOTATION else 1) for key, n in counts.items()}
        if profile.categorical.get(column) != expected:
            wrong.append(column)
    for column in NUMERIC:
        counts = table[column].value_counts().sort_index()
        if profile.numeric.get(column) != [(float(key), int(n)) for key, n in counts.items()]:
            wrong.append(column)
    extra = (profile.categorical.keys() | profile.numeric.keys()) - {*CATEGORICAL, *NUMERIC}
    return wrong + sorted(extra)


# --- measuring -------------------------------------------------------------------------------------


def measure(
    name: str, scratch: Callable[[], AbstractContextManager[str]], data: Seed, ev: Evidently, args
) -> dict[str, Any]:
    with scratch() as url:
        seeded = seed_database(url, data)
        print(f"{name:10} seeded {seeded.rows:,} rows in {seeded.seconds:.1f} s (not timed)")
        seconds, evidently_seconds = [], []
        for run in range(1, args.runs + 1):  # in pairs, so both arms meet the machine in the same state
            evidently_seconds.append(ev.timed_run())
            took, reference, current, found = run_project(url, seeded)
            seconds.append(took)
            print(f"{name:10} run {run}: project {took:7.3f} s, Evidently {evidently_seconds[-1]:7.3f} s")
        parts = breakdown(url, seeded)
        store_profiles(url, seeded, {"A": reference, "B": current})
        stored = [run_stored(url, seeded) for _ in range(args.runs)]
    if stored[-1][1] != found:
        raise RuntimeError("the shift from the stored profiles differs from the shift from the built ones")
    stored_s = statistics.median(took for took, _ in stored)
    project_s, evidently_s = statistics.median(seconds), statistics.median(evidently_seconds)
    mismatched = profile_mismatches(reference, data.table("A")) + profile_mismatches(current, data.table("B"))
    expected = scipy_scores(data.table("A"), data.table("B"))
    features = {feature.feature: feature for feature in found.features}
    if features.keys() != expected.keys():
        raise RuntimeError(f"the project compared {sorted(features)}, expected {sorted(expected)}")
    tests_agree = all(features[column].test == test for column, (test, _) in expected.items())
    max_diff = max(abs(features[column].score - score) for column, (_, score) in expected.items())
    evidently_diff = max(abs(features[column].score - ev.scores[column][1]) for column in features)
    verdicts = {column: (features[column].drifted, ev.scores[column][2]) for column in features}
    disagree = sorted(column for column, (ours, theirs) in verdicts.items() if ours != theirs)
    evidently_tests_agree = all(features[column].test == ev.scores[column][0] for column in features)
    speedup = evidently_s / project_s
    for feature in found.features:
        print(
            f"{name:10}   {feature.feature:18} {feature.test:13} {feature.score:.6f} "
            f"({'drifted' if feature.drifted else 'stable'}; scipy {expected[feature.feature][1]:.6f}, "
            f"evidently {ev.scores[feature.feature][1]:.6f})"
        )
    print(
        f"{name:10} median: project {project_s:.3f} s, Evidently {evidently_s:.3f} s, speedup {speedup:.1f}x "
        f"({'meets' if speedup >= GOAL else 'BELOW'} the {GOAL:.0f}x goal); max |score - scipy| {max_diff:.2e} "
        f"({'within' if max_diff <= EXACT else 'ABOVE'} 1e-9), max |score - Evidently| {evidently_diff:.2e}; "
        f"profiles {'match' if not mismatched else 'DIFFER in ' + ', '.join(mismatched)}; "
        f"verdicts {'all agree' if not disagree else 'DIFFER in ' + ', '.join(disagree)}"
    )
    print(f"{name:10} breakdown (one more run, s): {json.dumps(parts)}")
    print(
        f"{name:10} for comparison, the shift from the profiles stored at cut time (as a release diff computes it): "
        f"{stored_s * 1000:.1f} ms, {evidently_s / stored_s:.0f}x faster than Evidently"
    )
    return {
        "project_s": round(project_s, 4),
        "project_runs_s": [round(s, 4) for s in seconds],
        "evidently_s": round(evidently_s, 4),
        "evidently_runs_s": [round(s, 4) for s in evidently_seconds],
        "speedup": round(speedup, 2),
        "max_score_diff": max_diff,
        "evidently_max_score_diff": evidently_diff,
        "tests_agree": tests_agree and evidently_tests_agree,
        "verdicts_agree": not disagree,
        "verdict_disagreements": disagree,
        "profiles_match": not mismatched,
        "drifted_features": found.drifted_features,
        "features": len(found.features),
        "dataset_drift": found.dataset_drift,
        "breakdown_s": parts,
        "stored_profiles_s": round(stored_s, 4),
        "stored_profiles_speedup": round(evidently_s / stored_s, 1),
        "seed_s": round(seeded.seconds, 1),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000, help="records per release (default 200000)")
    parser.add_argument("--runs", type=int, default=5, help="timed pairs of runs; the medians count (default 5)")
    parser.add_argument(
        "--evidently-columns", choices=("category", "string"), default="category",
        help="dtype of Evidently's categorical columns (default category: Evidently runs faster on them)",
    )  # fmt: skip
    add_postgres_option(parser)
    return parser.parse_args()


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    args = parse_args()
    started = time.perf_counter()
    data = make_seed(args.records)
    total = len(data.record_ids)
    half = args.records // 2
    print(
        f"{total:,} records generated in {time.perf_counter() - started:.1f} s; releases of {args.records:,} "
        f"records, A = [0, {args.records:,}), B = [{half:,}, {half + args.records:,})"
    )
    ev = prepare_evidently(data, args.evidently_columns)
    print(
        f"evidently  report warmed up on {args.evidently_columns} columns "
        f"(Dataset.from_pandas, not timed: {ev.dataset_seconds:.2f} s)"
    )
    results = on_each_backend(lambda backend, scratch: measure(backend, scratch, data, ev, args), args.postgres_url)
    measured = [result for result in results.values() if result]
    print(json.dumps({
        "speedup": min(result["speedup"] for result in measured),
        "max_score_diff": max(result["max_score_diff"] for result in measured),
        "records_per_release": args.records,
        "evidently_columns": args.evidently_columns,
        **results,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
