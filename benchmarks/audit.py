"""Cost of authorization and auditing on annotation writes, on SQLite and PostgreSQL.

What is measured, per backend: annotation writes through ``catalog.annotations.service
.create_annotation``, one transaction per write as a request has, by an annotator who holds
its role on the dataset (so the per-dataset policy is evaluated). Two arms run the same path
on the same database:

- governed: the code as it ships, authorization and the audit log's hash-chained append
  (head row locked, entry inserted, head moved, a seal every ``--seal-every`` entries).
- bare: the same code with ``catalog.access.policy.can`` replaced by a policy that allows everything
  and ``catalog.core.audit_log.append`` by a no-op, patched here, inside the benchmark only; production
  code has no switch that turns either off.

The arms alternate in rounds of ``--writes`` writes; each arm's median rate over ``--rounds``
rounds is kept. overhead = bare rate / governed rate - 1 (0.25 means governed writes take 25%
longer). The goal is under 0.25. The last line of output is one JSON object:
{"overhead": worst of the backends, "sqlite": {...}, "postgresql": {...} or null}.
"""

import argparse
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any
from unittest import mock

from ingest import add_postgres_option, on_each_backend

from catalog.access import policy
from catalog.access import service as principals
from catalog.access.schemas import BindingIn, PrincipalCreate
from catalog.annotations import service as annotations
from catalog.annotations.schemas import AnnotationCreate
from catalog.core import audit_log, migrate
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.core.principal import Principal, Role
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate
from catalog.pii_gate.worker import mask_all
from catalog.records import service as records
from catalog.records.schemas import RecordIn
from pii import ScannerConfig

SCHEMA = {"questions": [{"name": "response", "kind": "text"}]}
SEAL_KEY = b"benchmark-seal-key"


def prepare(url: str, count: int, seal_every: int):
    """A fresh database with one dataset of ``count`` records and an annotator assigned to it."""
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(
        engine, info=audit_log.session_info(audit_log.AuditContext(client="bench"), audit_log.Sealer(SEAL_KEY, seal_every))
    )
    with transaction(sessions) as session:
        system = principals.system_principal(session)
        dataset = datasets.create_dataset(
            session, principal=system, data=DatasetCreate(name="bench", label_schema=SCHEMA)
        )
        added = records.add_records(
            session, principal=system, dataset_id=dataset.id,
            records=[RecordIn(messages=[{"role": "user", "content": f"Question {n}?"}]) for n in range(count)],
        )  # fmt: skip
        principals.create_principal(
            session, principal=system,
            data=PrincipalCreate(name="annotator", roles=[BindingIn(role=Role.ANNOTATOR, dataset_id=dataset.id)]),
        )  # fmt: skip
        annotator = principals.find_principal(session, "annotator")
    mask_all(sessions, ScannerConfig(mode="pattern"), batch_size=1000)  # the PII gate releases them to annotators
    return engine, sessions, annotator, added.ids


def write(sessions, annotator: Principal, record_ids: list[uuid.UUID]) -> float:
    """Annotate each record in its own transaction; seconds taken."""
    started = time.perf_counter()
    for number, record_id in enumerate(record_ids):
        with transaction(sessions) as session:
            annotations.create_annotation(
                session, principal=annotator, record_id=record_id,
                data=AnnotationCreate(question="response", value=f"An answer, number {number}."),
            )  # fmt: skip
    return time.perf_counter() - started


def bare() -> ExitStack:
    """Allow-everything policy and a no-op audit, for the bare arm only."""
    stack = ExitStack()
    stack.enter_context(mock.patch.object(policy, "can", lambda *args, **kwargs: True))
    stack.enter_context(mock.patch.object(audit_log, "append", lambda *args, **kwargs: 0))
    return stack


def measure(name: str, scratch: Callable[[], AbstractContextManager[str]], args) -> dict[str, Any]:
    per_round = args.writes
    with scratch() as url:
        engine, sessions, annotator, record_ids = prepare(url, per_round * args.rounds * 2 + per_round, args.seal_every)
        try:
            chunks = iter(record_ids[i : i + per_round] for i in range(0, len(record_ids), per_round))
            write(sessions, annotator, next(chunks))  # warm-up, both code paths compiled and cached
            rates: dict[str, list[float]] = {"governed": [], "bare": []}
            for round_number in range(1, args.rounds + 1):
                for arm in ("governed", "bare") if round_number % 2 else ("bare", "governed"):
                    with bare() if arm == "bare" else ExitStack():
                        seconds = write(sessions, annotator, next(chunks))
                    rates[arm].append(per_round / seconds)
                    print(f"{name:10} round {round_number} {arm:8}: {per_round / seconds:8,.0f} writes/s")
        finally:
            engine.dispose()
    governed, plain = statistics.median(rates["governed"]), statistics.median(rates["bare"])
    overhead = plain / governed - 1
    print(
        f"{name:10} median: governed {governed:,.0f} writes/s, bare {plain:,.0f} writes/s, "
        f"overhead {overhead:.1%} ({'meets' if overhead < 0.25 else 'ABOVE'} the 25% goal)"
    )
    return {"governed_writes_per_s": round(governed, 1), "bare_writes_per_s": round(plain, 1),
            "overhead": round(overhead, 3)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=500, help="writes per round (default 500)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per arm (default 6)")
    parser.add_argument("--seal-every", type=int, default=100, help="entries between seals (default 100)")
    add_postgres_option(parser)
    return parser.parse_args()


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    args = parse_args()
    results = on_each_backend(lambda backend, scratch: measure(backend, scratch, args), args.postgres_url)
    measured = [result["overhead"] for result in results.values() if result]
    print(json.dumps({"overhead": max(measured), **results}))


if __name__ == "__main__":
    main()
