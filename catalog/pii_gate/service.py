"""The PII gate: mask records and annotation revisions, then release them to every role.

Records arrive ``pending``. A batch is taken (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
several workers never take the same records), every free text in it is scanned in one call,
and the masked forms, the findings and the detector version are written in one transaction
with its audit entry. Roles without ``read_raw`` see a record only after that.

Annotation revisions carry free text too (a written response, a ranking's rationale, an edit's
reason, a review comment). Written through the API they are masked at once, by the scanner the
session carries (``SCANNER_KEY``); imported ones wait for the worker, like their records.
"""

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select
from sqlalchemy.orm import Session

import pii
from catalog.access.service import system_principal
from catalog.core import audit_log, outbox
from catalog.core.models import MASKED, PENDING, PiiFindingRow, RecordRow, RevisionRow, new_id, utcnow
from catalog.pii_gate.schemas import MaskingBacklog
from pii import Finding, Masked, Replacement, ScannerConfig

SCANNER_KEY = "pii_scanner"  # session.info: a scan function for revisions written in the session


Scan = Callable[[list[str]], Sequence[Masked]]


def scan_function(config: ScannerConfig) -> Scan:
    """Scans with ``config``'s scanner, built on first use (loading spaCy takes seconds) and
    shared by everything in the process that uses the same configuration."""
    return partial(_scan_with, config)


def _scan_with(config: ScannerConfig, texts: list[str]) -> Sequence[Masked]:
    return pii.get_scanner(config).scan_many(texts)


@dataclass(frozen=True)
class MaskRun:
    """What one batch did (or, added up, a whole run): records and annotation revisions masked."""

    records: int
    findings: int
    revisions: int = 0


def pending() -> ColumnElement[bool]:
    """Records no role without ``read_raw`` can see yet."""
    return RecordRow.mask_status == PENDING


def backlog(session: Session) -> MaskingBacklog:
    """How many records and annotation revisions wait for the worker: two counts over the
    ``(mask_status, id)`` indexes, which read the pending entries only."""
    return MaskingBacklog(
        pending_records=session.scalar(select(func.count()).select_from(RecordRow).where(pending())),
        pending_revisions=session.scalar(
            select(func.count()).select_from(RevisionRow).where(RevisionRow.mask_status == PENDING)
        ),
    )


def outdated(dataset_id: uuid.UUID, detector_version: str) -> ColumnElement[bool]:
    """A dataset's records masked by another detector (or not at all): what a rescan re-masks.
    They stay visible in their earlier masked form until the rescan reaches them. Erased records
    keep theirs: their raw text, which a rescan would scan, is gone."""
    return and_(
        RecordRow.dataset_id == dataset_id,
        RecordRow.erased_at.is_(None),
        or_(RecordRow.detector_version.is_(None), RecordRow.detector_version != detector_version),
    )


def next_batch_texts(session: Session, *, limit: int, which: ColumnElement[bool]) -> list[str]:
    """The texts :func:`mask_batch` would scan next, read without locking anything."""
    rows = session.scalars(select(RecordRow).where(which).order_by(RecordRow.id).limit(limit)).all()
    return [text for row in rows for _, text in free_texts(row.content, row.meta)]


