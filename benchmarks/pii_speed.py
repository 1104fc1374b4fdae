"""Masking speed of the pii pipeline against a naive Presidio loop and against bare spaCy.

The texts are the ``full_text`` of Presidio's generated data set (2,109 texts, 83 characters on
average), repeated to reach ``--texts`` (5,000 by default). Three arms mask the same texts in this
one run, with the default ``ScannerConfig()`` (ner mode):

1. pipeline: ``pii.ParallelScanner`` with ``--workers`` processes, what ``labeltrail pii mask
   --workers N`` scans with: chunks of texts go to worker processes, each of which built its
   scanner once (Presidio's ``BatchAnalyzerEngine`` over spaCy's ``nlp.pipe``, then the anonymizer).
2. naive: what one writes first: in this one process, an ``AnalyzerEngine`` on a stock
   ``NlpEngineProvider`` engine for the same model and NLP configuration (all the model's spaCy
   components), with the rest of the pipeline's analyzer (its registry, so the same recognizers,
   its threshold and context enhancer) and the same entities and allow list; then
   ``AnonymizerEngine.anonymize`` with the same operators; text by text in a plain loop.
3. bare spaCy: ``nlp.pipe`` with the spaCy components the pipeline runs (the pipeline's own NLP
   engine, from ``pii.nlp.build_nlp_engine``), in a pool of ``--workers`` processes fed the same
   chunks, returning the entities: the limit, all of the pipeline's work but Presidio's.

Loading is not timed: each arm loads its models and masks some texts first (the pipeline and
bare spaCy ``2 * workers`` chunks, so that every worker has loaded). The arms then alternate for
``--rounds`` rounds (3 by default); each arm's best time counts, as the machine may be shared.

Figures:

- seconds and texts/s per arm; speedup_vs_naive = naive time / pipeline time; slowdown_vs_spacy
  = pipeline time / bare spaCy time.
- span_agreement = |P & N| / |P | N|, over findings (text index, entity type, start, end) in raw
  offsets. P: the pipeline's ``Masked.findings``. N: the spans the naive loop's anonymizer
  replaced: its analyzer results through the anonymizer's own conflict resolution and merge (run
  again, untimed, as its result gives only masked-text offsets), a span partly overlapped by the
  next cut at the next one's start, as the anonymizer cuts it. Also printed: the share of texts
  masked to the same text, and the characters the naive loop masks that the pipeline leaves.
- peak_rss_mb: the pipeline arm's peak resident memory summed over its processes: this process's
  ``getrusage(RUSAGE_SELF).ru_maxrss`` after the pipeline's first round (before any other arm
  loads a model here or starts a process) plus each pipeline worker's own peak, the kernel's
  ``VmHWM`` of /proc/PID/status (the counter ``ru_maxrss`` reads), taken after the last round
  while the workers still run (``RUSAGE_CHILDREN`` would give only the largest child's, and only
  once it has ended). psutil is not used: it has no peak RSS on Linux. Pages shared by the
  processes (libraries, the forked interpreter) count in each, so the sum overstates.

Then the catalog's two masking paths, on the same records (GPTeacher roleplay, 3,146 records, by
default; ``--server-data``), each on a fresh SQLite database of its own in a temporary folder:

4. serve: ``labeltrail serve`` as a subprocess with ``LABELTRAIL_PII_WORKERS=--workers``; once it
   answers ``/health`` and its masking workers are ready (its ``masking_workers_ready`` log line),
   the records are imported (the import service, one transaction, as a REST import commits), and
   the backlog is polled (``catalog.pii_gate.service.backlog``, a read, every 0.1 s) until it is
   zero. serve_s runs from the import's commit to that zero: the loop's wait for its next look
   (``LABELTRAIL_PII_INTERVAL_SECONDS``, 2 s) included, its start not.
5. cli: the same import, then ``labeltrail pii mask --workers W`` as a subprocess; cli_s is its
   wall time, start (imports, the model, the workers) included, as a user waits for it.

serve_vs_cli = serve records/s / cli records/s (goal at least 0.8). ``--no-server`` skips 4 and 5.

The last line of output is one JSON object: {"speedup_vs_naive", "slowdown_vs_spacy",
"span_agreement", "peak_rss_mb", ..., "serve_records_per_s", "cli_records_per_s", "serve_vs_cli"}.
"""

