"""The import service: validated batches of records and imported responses, and ``--sync``.

``--sync`` treats the file as the new upstream release of the dataset. Records are matched by
prompt: new prompts become records, prompts missing from the file are retired, and a changed
response becomes a new revision of the imported annotation, unless a person has edited or
reviewed it since; then nothing is overwritten and the conflict is reported.
"""

import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from catalog.access.policy import Action, require
from catalog.annotations.schemas import SourceKind
from catalog.annotations.service import current_revisions, new_annotation_rows, revision_row
from catalog.core import audit_log, outbox
from catalog.core.errors import InvalidInput
from catalog.core.json_input import bad_text
from catalog.core.models import AnnotationRow, DatasetRow, RecordRow, RevisionRow, utcnow
from catalog.core.principal import Principal
from catalog.datasets.guidelines import latest_version
from catalog.datasets.label_schema import validate_value
from catalog.datasets.service import find_dataset_id, label_schema_of, visible_dataset
from catalog.importing.formats import RESPONSE_KIND, Format, FormatError, Parsed, parse
from catalog.importing.reading import Item, Unreadable, iter_items, open_source
from catalog.importing.schemas import MAX_REPORTED, ImportReport, PartlyImported
from catalog.records.service import insert_records, prompt_hash, record_row, retire_records

_CHUNK = 500


@dataclass(frozen=True)
class _Good:
    location: str
    parsed: Parsed
    prompt_sha256: str | None