def mask_batch(
    session: Session, *, scan: Scan, detector_version: str, limit: int, which: ColumnElement[bool]
) -> MaskRun:
    """Mask up to ``limit`` records matching ``which`` in the session's transaction, with the
    batch's audit entry and its outbox row (a batch is one masking run for OpenLineage)."""
    started = utcnow()
    rows = session.scalars(
        select(RecordRow)
        .where(which)
        .order_by(RecordRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return MaskRun(records=0, findings=0)
    located = [(row, pointer, text) for row in rows for pointer, text in free_texts(row.content, row.meta)]
    results = list(scan([text for _, _, text in located])) if located else []
    masked: dict[Any, dict[str, str]] = {row.id: {} for row in rows}
    findings = []
    for (row, pointer, _), result in zip(located, results, strict=True):
        masked[row.id][pointer] = result.text
        findings.extend(
            _finding_row(row.id, pointer, found, span, detector_version)
            for found, span in zip(result.findings, result.spans, strict=True)
        )
    now = utcnow()
    for row in rows:
        row.masked_content = _replaced(row.content, "", masked[row.id])
        row.masked_meta = _replaced(row.meta, "/metadata", masked[row.id])
        row.mask_status, row.detector_version, row.masked_at = MASKED, detector_version, now
    session.flush()
    if findings:
        session.execute(insert(PiiFindingRow), findings)
    audit_log.append(
        session, actor=system_principal(session), action="pii:mask", resource="records",
        details={"records": len(rows), "findings": len(findings), "detector_version": detector_version},
    )
    _announce(session, rows, findings, detector_version, started)
    return MaskRun(records=len(rows), findings=len(findings))


def _announce(
    session: Session, rows: Sequence[RecordRow], findings: list[dict[str, Any]], detector_version: str, started: datetime
) -> None:
    """The batch's outbox row: records and findings per dataset."""
    datasets: dict[str, dict[str, int]] = {}
    dataset_of = {row.id: str(row.dataset_id) for row in rows}
    for row in rows:
        datasets.setdefault(dataset_of[row.id], {"records": 0, "findings": 0})["records"] += 1
    for finding in findings:
        datasets[dataset_of[finding["record_id"]]]["findings"] += 1
    facts = {"detector_version": detector_version, "datasets": datasets}
    outbox.record(session, kind=outbox.Kind.MASKING, facts=facts, started_at=started)


# Metadata the catalog defines as categories (``catalog.records.schemas.KNOWN_METADATA`` but the
# subject's id): labels such as ``{"task_type": "sft"}``, not free text. spaCy tags short labels
# as organisations and the like, so scanning them would mask the label and blind the profile.
UNSCANNED_METADATA = frozenset({"task_type", "domain", "language", "split"})


def free_texts(content: dict[str, Any], meta: dict[str, Any]) -> list[tuple[str, str]]:
    """Every free text of a record, each with its JSON Pointer (RFC 6901): message contents,
    candidates, and every string in the metadata but the categories in ``UNSCANNED_METADATA``,
    which are kept as they are."""
    found = [(f"/messages/{n}/content", message["content"]) for n, message in enumerate(content["messages"])]
    found += [(f"/candidates/{n}", candidate) for n, candidate in enumerate(content.get("candidates") or [])]
    scanned = {key: value for key, value in meta.items() if not (key in UNSCANNED_METADATA and isinstance(value, str))}
    return found + list(_strings(scanned, "/metadata"))


def _strings(value: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{pointer}/{_escaped(key)}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _strings(item, f"{pointer}/{n}")


def _escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _replaced(value: Any, pointer: str, texts: dict[str, str]) -> Any:
    """A copy of ``value`` in which each string whose pointer is in ``texts`` is replaced."""
    if isinstance(value, str):
        return texts.get(pointer, value)
    if isinstance(value, dict):
        return {key: _replaced(item, f"{pointer}/{_escaped(key)}", texts) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, f"{pointer}/{n}", texts) for n, item in enumerate(value)]
    return value


def _finding_row(
    record_id: uuid.UUID, pointer: str, found: Finding, span: Replacement, detector_version: str
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "record_id": record_id,
        "field": pointer,
        "entity_type": found.entity_type,
        "start": found.start,
        "end": found.end,
        "masked_start": span.masked_start,
        "masked_end": span.masked_end,
        "score": found.score,
        "recognizer": found.recognizer,
        "detector_version": detector_version,
    }


def mask_revision_now(session: Session, revision: dict[str, Any]) -> None:
    """Mask a revision row about to be inserted, when the session carries a scanner."""
    scan: Scan | None = session.info.get(SCANNER_KEY)
    if scan is not None:
        _mask_revisions([revision], scan)


def next_revision_texts(session: Session, *, limit: int) -> list[str]:
    """The texts :func:`mask_revision_batch` would scan next, read without locking anything."""
    rows = session.scalars(
        select(RevisionRow).where(RevisionRow.mask_status == PENDING).order_by(RevisionRow.id).limit(limit)
    ).all()
    return [text for _, _, text in _revision_texts([{"value": row.value, "reason": row.reason} for row in rows])]


def mask_revision_batch(session: Session, *, scan: Scan, limit: int) -> int:
    """Mask up to ``limit`` pending revisions (imported ones) in the session's transaction."""
    rows = session.scalars(
        select(RevisionRow)
        .where(RevisionRow.mask_status == PENDING)
        .order_by(RevisionRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    fields = [{"value": row.value, "reason": row.reason} for row in rows]
    _mask_revisions(fields, scan)
    for row, masked in zip(rows, fields, strict=True):
        row.masked_value, row.masked_reason, row.mask_status = masked["masked_value"], masked["masked_reason"], MASKED
    session.flush()
    return len(rows)


def _revision_texts(revisions: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """Each free text of the revisions: its revision's index, its pointer, the text."""
    located = []
    for n, revision in enumerate(revisions):
        located += [(n, f"/value{pointer}", text) for pointer, text in _strings(revision["value"], "")]
        if revision["reason"]:
            located.append((n, "/reason", revision["reason"]))
    return located


def _mask_revisions(revisions: list[dict[str, Any]], scan: Scan) -> None:
    """Set ``masked_value``, ``masked_reason`` and ``mask_status`` on revision dicts."""
    located = _revision_texts(revisions)
    results = list(scan([text for _, _, text in located])) if located else []
    masked: list[dict[str, str]] = [{} for _ in revisions]
    for (n, pointer, _), result in zip(located, results, strict=True):
        masked[n][pointer] = result.text
    for revision, texts in zip(revisions, masked, strict=True):
        revision["masked_value"] = _replaced(revision["value"], "/value", texts)
        revision["masked_reason"] = texts.get("/reason", revision["reason"])
        revision["mask_status"] = MASKED
