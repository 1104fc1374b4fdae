"""Running the PII gate: batches of pending records masked until none is left, once or in a loop.

Scanning (spaCy NER above all) is the slow part, so with ``workers > 1`` the texts of a batch are
scanned in worker processes (``pii.ParallelScanner``), each building its scanner once; the batch
is still read and written by this process, in one transaction per batch, so it works the same on
SQLite and PostgreSQL.

On SQLite a writer holds the whole database, so a batch's texts are scanned first, in a read
transaction, and the write lock is held only to write the results (:func:`_scanned_first`):
an import or a request beside ``serve`` waits for a write, never for NER. PostgreSQL locks the
batch's rows only (``SKIP LOCKED``), so there the scan runs inside the writing transaction and
several workers never scan the same rows.
"""

import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from sqlalchemy.orm import Session, sessionmaker

import pii
from catalog.core.db import transaction
from catalog.core.logging import get_logger
from catalog.pii_gate.service import (
    Masked,
    MaskRun,
    Scan,
    mask_batch,
    mask_revision_batch,
    next_batch_texts,
    next_revision_texts,
    outdated,
    pending,
)
from pii import ScannerConfig, detector_version

log = get_logger(__name__)


def mask_all(
    sessions: sessionmaker[Session],
    config: ScannerConfig,
    *,
    batch_size: int,
    workers: int = 1,
    dataset_id: uuid.UUID | None = None,
    on_batch: Callable[[MaskRun], None] | None = None,
) -> MaskRun:
    """Mask every pending record (or, given a dataset, re-mask every record of it that another
    detector masked), one committed batch at a time; returns the totals."""
    version = detector_version(config)
    which = outdated(dataset_id, version) if dataset_id else pending()
    records = findings = 0
    with ExitStack() as stack:
        scan = _scanning(config, workers, stack)
        while True:
            ahead = _scanned_first(sessions, scan, lambda session: next_batch_texts(session, limit=batch_size, which=which))
            with transaction(sessions, write=True) as session:
                run = mask_batch(session, scan=ahead, detector_version=version, limit=batch_size, which=which)
            if run.records == 0:
                if dataset_id is None:
                    _mask_pending_revisions(sessions, scan, batch_size)
                return MaskRun(records=records, findings=findings)
            records, findings = records + run.records, findings + run.findings
            if on_batch:
                on_batch(run)


def _mask_pending_revisions(sessions: sessionmaker[Session], scan, batch_size: int) -> None:
    """Imported annotation revisions: their free text, masked like their records'."""
    while True:
        ahead = _scanned_first(sessions, scan, lambda session: next_revision_texts(session, limit=batch_size))
        with transaction(sessions, write=True) as session:
            if mask_revision_batch(session, scan=ahead, limit=batch_size) == 0:
                return


def _scanned_first(sessions: sessionmaker[Session], scan: Scan, next_texts: Callable[[Session], list[str]]) -> Scan:
    """On SQLite, scan the next batch's texts before the write transaction begins, and return a
    scan that answers from those results (scanning only what changed in between). Elsewhere,
    ``scan`` itself."""
    if sessions.kw["bind"].dialect.name != "sqlite":
        return scan
    with transaction(sessions) as session:
        texts = next_texts(session)
    done = dict(zip(texts, scan(texts), strict=True)) if texts else {}

    def from_done(wanted: list[str]) -> Sequence[Masked]:
        missing = [text for text in dict.fromkeys(wanted) if text not in done]
        if missing:
            done.update(zip(missing, scan(missing), strict=True))
        return [done[text] for text in wanted]

    return from_done


def _scanning(config: ScannerConfig, workers: int, stack: ExitStack) -> Callable[[list[str]], Sequence[Masked]]:
    if workers <= 1:
        return pii.get_scanner(config).scan_many
    return stack.enter_context(pii.ParallelScanner(config, workers)).scan_many


class MaskingLoop(threading.Thread):
    """Masks new records in the background of ``labeltrail serve``, every ``interval`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], config: ScannerConfig, *, batch_size: int, interval: float):
        super().__init__(name="pii-masking", daemon=True)
        self._sessions, self._config = sessions, config
        self._batch_size, self._interval = batch_size, interval
        self._stopped = threading.Event()

    def run(self) -> None:
        pii.get_scanner(self._config)  # load the models before the first record arrives
        while not self._stopped.is_set():
            try:
                done = mask_all(self._sessions, self._config, batch_size=self._batch_size)
                if done.records:
                    log.info("records masked", records=done.records, findings=done.findings)
            except Exception:  # noqa: BLE001 - keep serving; the records stay pending and are retried
                log.exception("masking failed; pending records are retried")
            self._stopped.wait(self._interval)

    def stop(self) -> None:
        self._stopped.set()