class _Importer:
    """Imports one file's items into one dataset. ``checkpoint`` ends each batch (commit, or no-op).

    A run that writes ends with its outbox row and a last checkpoint; a run that fails after
    checkpoints committed batches gets a FAIL row from :meth:`record_failure`.
    """

    def __init__(
        self,
        session: Session,
        *,
        principal: Principal,
        dataset_id: uuid.UUID,
        fmt: Format,
        file_name: str,
        sync: bool = False,
        dry_run: bool = False,
        question: str | None = None,
    ) -> None:
        self.session, self.principal, self.fmt = session, principal, fmt
        self.started_at, self.dataset_id = utcnow(), dataset_id  # the id outlives a rollback; the row does not
        self.dataset: DatasetRow = visible_dataset(session, principal, dataset_id)
        require(principal, Action.IMPORT_RUN, dataset_id=dataset_id)
        self.question = _response_question(self.dataset, fmt, question)
        self.source = {"kind": SourceKind.IMPORT.value, "file": file_name}
        self.guideline_version = latest_version(session, dataset_id)
        self.report = ImportReport(file=file_name, format=fmt.value, sync=sync, dry_run=dry_run)
        self._seen: dict[str, str] = {}

    def run(self, items: Iterable[Item | Unreadable], *, batch_size: int, checkpoint: Callable[[], None]) -> ImportReport:
        for batch in _batches(items, batch_size):
            self._import_batch(batch)
            checkpoint()
        if self.report.sync:
            self._retire_missing()
        if not self.report.dry_run:
            outbox.record(self.session, kind=outbox.Kind.IMPORT, facts=self._facts(), started_at=self.started_at)
        checkpoint()
        return self.report

    def record_failure(self, session: Session, error: BaseException) -> None:
        """The FAIL row of a run that committed batches and then failed, in ``session``'s own
        transaction (the run's has rolled back). The error is named by its type: its message may
        quote the file."""
        facts = {**self._facts(), "error": type(error).__name__}
        outbox.record(session, kind=outbox.Kind.IMPORT, facts=facts, started_at=self.started_at, outcome=outbox.FAIL)

    def _facts(self) -> dict[str, Any]:
        counts = (
            "read", "records_added", "records_matched", "records_retired", "records_replaced", "annotations_added",
            "annotations_revised", "annotations_unchanged", "rejected", "conflicted",
        )  # fmt: skip
        return {
            "dataset_id": str(self.dataset_id), "file": self.source["file"], "format": self.report.format,
            "sync": self.report.sync, "guideline_version": self.guideline_version,
            "counts": {name: getattr(self.report, name) for name in counts},
        }  # fmt: skip

    def _import_batch(self, batch: list[Item | Unreadable]) -> None:
        good = [parsed for parsed in map(self._validate, batch) if parsed is not None]
        existing = self._active_records_by_prompt([g.prompt_sha256 for g in good]) if self.report.sync else {}
        now = utcnow()
        new_records, new_annotations, new_revisions = [], [], []
        matched: list[tuple[_Good, RecordRow]] = []
        replaced: list[uuid.UUID] = []
        for item in good:
            row = record_row(self.dataset, item.parsed.record, self.principal.id, now)
            known = existing.get(item.prompt_sha256)
            if known is not None and known.content_sha256 == row["content_sha256"]:
                matched.append((item, known))
                continue
            if known is not None:  # same prompt, other candidates: records never change, so replace it
                replaced.append(known.id)
            new_records.append(row)
            if item.parsed.response is not None:
                annotation, revision = self._annotation_rows(row, item.parsed.response, now)
                new_annotations.append(annotation)
                new_revisions.append(revision)
        self._sync_responses(matched, new_annotations, new_revisions, now)
        if replaced:
            reason = f"sync: its candidates changed in {self.source['file']}"
            retire_records(
                self.session, principal=self.principal, dataset_id=self.dataset.id, record_ids=replaced, reason=reason
            )
            self.report.records_replaced += len(replaced)
        insert_records(self.session, self.dataset.id, new_records)
        if new_annotations:
            self.session.execute(insert(AnnotationRow.__table__), new_annotations)  # Core: no ORM bulk overhead
        if new_revisions:
            self.session.execute(insert(RevisionRow.__table__), new_revisions)
        self.report.records_added += len(new_records)
        self.report.records_matched += len(matched)
        self.report.annotations_added += len(new_annotations)
        audit_log.append(
            self.session, actor=self.principal, action=Action.IMPORT_RUN, resource=f"dataset:{self.dataset.id}",
            dataset_id=self.dataset.id,
            details={"file": self.source["file"], "format": self.report.format, "items": len(batch),
                     "records_added": len(new_records), "records_replaced": len(replaced),
                     "annotations_added": len(new_annotations)},
        )

    def _validate(self, item: Item | Unreadable) -> _Good | None:
        self.report.read += 1
        if isinstance(item, Unreadable):
            self.report.reject(item.location, item.reason)
            return None
        if (found := bad_text(item.value)) is not None:
            where, problem = found
            return self.report.reject(item.location, f"{where or 'the item'}: {problem}")
        try:
            parsed = parse(self.fmt, item.value)
            if parsed.response is not None:
                validate_value(self.question, parsed.response, parsed.record.content)
        except FormatError as exc:
            return self.report.reject(item.location, str(exc))
        except ValidationError as exc:
            return self.report.reject(item.location, _first_problem(exc))
        except InvalidInput as exc:
            return self.report.reject(item.location, exc.message)
        if not self.report.sync:
            return _Good(item.location, parsed, None)  # the prompt hash matches records only in a sync
        prompt = prompt_hash(parsed.record.content["messages"], self.dataset.text_salt)
        if prompt in self._seen:
            return self.report.reject(item.location, f"the same prompt as {self._seen[prompt]}")
        self._seen[prompt] = item.location
        return _Good(item.location, parsed, prompt)

    def _annotation_rows(self, record: RecordRow | dict[str, Any], value: Any, now) -> tuple[dict, dict]:
        return new_annotation_rows(
            dataset=self.dataset,
            record=record,
            question=self.question.name,
            actor_id=self.principal.id,
            source=self.source,
            value=value,
            status="submitted",
            guideline_version=self.guideline_version,
            now=now,
        )

    def _active_records_by_prompt(self, prompts: list[str]) -> dict[str, RecordRow]:
        found: dict[str, RecordRow] = {}
        for start in range(0, len(prompts), _CHUNK):
            rows = self.session.scalars(
                select(RecordRow)
                .where(
                    RecordRow.dataset_id == self.dataset.id,
                    RecordRow.retired_at.is_(None),
                    RecordRow.prompt_sha256.in_(prompts[start : start + _CHUNK]),
                )
                .order_by(RecordRow.id)
            )
            for row in rows:
                found.setdefault(row.prompt_sha256, row)
        return found

    def _sync_responses(self, matched, new_annotations: list, new_revisions: list, now) -> None:
        """Bring the imported response of each matched record up to the file's."""
        with_response = [(item, record) for item, record in matched if item.parsed.response is not None]
        imported = self._imported_annotations([record.id for _item, record in with_response])
        for item, record in with_response:
            annotation = imported.get(record.id)
            if annotation is None:
                annotation_row, revision = self._annotation_rows(record, item.parsed.response, now)
                new_annotations.append(annotation_row)
                new_revisions.append(revision)
                continue
            row, current, touched_by_person, last_imported = annotation
            if item.parsed.response in (current.value, last_imported):
                # Unchanged upstream (a person's later change stands), or already the current value.
                self.report.annotations_unchanged += 1
            elif touched_by_person:
                self._conflict(item, record, row)
            else:
                new_revisions.append(self._revised(row, record, current, item.parsed.response, now))
                self.report.annotations_revised += 1

    def _imported_annotations(self, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple]:
        """Per record: the imported annotation, its current revision, whether a person touched it, and
        the value it was last imported with (what upstream said the last time)."""
        rows: list[AnnotationRow] = []
        for start in range(0, len(record_ids), _CHUNK):
            rows += self.session.scalars(
                select(AnnotationRow)
                .where(
                    AnnotationRow.record_id.in_(record_ids[start : start + _CHUNK]),
                    AnnotationRow.question == self.question.name,
                )
                .order_by(AnnotationRow.id)
            ).all()
        rows = [row for row in rows if row.source.get("kind") == SourceKind.IMPORT.value]
        touched, last_imported = self._revision_origins([row.id for row in rows])
        current = {}
        for start in range(0, len(rows), _CHUNK):
            current.update(current_revisions(self.session, [row.id for row in rows[start : start + _CHUNK]]))
        result: dict[uuid.UUID, tuple] = {}
        for row in rows:
            result.setdefault(row.record_id, (row, current[row.id], row.id in touched, last_imported[row.id]))
        return result

    def _revision_origins(self, annotation_ids: list[uuid.UUID]) -> tuple[set[uuid.UUID], dict[uuid.UUID, Any]]:
        """The annotations a person has touched, and each one's value in its latest imported revision."""
        touched: set[uuid.UUID] = set()
        last_imported: dict[uuid.UUID, Any] = {}
        for start in range(0, len(annotation_ids), _CHUNK):
            rows = self.session.execute(
                select(RevisionRow.annotation_id, RevisionRow.source, RevisionRow.value)
                .where(RevisionRow.annotation_id.in_(annotation_ids[start : start + _CHUNK]))
                .order_by(RevisionRow.annotation_id, RevisionRow.revision)
            )
            for annotation_id, source, value in rows:
                if source.get("kind") == SourceKind.IMPORT.value:
                    last_imported[annotation_id] = value
                else:
                    touched.add(annotation_id)
        return touched, last_imported

    def _revised(self, annotation: AnnotationRow, record: RecordRow, current: RevisionRow, value, now) -> dict:
        return revision_row(
            annotation_id=annotation.id,
            record_sha256=record.content_sha256,
            question=annotation.question,
            revision=current.revision + 1,
            kind="edit",
            actor_id=self.principal.id,
            source=self.source,
            guideline_version=self.guideline_version,
            value=value,
            status=current.status,
            reason=f"sync: the response changed upstream in {self.source['file']}",
            created_at=now,
            previous_sha256=current.sha256,
            salt=self.dataset.text_salt,
        )

    def _conflict(self, item: _Good, record: RecordRow, annotation: AnnotationRow) -> None:
        self.report.conflicted += 1
        if len(self.report.conflicts) < MAX_REPORTED:
            self.report.conflicts.append(
                {
                    "location": item.location,
                    "record_id": str(record.id),
                    "annotation_id": str(annotation.id),
                    "reason": "the response changed upstream, but a person has edited or reviewed it since",
                }
            )

    def _retire_missing(self) -> None:
        """Retire active records whose prompt the file no longer has (only after a clean read)."""
        if self.report.rejected:
            self.report.retirement_skipped = (
                f"{self.report.rejected} item(s) were rejected; their prompts cannot be told apart from "
                "removed ones, so nothing was retired. Fix them and sync again."
            )
            return
        if not self._seen:
            self.report.retirement_skipped = (
                "the file holds no items; syncing it would retire every record, so nothing was retired"
            )
            return
        rows = self.session.execute(
            select(RecordRow.id, RecordRow.prompt_sha256).where(
                RecordRow.dataset_id == self.dataset.id, RecordRow.retired_at.is_(None)
            )
        )
        missing = [record_id for record_id, prompt in rows if prompt not in self._seen]
        retire_records(
            self.session,
            principal=self.principal,
            dataset_id=self.dataset.id,
            record_ids=missing,
            reason=f"sync: no longer in {self.source['file']}",
        )
        self.report.records_retired = len(missing)