import argparse
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import ConflictResolutionStrategy, OperatorConfig

import pii  # noqa: F401  (first: it keeps tldextract offline before Presidio is imported)
from catalog.access.service import system_principal
from catalog.core import migrate
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.datasets import service as datasets
from catalog.datasets.schemas import DatasetCreate
from catalog.importing.service import run_import
from catalog.pii_gate.service import backlog
from pii import Masked, ParallelScanner, ScannerConfig
from pii.analyzer import build_analyzer
from pii.nlp import build_nlp_engine
from pii.parallel import CHUNK

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = SHARED / "pii" / "presidio_generated_large.json"
SERVER_DATA = SHARED / "instruct" / "gpteacher_roleplay_v1.json"
LABELTRAIL = [sys.executable, "-c", "from api.cli.main import app; app()"]  # the `labeltrail` program

Finding = tuple[str, int, int]  # entity type, start, end
Span = tuple[int, str, int, int]  # text index, entity type, start, end


def load_texts(path: Path, count: int) -> list[str]:
    if not path.is_file():
        sys.exit(f"pii_speed: the data set {path} is missing (a JSON list of items with full_text; see --data)")
    base = [item["full_text"] for item in json.loads(path.read_text(encoding="utf-8"))]
    if not base:
        sys.exit(f"pii_speed: {path} has no texts")
    return [base[i % len(base)] for i in range(count)]


def warm_up_set(texts: list[str], workers: int) -> list[str]:
    return texts[: 2 * workers * CHUNK]


Run = Callable[[list[str]], Any]  # an arm, loaded and warmed up: masks the texts given


# --- 1. pipeline ---------------------------------------------------------------------------------


def pipeline_arm(config: ScannerConfig, texts: list[str], workers: int, stack: ExitStack) -> Run:
    scanner = stack.enter_context(ParallelScanner(config, workers))
    scanner.scan_many(warm_up_set(texts, workers))
    return scanner.scan_many


