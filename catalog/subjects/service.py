"""GDPR erasure: a data subject's raw text is deleted, the provenance around it stays.

Records tie to a subject by ``metadata.subject_id``. Erasing replaces each record's raw texts
with their masked form and keeps, instead of the texts, their salted digests: the record's
``content_sha256``, the annotation revisions that hash it and the audit chain all still verify,
and nothing can bring the raw text back. A record not masked yet has no masked form to keep,
so its texts become ``<ERASED>``. The erasure itself is an audit entry (who, when, why).
"""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.access.policy import Action, require
from catalog.core import audit_log, outbox
from catalog.core.db import checkpoint
from catalog.core.hashing import digest_strings
from catalog.core.logging import get_logger
from catalog.core.models import MASKED, DatasetRow, RecordRow, utcnow
from catalog.core.principal import Principal
from catalog.lineage_graph.service import models_reached, release_refs, releases_with_records
from catalog.subjects.schemas import ErasureOut

ERASED = "<ERASED>"
log = get_logger(__name__)


def erase_subject(
    session: Session, *, principal: Principal, subject_id: str, reason: str, max_depth: int
) -> ErasureOut:
    """Erase the raw text of every record of ``subject_id``, in every dataset; idempotent."""
    started = utcnow()
    require(principal, Action.SUBJECT_ERASE)
    found = session.execute(
        select(RecordRow, DatasetRow.text_salt)
        .join(DatasetRow, DatasetRow.id == RecordRow.dataset_id)
        .where(RecordRow.meta["subject_id"].as_string() == subject_id)
        .order_by(RecordRow.id)
    ).all()
    now = utcnow()
    erased, already = [], []
    for row, salt in found:
        if row.erased_at is None:
            _erase(row, salt, principal.id, now)
            erased.append(row.id)
        else:
            already.append(row.id)
    session.flush()
    datasets = sorted({row.dataset_id for row, _ in found})
    holding = releases_with_records([row.id for row, _ in found])
    reached, models = release_refs(session, principal, holding), models_reached(session, holding, max_depth)
    audit_log.append(
        session, actor=principal, action=Action.SUBJECT_ERASE, resource=f"subject:{subject_id}",
        details={
            "reason": reason, "records": [str(i) for i in erased], "datasets": [str(d) for d in datasets],
            "releases": [f"{ref.dataset_id}:{ref.tag}" for ref in reached],
            "models": [f"{model.namespace}:{model.name}:{model.version}" for model in models],
        },
    )  # fmt: skip
    if erased:
        _announce(session, principal, [row for row, _ in found if row.erased_at == now], started)  # erased just now
    return ErasureOut(
        subject_id=subject_id, erased=erased, already_erased=already, datasets=datasets, releases=reached, models=models
    )


def _announce(session: Session, principal: Principal, erased: list[RecordRow], started: datetime) -> None:
    """The erasure's outbox row: records erased per dataset and the releases holding them. Never
    the subject's id: the events leave labeltrail, and the id would name the person they are about."""
    datasets: dict[str, dict[str, int]] = {}
    for row in erased:
        datasets.setdefault(str(row.dataset_id), {"records": 0})["records"] += 1
    holding = releases_with_records([row.id for row in erased])
    releases = [{"dataset_id": str(ref.dataset_id), "tag": ref.tag} for ref in release_refs(session, principal, holding)]
    facts = {"datasets": datasets, "releases": releases}
    outbox.record(session, kind=outbox.Kind.ERASURE, facts=facts, started_at=started)


def clear_erased_pages(sessions: sessionmaker[Session]) -> None:
    """After an erasure has committed: on SQLite, empty the write-ahead log, which still holds
    the pages with the raw text. Other busy connections can delay that to a later checkpoint."""
    if not checkpoint(sessions):
        log.warning("erasure committed, but the SQLite write-ahead log was busy and still holds old pages")


def _erase(row: RecordRow, salt: bytes, actor_id: uuid.UUID, now: datetime) -> None:
    row.content_digests = digest_strings(row.content, salt)
    if row.mask_status != MASKED:
        row.masked_content = _redacted(row.content)
        row.masked_meta = {"subject_id": row.meta.get("subject_id")}
        row.mask_status = MASKED
    row.content, row.meta = row.masked_content, row.masked_meta
    row.erased_at, row.erased_by = now, actor_id


def _redacted(content: dict) -> dict:
    redacted = {"messages": [{**message, "content": ERASED} for message in content["messages"]]}
    if "candidates" in content:
        redacted["candidates"] = [ERASED for _ in content["candidates"]]
    return redacted
