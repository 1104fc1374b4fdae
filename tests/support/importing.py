"""Helpers for import tests: small fixture files written by the tests, imports run through the
real service, and fresh reads of what an import left behind."""

import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.annotations.service import get_history, list_record_annotations
from catalog.core.models import AnnotationRow, RecordRow
from catalog.core.principal import Principal
from catalog.importing.formats import Format
from catalog.importing.schemas import ImportReport
from catalog.importing.service import run_import

RANKING_SCHEMA = {"questions": [{"name": "preference", "kind": "ranking"}]}
LABEL_SCHEMA = {"questions": [{"name": "safety", "kind": "label", "options": ["safe", "unsafe"]}]}


def alpaca(prompt: str, response: str | None = "ok", **fields: Any) -> dict[str, Any]:
    item = {"instruction": prompt, "input": "", **fields}
    if response is not None:
        item["output"] = response
    return item


def jsonl(*lines: dict | str) -> bytes:
    """JSON lines; a ``str`` is written as it is (a blank or broken line)."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines).encode()


def write_lines(path: Path, *lines: dict | str) -> Path:
    path.write_bytes(jsonl(*lines))
    return path


def import_file(
    session: Session,
    principal: Principal,
    dataset_id: str | uuid.UUID,
    path: Path,
    *,
    fmt: Format | str = Format.ALPACA,
    batch_size: int = 1000,
    **options: Any,
) -> ImportReport:
    """Import as the CLI does: every batch commits."""
    report = run_import(
        session,
        source=path,
        batch_size=batch_size,
        commit_batches=True,
        principal=principal,
        dataset_id=uuid.UUID(str(dataset_id)),
        fmt=Format(fmt),
        **options,
    )
    session.commit()
    return report


def records(session: Session, dataset_id: str | uuid.UUID, *, active_only: bool = False) -> list[RecordRow]:
    stmt = select(RecordRow).where(RecordRow.dataset_id == uuid.UUID(str(dataset_id)))
    if active_only:
        stmt = stmt.where(RecordRow.retired_at.is_(None))
    return session.scalars(stmt.order_by(RecordRow.id).execution_options(populate_existing=True)).all()


def prompts(session: Session, dataset_id: str | uuid.UUID, *, active_only: bool = True) -> list[str]:
    """The first message of each record, sorted."""
    rows = records(session, dataset_id, active_only=active_only)
    return sorted(row.content["messages"][0]["content"] for row in rows)


def record_by_prompt(session: Session, dataset_id: str | uuid.UUID, prompt: str) -> RecordRow:
    [row] = [row for row in records(session, dataset_id) if row.content["messages"][0]["content"] == prompt]
    return row


def annotation_of(session: Session, principal: Principal, record: RecordRow):
    """The one annotation on the record (it fails when there are more or none)."""
    [annotation] = list_record_annotations(session, principal=principal, record_id=record.id)
    return annotation


def history_of(session: Session, principal: Principal, annotation_id: uuid.UUID) -> list:
    return get_history(session, principal=principal, annotation_id=annotation_id).revisions


def annotation_count(session: Session, dataset_id: str | uuid.UUID) -> int:
    return session.scalar(select(func.count()).where(AnnotationRow.dataset_id == uuid.UUID(str(dataset_id))))