def run_import(
    session: Session,
    *,
    principal: Principal,
    source: Path | IO[bytes],
    fmt: Format | str,
    dataset_id: uuid.UUID | None = None,
    dataset_name: str | None = None,
    file_name: str | None = None,
    sync: bool = False,
    dry_run: bool = False,
    question: str | None = None,
    batch_size: int,
    max_bytes: int | None = None,
    max_line_bytes: int | None = None,
    max_depth: int = 64,
    commit_batches: bool = False,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> ImportReport:
    """Import a file or stream into a dataset (by id, or by name): the one import of the CLI, REST and GraphQL.

    ``source`` is read as it arrives: gzip is recognised by its magic bytes, a JSON array or JSON
    lines by the first byte, and more than ``max_bytes`` of it is refused (``InvalidInput``), as is a
file broken as a whole (``FileRefused``: a damaged gzip, not UTF-8, a line longer than
``max_line_bytes``, nesting deeper than ``max_depth``). The dataset, the permission and the
options are checked before the source is read. Items
    are imported ``batch_size`` at a time; ``progress`` wraps the items (a progress bar).

    The caller owns the transaction. Each batch is flushed into it, or, with ``commit_batches`` (the
    CLI), committed: a failure then leaves the batches committed before it, records the run as
    failed, and notes on the error (:class:`PartlyImported`) what stayed. A ``dry_run`` imports in a
    savepoint that it rolls back: the report says what the import would do, and nothing is written.
    """
    fmt = _format(fmt)
    if dataset_id is None:
        dataset_id = find_dataset_id(session, principal=principal, name=dataset_name)
    file_name = _file_name(file_name or (source.name if isinstance(source, Path) else "upload"))
    options = {"principal": principal, "dataset_id": dataset_id, "fmt": fmt, "file_name": file_name,
               "sync": sync, "dry_run": dry_run, "question": question}  # fmt: skip
    # The dataset, the permission and the options are checked before a byte of the source is read.
    importer = _Importer(session, **options)
    with open_source(source, max_bytes) as stream:
        items = iter_items(stream, max_line_bytes=max_line_bytes, max_depth=max_depth)
        items = progress(items) if progress is not None else items
        if dry_run:
            with session.begin_nested() as attempt:
                report = importer.run(items, batch_size=batch_size, checkpoint=session.flush)
                attempt.rollback()
            return report
        if not commit_batches:
            return importer.run(items, batch_size=batch_size, checkpoint=session.flush)
        return _committing_batches(session, importer, items, batch_size)


_FILE_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,200}$")


