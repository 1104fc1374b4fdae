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
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack

from sqlalchemy.orm import Session, sessionmaker

import pii
from catalog.core.db import transaction
from catalog.core.logging import get_logger
from catalog.pii_gate.service import (
    Masked,
    MaskRun,
    Scan,
    backlog,
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
    scan: Scan | None = None,
) -> MaskRun:
    """Mask every pending record and then every pending imported revision (or, given a dataset,
    re-mask every record of it that another detector masked), one committed batch at a time;
    ``on_batch`` hears of each batch. Scans with ``scan`` when given (a caller that keeps its
    workers between runs), else with ``workers`` processes started for this run. Returns the totals."""
    with ExitStack() as stack:
        scan = scan or _scanning(config, workers, stack)
        done = _mask_records(sessions, scan, config, batch_size, dataset_id, on_batch)
        if dataset_id is None:
            revisions = _mask_pending_revisions(sessions, scan, batch_size, on_batch)
            done = MaskRun(records=done.records, findings=done.findings, revisions=revisions)
        return done


def _mask_records(
    sessions: sessionmaker[Session], scan: Scan, config: ScannerConfig, batch_size: int,
    dataset_id: uuid.UUID | None, on_batch: Callable[[MaskRun], None] | None,
) -> MaskRun:  # fmt: skip
    version = detector_version(config)
    which = outdated(dataset_id, version) if dataset_id else pending()
    records = findings = 0
    while True:
        ahead = _scanned_first(sessions, scan, lambda session: next_batch_texts(session, limit=batch_size, which=which))
        with transaction(sessions, write=True) as session:
            run = mask_batch(session, scan=ahead, detector_version=version, limit=batch_size, which=which)
        if run.records == 0:
            return MaskRun(records=records, findings=findings)
        records, findings = records + run.records, findings + run.findings
        if on_batch:
            on_batch(run)


def _mask_pending_revisions(
    sessions: sessionmaker[Session], scan: Scan, batch_size: int, on_batch: Callable[[MaskRun], None] | None
) -> int:
    """Imported annotation revisions: their free text, masked like their records'."""
    total = 0
    while True:
        ahead = _scanned_first(sessions, scan, lambda session: next_revision_texts(session, limit=batch_size))
        with transaction(sessions, write=True) as session:
            masked = mask_revision_batch(session, scan=ahead, limit=batch_size)
        if masked == 0:
            return total
        total += masked
        if on_batch:
            on_batch(MaskRun(records=0, findings=0, revisions=masked))


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
    """Masks new records in the background of ``labeltrail serve``: whenever something awaits
    masking (looked at every ``interval`` seconds, with a plain read), until nothing does.

    With ``workers > 1`` it scans in that many processes (``pii.ParallelScanner``, as ``labeltrail
    pii mask --workers N`` does), started once, from a fork server (the server's process runs
    threads, which forking would copy mid-work), and kept for the life of the loop. Each batch
    is logged (``masking_batch``: what it masked, the backlog left, the rate), and each run
    that masked something once more at its end (``masking_done``).
    """

    def __init__(
        self, sessions: sessionmaker[Session], config: ScannerConfig, *, batch_size: int, interval: float,
        workers: int = 1,
    ):  # fmt: skip
        super().__init__(name="pii-masking", daemon=True)
        self._sessions, self._config = sessions, config
        self._batch_size, self._interval, self._workers = batch_size, interval, workers
        self._stopped = threading.Event()
        self._lock = threading.Lock()  # guards _scanner between the loop and stop()
        self._scanner: pii.ParallelScanner | None = None

    def run(self) -> None:
        pii.get_scanner(self._config)  # load the models before the first record (or annotation) arrives
        try:
            while not self._stopped.is_set():
                try:
                    self._mask_backlog(self._scan())
                except Exception as error:  # noqa: BLE001 - keep serving; the records stay pending and are retried
                    if self._stopped.is_set():
                        break  # stop() closed the workers under a batch; it stays pending
                    log.exception("masking_failed", hint="pending records are retried")
                    if isinstance(error, BrokenProcessPool):
                        self._close_workers()  # a worker died (killed, out of memory): start new ones
                self._stopped.wait(self._interval)
        finally:
            self._close_workers()

    def _scan(self) -> Scan:
        """This process's scanner, or the worker processes, started on first use and then kept."""
        if self._workers <= 1:
            return pii.get_scanner(self._config).scan_many
        with self._lock:
            if self._stopped.is_set():
                raise RuntimeError("the masking loop is stopping")
            scanner, fresh = self._scanner, self._scanner is None
            if scanner is None:
                scanner = self._scanner = pii.ParallelScanner(self._config, self._workers, start_method="forkserver")
        if fresh:
            scanner.warm_up()
            log.info("masking_workers_ready", workers=self._workers)
        return scanner.scan_many

    def _close_workers(self) -> None:
        with self._lock:
            scanner, self._scanner = self._scanner, None
        if scanner is not None:
            scanner.close()

    def stop(self) -> None:
        """Stop looking, and end the worker processes now (a batch under way stays pending): the
        thread is a daemon, and a server that exits without closing them would leave them behind."""
        self._stopped.set()
        self._close_workers()

    def _mask_backlog(self, scan: Scan) -> None:
        with transaction(self._sessions) as session:
            waiting = backlog(session)
        if waiting.total == 0:  # nothing to do: no write transaction, no lock taken
            return
        log.info("masking_started", backlog_records=waiting.pending_records, backlog_revisions=waiting.pending_revisions,
                 workers=self._workers)  # fmt: skip
        started = last = time.perf_counter()

        def logged(run: MaskRun) -> None:
            nonlocal last
            now = time.perf_counter()
            with transaction(self._sessions) as session:
                left = backlog(session)
            log.info(
                "masking_batch", records=run.records, revisions=run.revisions, findings=run.findings,
                backlog_records=left.pending_records, backlog_revisions=left.pending_revisions, seconds=round(now - last, 2),
                per_second=round((run.records + run.revisions) / max(now - last, 1e-9), 1),
            )  # fmt: skip
            last = now

        done = mask_all(self._sessions, self._config, batch_size=self._batch_size, scan=scan, on_batch=logged)
        seconds = time.perf_counter() - started
        log.info(
            "masking_done", records=done.records, revisions=done.revisions, findings=done.findings,
            seconds=round(seconds, 2), per_second=round((done.records + done.revisions) / max(seconds, 1e-9), 1),
        )  # fmt: skip