def vm_hwm_mb(pid: int) -> float:
    """A process's peak resident set size, as the kernel counts it (``ru_maxrss`` reads it too)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def main_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- 2. naive ------------------------------------------------------------------------------------


def naive_arm(config: ScannerConfig, texts: list[str], workers: int, stack: ExitStack) -> Run:
    nlp_engine = NlpEngineProvider(nlp_configuration=config.effective_nlp_configuration()).create_engine()
    pipelines = build_analyzer(config)  # the pipeline's analyzer: all of it is taken but its NLP engine
    analyzer = AnalyzerEngine(
        registry=pipelines.registry,
        nlp_engine=nlp_engine,
        supported_languages=pipelines.supported_languages,
        default_score_threshold=pipelines.default_score_threshold,
        context_aware_enhancer=pipelines.context_aware_enhancer,
    )
    del pipelines
    anonymizer = AnonymizerEngine()
    operators = {entity: OperatorConfig(spec.type, dict(spec.params)) for entity, spec in config.operators.items()}

    def run(chosen: list[str]) -> tuple[list[str], list[list[RecognizerResult]]]:
        masked, found = [], []
        for text in chosen:
            results = analyzer.analyze(
                text=text, language=config.language, entities=config.entities, allow_list=config.allow_list
            )
            masked.append(anonymizer.anonymize(text=text, analyzer_results=results, operators=operators).text)
            found.append(results)
        return masked, found

    run(texts[:100])
    return run


def replaced_spans(anonymizer: AnonymizerEngine, text: str, results: list[RecognizerResult]) -> list[Finding]:
    """The raw spans ``anonymize`` replaces for these analyzer results: its own conflict
    resolution and merge, run again; a span partly overlapped by the next is cut there, as it is."""
    ordered = sorted(anonymizer._copy_recognizer_results(results), key=lambda r: (r.start, r.end))
    kept = anonymizer._remove_conflicts_and_get_text_manipulation_data(
        ordered, ConflictResolutionStrategy.MERGE_SIMILAR_OR_CONTAINED
    )
    merged = sorted(anonymizer._merge_entities_with_spaces_between(text, kept), key=lambda r: r.start)
    ends = [min(r.end, after.start) for r, after in zip(merged, merged[1:])] + [r.end for r in merged[-1:]]
    return [(r.entity_type, r.start, end) for r, end in zip(merged, ends)]


# --- 3. bare spaCy -------------------------------------------------------------------------------

_nlp = None  # in a spacy-arm worker: the pipeline's spaCy pipeline


def _load_nlp(config: ScannerConfig) -> None:
    global _nlp
    _nlp = build_nlp_engine(config).get_nlp(config.language)


def _pipe(texts: list[str]) -> list[list[tuple[str, int, int]]]:
    return [[(ent.label_, ent.start_char, ent.end_char) for ent in doc.ents] for doc in _nlp.pipe(texts, batch_size=64)]


def _components() -> list[str]:
    return list(_nlp.pipe_names)


def spacy_arm(config: ScannerConfig, texts: list[str], workers: int, stack: ExitStack) -> Run:
    pool = stack.enter_context(ProcessPoolExecutor(workers, initializer=_load_nlp, initargs=(config,)))

    def run(chosen: list[str]) -> list[str]:
        size = min(CHUNK, -(-len(chosen) // workers))  # the chunks ParallelScanner makes
        list(pool.map(_pipe, [chosen[start : start + size] for start in range(0, len(chosen), size)]))
        return pool.submit(_components).result()

    run(warm_up_set(texts, workers))
    return run


# --- 4. and 5. the catalog: serve's masking loop against `pii mask` ----------------------------


def fresh_database(folder: Path, name: str, data: Path) -> tuple[str, Any, Callable[[], int]]:
    """A migrated SQLite database with an empty dataset; returns its URL, its sessions and a
    function that imports ``data`` (alpaca format) into it in one transaction and returns the
    records written."""
    url = f"sqlite:///{folder / name}"
    migrate.upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    with transaction(sessions, write=True) as session:
        schema = {"questions": [{"name": "response", "kind": "text"}]}
        datasets.create_dataset(session, principal=system_principal(session), data=DatasetCreate(name="bench", label_schema=schema))

    def load() -> int:
        with transaction(sessions, write=True) as session:
            report = run_import(session, principal=system_principal(session), source=data, fmt="alpaca",
                                dataset_name="bench", batch_size=1000)  # fmt: skip
        return report.records_added

    return url, sessions, load


def waiting(sessions) -> int:
    with transaction(sessions) as session:
        return backlog(session).total


def free_port() -> int:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        return listening.getsockname()[1]


def catalog_env(url: str, workers: int, **more: str) -> dict[str, str]:
    return {**os.environ, "LABELTRAIL_DATABASE_URL": url, "LABELTRAIL_PII_WORKERS": str(workers),
            "LABELTRAIL_LOG_LEVEL": "INFO", **more}  # fmt: skip


def serve_arm(data: Path, workers: int, folder: Path) -> dict[str, Any]:
    url, sessions, load = fresh_database(folder, "serve.db", data)
    port = free_port()
    log_path = folder / "serve.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen([*LABELTRAIL, "serve"], env=catalog_env(url, workers, LABELTRAIL_PORT=str(port)),
                                  stdout=log_file, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            started = time.perf_counter()
            while not ready(port, log_path, workers):
                if server.poll() is not None or time.perf_counter() - started > 300:
                    sys.exit(f"pii_speed: serve did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            start_s = time.perf_counter() - started
            imported = time.perf_counter()
            records = load()
            committed = time.perf_counter()
            while waiting(sessions):
                time.sleep(0.1)
            done = time.perf_counter()
        finally:
            server.terminate()
            server.wait(60)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    batches = [line for line in lines if line.get("event") == "masking_batch"]
    return {"records": records, "seconds": done - committed, "import_s": committed - imported, "start_s": start_s,
            "batches": len(batches), "last_batch": batches[-1] if batches else None}  # fmt: skip


def ready(port: int, log_path: Path, workers: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
            if answer.status != 200:
                return False
    except OSError:
        return False
    return workers <= 1 or "masking_workers_ready" in log_path.read_text()


def cli_arm(data: Path, workers: int, folder: Path) -> dict[str, Any]:
    url, sessions, load = fresh_database(folder, "cli.db", data)
    records = load()
    started = time.perf_counter()
    masking = subprocess.run([*LABELTRAIL, "pii", "mask", "--workers", str(workers)], env=catalog_env(url, workers),
                             capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - started
    if masking.returncode != 0 or waiting(sessions):
        sys.exit(f"pii_speed: pii mask failed:\n{masking.stdout[-2000:]}{masking.stderr[-2000:]}")
    return {"records": records, "seconds": seconds, "output": masking.stdout.strip().splitlines()[-1]}


def catalog_paths(data: Path, workers: int) -> dict[str, Any]:
    if not data.is_file():
        sys.exit(f"pii_speed: the data set {data} is missing (alpaca-format JSON; see --server-data)")
    with tempfile.TemporaryDirectory(prefix="pii_speed_") as folder:
        served = serve_arm(data, workers, Path(folder))
        cli = cli_arm(data, workers, Path(folder))
    serve_rate, cli_rate = served["records"] / served["seconds"], cli["records"] / cli["seconds"]
    print()
    print(f"catalog, {served['records']} records of {data.name}, {workers} scanning processes:")
    print(f"  serve: {served['seconds']:.2f} s from the import's commit to an empty backlog, {serve_rate:.0f} "
          f"records/s, {served['batches']} batches (import {served['import_s']:.2f} s, start {served['start_s']:.1f} s)")
    print(f"  cli:   {cli['seconds']:.2f} s for `pii mask --workers {workers}`, start included, {cli_rate:.0f} "
          f"records/s ({cli['output']})")
    print(f"  serve_vs_cli {serve_rate / cli_rate:.2f}  (goal >= 0.8)")
    return {
        "serve_records_per_s": round(serve_rate, 1),
        "cli_records_per_s": round(cli_rate, 1),
        "serve_vs_cli": round(serve_rate / cli_rate, 3),
        "serve_s": round(served["seconds"], 2),
        "cli_s": round(cli["seconds"], 2),
        "serve_start_s": round(served["start_s"], 1),
        "catalog_records": served["records"],
        "catalog_workers": workers,
    }


# --- report --------------------------------------------------------------------------------------

ARMS: dict[str, Callable[[ScannerConfig, list[str], int, ExitStack], Run]] = {
    "pipeline": pipeline_arm,
    "bare spaCy": spacy_arm,  # before naive loads a model here, so its workers fork from a lean process
    "naive": naive_arm,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000, help="texts to mask (the data set repeated)")
    parser.add_argument("--workers", type=int, default=2, help="processes of the pipeline and spacy arms")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each arm, alternating; the best counts")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--show-differences", type=int, default=0, metavar="N", help="print N texts found differently")
    parser.add_argument("--server-data", type=Path, default=SERVER_DATA, help="alpaca-format records for serve and cli")
    parser.add_argument("--no-server", action="store_true", help="skip serve against `pii mask`")
    args = parser.parse_args()

    texts = load_texts(args.data, args.texts)
    config = ScannerConfig()
    load_before = os.getloadavg()[0]
    print(f"{len(texts)} texts ({sum(map(len, texts)) / len(texts):.0f} characters on average), {args.workers} "
          f"workers, {args.rounds} rounds, {os.cpu_count()} CPUs, load average {load_before:.2f}")

    seconds: dict[str, list[float]] = {name: [] for name in ARMS}
    output: dict[str, Any] = {}
    runs: dict[str, Run] = {}
    with ExitStack() as stack:
        for _ in range(args.rounds):
            for name, arm in ARMS.items():
                if name not in runs:
                    runs[name] = arm(config, texts, args.workers, stack)  # loads and warms up, not timed
                start = time.perf_counter()
                output[name] = runs[name](texts)
                seconds[name].append(time.perf_counter() - start)
                if name == "pipeline" and len(runs) == 1:  # no other arm has loaded anything or started processes
                    main_mb = main_peak_mb()
                    worker_pids = [child.pid for child in multiprocessing.active_children()]
        workers_mb = sorted(vm_hwm_mb(pid) for pid in worker_pids)
    best = {name: min(times) for name, times in seconds.items()}
    peak_rss_mb = main_mb + sum(workers_mb)

    pipeline: list[Masked] = output["pipeline"]
    naive_masked, naive_found = output["naive"]
    mine = {(i, f.entity_type, f.start, f.end) for i, masked in enumerate(pipeline) for f in masked.findings}
    anonymizer = AnonymizerEngine()
    theirs = {
        (i, *span)
        for i, (text, found) in enumerate(zip(texts, naive_found))
        for span in replaced_spans(anonymizer, text, found)
    }
    span_agreement = len(mine & theirs) / max(len(mine | theirs), 1)
    left_raw = characters(theirs) - characters(mine)  # what the naive loop masks and the pipeline leaves
    same_text = sum(m.text == n for m, n in zip(pipeline, naive_masked)) / len(texts)
    pipeline_s, naive_s, spacy_s = best["pipeline"], best["naive"], best["bare spaCy"]

    print()
    print("| arm | processes | seconds | texts/s |")
    print("| --- | --- | --- | --- |")
    for name in ARMS:
        processes = 1 if name == "naive" else args.workers
        print(f"| {name} | {processes} | {best[name]:.2f} | {len(texts) / best[name]:,.0f} |")
    print()
    print(f"spaCy components run by the pipeline and bare spaCy: {', '.join(output['bare spaCy'])}")
    print(f"speedup_vs_naive  {naive_s / pipeline_s:.2f}  (goal >= 3)")
    print(f"slowdown_vs_spacy {pipeline_s / spacy_s:.2f}  (goal <= 1.5)")
    print(f"span_agreement    {span_agreement:.4f}  (goal >= 0.99): {len(mine & theirs)} findings in both, "
          f"{len(mine - theirs)} only in the pipeline's, {len(theirs - mine)} only in the naive loop's")
    print(f"masked texts the same in both: {same_text:.4f}; characters the naive loop masks and the pipeline "
          f"does not: {len(left_raw)} (of {len(characters(theirs))})")
    print(f"peak_rss_mb       {peak_rss_mb:.0f}  (goal < 1536): main {main_mb:.0f} + workers "
          f"{' + '.join(f'{mb:.0f}' for mb in workers_mb)}")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    if args.show_differences:
        show_differences(texts, mine, theirs, args.show_differences)
    figures = {
        "speedup_vs_naive": round(naive_s / pipeline_s, 2),
        "slowdown_vs_spacy": round(pipeline_s / spacy_s, 3),
        "span_agreement": round(span_agreement, 4),
        "peak_rss_mb": round(peak_rss_mb),
        "masked_text_agreement": round(same_text, 4),
        "characters_masked_by_naive_only": len(left_raw),
        "texts": len(texts),
        "workers": args.workers,
        "rounds": args.rounds,
        **{f"{name.split()[-1].lower()}_s": round(best[name], 2) for name in ARMS},
        "rounds_s": {name.split()[-1].lower(): [round(t, 2) for t in times] for name, times in seconds.items()},
        "spacy_components": output["bare spaCy"],
        "load_average": round(load_before, 2),
    }
    if not args.no_server:
        figures.update(catalog_paths(args.server_data, args.workers))
        figures["load_average_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


def characters(spans: set[Span]) -> set[tuple[int, int]]:
    """(text index, offset) of every character inside one of the spans."""
    return {(index, offset) for index, _, start, end in spans for offset in range(start, end)}


def show_differences(texts: list[str], mine: set[Span], theirs: set[Span], limit: int) -> None:
    """A few texts whose findings differ (each text once: the data set repeats)."""
    shown: set[str] = set()
    for index in sorted({span[0] for span in mine ^ theirs}):
        text = texts[index]
        if text in shown or len(shown) >= limit:
            continue
        shown.add(text)
        print(f"\n{text!r}")
        for label, spans in (("pipeline only", mine - theirs), ("naive only   ", theirs - mine)):
            for _, kind, start, end in sorted(span for span in spans if span[0] == index):
                print(f"  {label}: {kind} {text[start:end]!r} [{start}:{end}]")


if __name__ == "__main__":
    main()