def _file_name(name: str) -> str:
    """The name the import's annotations carry as their source: a file's name, never a path."""
    if not _FILE_NAME.match(name) or name in (".", ".."):
        raise InvalidInput(
            "file_name: a file's name (at most 200 characters), without '/', '\\', '..' alone or control characters",
            {"file_name": name},
        )
    return name


def _committing_batches(session: Session, importer: _Importer, items: Iterable, batch_size: int) -> ImportReport:
    committed = 0  # batches: each commits whole, and stays when a later one fails

    def checkpoint() -> None:
        nonlocal committed
        session.commit()
        committed += 1

    try:
        return importer.run(items, batch_size=batch_size, checkpoint=checkpoint)
    except Exception as error:
        if committed:
            session.rollback()
            importer.record_failure(session, error)
            session.commit()
            error.add_note(str(PartlyImported(batches=committed, batch_size=batch_size)))
        raise


def _format(name: Format | str) -> Format:
    try:
        return Format(name)
    except ValueError:
        raise InvalidInput(f"format: one of {', '.join(f.value for f in Format)}", {"format": name}) from None


def _response_question(dataset: DatasetRow, fmt: Format, name: str | None):
    schema = label_schema_of(dataset)
    if name is not None:
        question = schema.question(name)
        if question.kind != RESPONSE_KIND[fmt]:
            raise InvalidInput(f"question '{name}' is a {question.kind} question; {fmt} responses need {RESPONSE_KIND[fmt]}")
        return question
    for question in schema.questions:
        if question.kind == RESPONSE_KIND[fmt]:
            return question
    raise InvalidInput(
        f"the dataset has no {RESPONSE_KIND[fmt]} question to hold {fmt} responses",
        {"needed_kind": RESPONSE_KIND[fmt]},
    )


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(map(str, error['loc'])) or 'record'}: {error['msg']}"


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
