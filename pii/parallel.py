"""Scanning in several processes: spaCy and Presidio hold the GIL, so threads would not help."""

import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType

from pii.config import ScannerConfig
from pii.results import Masked
from pii.scanner import get_scanner

CHUNK = 250  # texts per task: enough to amortise pickling and fill spaCy's batches

_config: ScannerConfig | None = None  # in a worker: the configuration it scans with


class ParallelScanner:
    """Masks texts in ``workers`` processes, each building its scanner once, when it starts.

    ``scan_many`` gives what ``Scanner.scan_many`` gives, in the same order. Close it (or use it
    as a context manager) to stop the workers.
    """

    def __init__(self, config: ScannerConfig, workers: int, *, chunk: int = CHUNK, start_method: str | None = None):
        """``start_method``: how the workers start (``multiprocessing``'s ``fork``, ``forkserver``,
        ``spawn``); the platform's default when None. A process that runs threads (a server)
        should not fork: ``forkserver`` starts them from a clean process instead."""
        if workers < 1 or chunk < 1:
            raise ValueError("workers and chunk must be at least 1")
        self.config = config
        self.workers = workers
        self._chunk = chunk
        context = multiprocessing.get_context(start_method) if start_method else None
        self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(config,))

    def warm_up(self) -> None:
        """Start every worker and let it build its scanner, so the first real batch waits for neither."""
        self.scan_many(["warm up"] * self.workers)

    def scan_many(self, texts: list[str], batch_size: int = 64) -> list[Masked]:
        """Mask each text; chunks of texts go to the workers, which run ``nlp.pipe`` over them."""
        size = max(1, min(self._chunk, -(-len(texts) // self.workers)))  # a small batch still uses every worker
        chunks = [texts[start : start + size] for start in range(0, len(texts), size)]
        done = self._pool.map(_scan_chunk, chunks, [batch_size] * len(chunks))
        return [masked for chunk in done for masked in chunk]

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> "ParallelScanner":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _start_worker(config: ScannerConfig) -> None:
    global _config
    _config = config
    _exit_with_parent()
    with contextlib.suppress(Exception):  # the first scan raises it again, where the caller sees it
        get_scanner(config)
    gc.freeze()  # the model and the recognizers live as long as the worker: the collector can skip them


def _exit_with_parent() -> None:
    """End this worker when the process that started it dies, however it dies. A pool's workers
    wait on their task queue and would outlive a parent killed with SIGKILL, holding a model each."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])  # readable once the parent is gone
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _scan_chunk(texts: list[str], batch_size: int) -> list[Masked]:
    assert _config is not None, "runs in a worker started by _start_worker"
    return get_scanner(_config).scan_many(texts, batch_size=batch_size)
