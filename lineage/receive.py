"""Receiving OpenLineage events: check, store the raw event once, derive the graph in the same transaction.

An event is identified by the sha256 of its RFC 8785 canonical JSON, so the same event sent
twice (a client retrying) is stored once and reported as a duplicate. A batch is checked whole
before anything is written: one invalid event refuses the batch, naming it.
"""

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require
from catalog.core import audit_log
from catalog.core.errors import InvalidInput
from catalog.core.hashing import canonical_json, sha256_hex
from catalog.core.models import LineageEventRow, new_id
from catalog.core.principal import Principal
from lineage.derive import ModelRules, derive
from lineage.spec import DatasetEvent, Event, InvalidEvent, RunEvent, parse_event

MAX_BATCH = 1000


class RefusedEvent(InvalidInput):
    """An event that breaks the spec: 400, as Marquez answers, with the rule it breaks."""

    code = "INVALID_EVENT"


class Received(BaseModel):
    event_id: str
    sha256: str
    duplicate: bool = Field(description="the same event was received before: stored once")


def receive(session: Session, *, principal: Principal, document: Any, rules: ModelRules) -> Received:
    require(principal, Action.LINEAGE_WRITE)
    [received] = _store(session, principal, [_checked(document, None)], rules)
    return received


def receive_batch(session: Session, *, principal: Principal, documents: Any, rules: ModelRules) -> list[Received]:
    require(principal, Action.LINEAGE_WRITE)
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_BATCH:
        raise RefusedEvent(f"a batch is a JSON array of 1 to {MAX_BATCH} OpenLineage events")
    return _store(session, principal, [_checked(document, index) for index, document in enumerate(documents)], rules)


def _checked(document: Any, index: int | None) -> tuple[Any, Event]:
    try:
        return document, parse_event(document)
    except InvalidEvent as error:
        where = f"event {index}: " if index is not None else ""
        raise RefusedEvent(f"{where}{error}", {"index": index} if index is not None else None) from None


def _store(session: Session, principal: Principal, checked: list[tuple[Any, Event]], rules: ModelRules) -> list[Received]:
    received = [_store_one(session, principal, document, event, rules) for document, event in checked]
    fresh = [r for r in received if not r.duplicate]
    audit_log.append(
        session, actor=principal, action=Action.LINEAGE_WRITE, resource="lineage",
        details={"events": [r.event_id for r in fresh], "duplicates": len(received) - len(fresh)},
    )  # fmt: skip
    return received


def _store_one(session: Session, principal: Principal, document: Any, event: Event, rules: ModelRules) -> Received:
    digest = sha256_hex(canonical_json(document))
    existing = session.scalar(select(LineageEventRow.id).where(LineageEventRow.sha256 == digest))
    if existing is not None:
        return Received(event_id=str(existing), sha256=digest, duplicate=True)
    row = LineageEventRow(id=new_id(), sha256=digest, payload=document, received_by=principal.id, **_summary(event))
    session.add(row)
    session.flush()
    derive(session, row, event, rules)
    return Received(event_id=str(row.id), sha256=digest, duplicate=False)


def _summary(event: Event) -> dict[str, Any]:
    """The columns that index the raw event: its kind, type, time, run and job."""
    job = None if isinstance(event, DatasetEvent) else event.job
    return {
        "kind": "run" if isinstance(event, RunEvent) else "dataset" if isinstance(event, DatasetEvent) else "job",
        "event_type": event.event_type if isinstance(event, RunEvent) else None,
        "event_time": event.event_time,
        "run_id": event.run.run_id if isinstance(event, RunEvent) else None,
        "job_namespace": job.namespace if job else None,
        "job_name": job.name if job else None,
    }
