"""Span annotations across the PII gate: stored at raw offsets, seen at masked ones.

A role without ``read_raw`` chooses spans on the masked text, so its offsets are mapped back to
the raw text before they are validated and stored, and stored spans are mapped to the masked
text before they are served to it. The mapping comes from each finding's raw and masked span
(``pii_findings``); a boundary inside a placeholder takes in the whole entity.
"""

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.core.errors import InvalidInput
from catalog.core.models import PiiFindingRow, RecordRow
from pii import Finding, Masked, Replacement, masked_to_raw, raw_to_masked

_MESSAGE = "/messages/{}/content"


def spans_to_raw(session: Session, record: RecordRow, spans: Any) -> Any:
    """Spans chosen on the masked messages, at raw offsets. Anything not a list of spans is
    returned as it is, for validation to refuse."""
    if not _is_spans(spans):
        return spans
    maskings = _maskings(session, [record])[record.id]
    mapped = []
    for span in spans:
        masked = maskings.get(span["message"])
        if masked is None:
            mapped.append(span)  # an unknown message: validation names it
            continue
        try:
            start, end = masked_to_raw(masked, span["start"], span["end"])
        except ValueError as error:
            raise InvalidInput(f"span {span['start']}..{span['end']}: {error}", {"span": span}) from None
        mapped.append({**span, "start": start, "end": end})
    return mapped


def spans_to_masked(maskings: dict[int, Masked], spans: Any) -> Any:
    """Stored spans at the offsets of the masked messages."""
    if not _is_spans(spans):
        return spans
    mapped = []
    for span in spans:
        masked = maskings.get(span["message"])
        start, end = raw_to_masked(masked, span["start"], span["end"]) if masked else (span["start"], span["end"])
        mapped.append({**span, "start": start, "end": end})
    return mapped


def maskings_of(session: Session, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[int, Masked]]:
    """Per record and message index, the masked message with its replacements."""
    records = session.scalars(select(RecordRow).where(RecordRow.id.in_(record_ids))).all()
    return _maskings(session, records)


def _maskings(session: Session, records: list[RecordRow]) -> dict[uuid.UUID, dict[int, Masked]]:
    found: dict[uuid.UUID, dict[str, list[PiiFindingRow]]] = defaultdict(lambda: defaultdict(list))
    rows = session.scalars(
        select(PiiFindingRow)
        .where(PiiFindingRow.record_id.in_([record.id for record in records]))
        .order_by(PiiFindingRow.record_id, PiiFindingRow.field, PiiFindingRow.start)
    )
    for row in rows:
        found[row.record_id][row.field].append(row)
    return {record.id: _record_maskings(record, found[record.id]) for record in records}


def _record_maskings(record: RecordRow, findings: dict[str, list[PiiFindingRow]]) -> dict[int, Masked]:
    if record.masked_content is None:
        return {}
    maskings = {}
    for n, message in enumerate(record.masked_content["messages"]):
        rows = [row for row in findings.get(_MESSAGE.format(n), []) if row.detector_version == record.detector_version]
        maskings[n] = Masked(
            text=message["content"],
            findings=tuple(Finding(r.entity_type, r.start, r.end, r.score, r.recognizer) for r in rows),
            spans=tuple(Replacement(r.start, r.end, r.masked_start, r.masked_end) for r in rows),
        )
    return maskings


def _is_spans(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(span, dict) and {"message", "start", "end"} <= span.keys()
        and all(isinstance(span[key], int) for key in ("message", "start", "end"))
        for span in value
    )
