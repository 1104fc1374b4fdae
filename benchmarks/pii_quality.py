"""Detection quality of the pii scanner against stock Presidio, on Presidio's generated data set.

What is measured, at CHARACTER level and with whitespace characters left out of every count:

- recall: labelled characters that were masked, by any finding whatever its type, over labelled
  characters. Per dataset entity type, and overall (over the union of all labelled spans).
- typed recall: the same, counting only findings of a Presidio type that corresponds to the
  dataset type (``LABELS`` below; the mapping is published in docs/pii.md).
- precision: masked characters that fall inside some labelled span, of any type, over masked
  characters. Every labelled type counts as correct, TITLE, PREFIX and DATE_TIME too: they are
  labelled, so masking them is right. Per dataset type it is the precision of the findings of the
  Presidio types that correspond to it, whose masked characters the table shows too (so ADDRESS
  and LOCATION, which share ADDRESS and LOCATION, share a figure); a type that no finding
  corresponds to has none. A second list gives the precision of each Presidio type found.

Two arms run over the same texts:

1. project: ``pii.get_scanner(ScannerConfig())``, the default configuration (ner mode);
2. baseline: stock Presidio, an ``AnalyzerEngine`` with its default registry and threshold, on an
   ``NlpEngineProvider`` given Presidio's default NLP configuration with the same spaCy model.

The data (``--data``, by default the large file) is a JSON list of items with ``full_text`` and
``spans`` [{entity_type, entity_value, start_position, end_position (exclusive)}]. A span whose
offsets do not slice its value is moved to the nearest occurrence of the value and reported (or
dropped and reported, if the text has none). The last line of output is one JSON object:
{"recall", "precision", "per_type": {TYPE: {"recall", "precision"}}, "baseline": {"recall", "precision"}}.
"""

import argparse
import copy
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from tqdm import tqdm

import pii  # noqa: F401  (first: it keeps tldextract offline before Presidio is imported)
from pii import DEFAULT_MODEL, ScannerConfig, get_scanner

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "pii"  # shared/ beside the repo
DEFAULT_DATA = DATA_DIR / "presidio_generated_large.json"
CHUNK = 256  # texts per call, for the progress bar
BATCH = 64  # texts per spaCy batch, in both arms

# Dataset entity type -> the Presidio entity types that correspond to it (typed recall, precision).
LABELS: dict[str, tuple[str, ...]] = {
    "PERSON": ("PERSON",),
    "ADDRESS": ("ADDRESS", "LOCATION"),
    "LOCATION": ("LOCATION", "ADDRESS"),
    "ORGANIZATION": ("ORGANIZATION",),
    "CREDIT_CARD": ("CREDIT_CARD",),
    "PHONE_NUMBER": ("PHONE_NUMBER",),
    "DATE_TIME": ("DATE_TIME",),
    "EMAIL_ADDRESS": ("EMAIL_ADDRESS",),
    "US_SSN": ("US_SSN",),
    "IBAN_CODE": ("IBAN_CODE",),
    "DOMAIN_NAME": ("URL",),
    "TITLE": (),
    "PREFIX": ("PERSON",),
    "US_DRIVER_LICENSE": ("US_DRIVER_LICENSE",),
    "IP_ADDRESS": ("IP_ADDRESS",),
}

Span = tuple[str, int, int]  # entity type, start, end (exclusive)


@dataclass
class Item:
    text: str
    labels: list[Span]


@dataclass
class Tally:
    """Character counts; keys are dataset types, or Presidio types for ``masked``/``masked_ok``."""

    labelled: Counter = field(default_factory=Counter)
    hit: Counter = field(default_factory=Counter)
    typed_hit: Counter = field(default_factory=Counter)
    masked: Counter = field(default_factory=Counter)
    masked_ok: Counter = field(default_factory=Counter)
    total_labelled: int = 0
    total_hit: int = 0
    total_masked: int = 0
    total_masked_ok: int = 0


def load(path: Path) -> tuple[list[Item], list[str]]:
    """The items, and a note for each span whose offsets were wrong."""
    if not path.is_file():
        sys.exit(f"pii_quality: no data at {path}; pass --data PATH (a presidio_generated_*.json file)")
    items, notes = [], []
    for index, raw in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        text, labels = raw["full_text"], []
        for span in raw["spans"]:
            kind, value = span["entity_type"], span["entity_value"]
            start, end = span["start_position"], span["end_position"]
            if text[start:end] != value:
                found = list(_occurrences(text, value))
                if not found:
                    notes.append(f"item {index}: {kind} {value!r} not in the text; dropped")
                    continue
                moved = min(found, key=lambda i: abs(i - start))
                notes.append(
                    f"item {index}: {kind} {value!r} at {start}:{end} slices {text[start:end]!r}; moved to {moved}"
                )
                start, end = moved, moved + len(value)
            labels.append((kind, start, end))
        items.append(Item(text, labels))
    return items, notes


def _occurrences(text: str, value: str) -> Iterable[int]:
    start = text.find(value)
    while value and start >= 0:
        yield start
        start = text.find(value, start + 1)


def project_findings(texts: list[str]) -> list[list[Span]]:
    """What the default scanner masks."""
    scanner = get_scanner(ScannerConfig())

    def run(chunk: list[str]) -> list[list[Span]]:
        return [[(f.entity_type, f.start, f.end) for f in m.findings] for m in scanner.scan_many(chunk, batch_size=BATCH)]

    return _in_chunks(texts, "project", run)


def baseline_findings(texts: list[str]) -> list[list[Span]]:
    """What stock Presidio finds on the same model: every analyzer result (the anonymizer would
    mask their union)."""
    configuration = copy.deepcopy(NlpEngineProvider().nlp_configuration)  # Presidio's default.yaml
    configuration["models"] = [{"lang_code": "en", "model_name": DEFAULT_MODEL}]
    nlp_engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    batch = BatchAnalyzerEngine(AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"]))

    def run(chunk: list[str]) -> list[list[Span]]:
        found = batch.analyze_iterator(chunk, language="en", batch_size=BATCH)
        return [[(r.entity_type, r.start, r.end) for r in results] for results in found]

    return _in_chunks(texts, "baseline", run)


def _in_chunks(texts: list[str], arm: str, run: Callable[[list[str]], list[list[Span]]]) -> list[list[Span]]:
    """``run`` over the texts a few hundred at a time, with a progress bar."""
    found: list[list[Span]] = []
    with tqdm(total=len(texts), desc=arm, unit="text", file=sys.stderr, leave=False) as progress:
        for start in range(0, len(texts), CHUNK):
            found += run(texts[start : start + CHUNK])
            progress.update(len(found) - progress.n)
    return found


def tally(items: list[Item], findings: list[list[Span]]) -> Tally:
    t = Tally()
    for item, found in zip(items, findings, strict=True):
        solid = [i for i, ch in enumerate(item.text) if not ch.isspace()]
        masked_by: dict[int, set[str]] = {}
        for kind, start, end in found:
            for i in range(start, end):
                masked_by.setdefault(i, set()).add(kind)
        inside: set[int] = set()
        for kind, start, end in item.labels:
            chars = [i for i in range(start, end) if not item.text[i].isspace()]
            inside.update(chars)
            t.labelled[kind] += len(chars)
            t.hit[kind] += sum(i in masked_by for i in chars)
            t.typed_hit[kind] += sum(bool(masked_by.get(i, set()) & set(LABELS.get(kind, ()))) for i in chars)
        for i in solid:
            for kind in masked_by.get(i, ()):
                t.masked[kind] += 1
                t.masked_ok[kind] += i in inside
        t.total_labelled += len(inside)
        t.total_hit += sum(i in masked_by for i in inside)
        t.total_masked += sum(i in masked_by for i in solid)
        t.total_masked_ok += sum(i in masked_by and i in inside for i in solid)
    return t


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def type_precision(t: Tally, kind: str) -> float | None:
    """Precision of the findings of the Presidio types that correspond to a dataset type."""
    presidio = LABELS.get(kind, ())
    return ratio(sum(t.masked_ok[p] for p in presidio), sum(t.masked[p] for p in presidio))


def summary(t: Tally) -> dict:
    return {"recall": ratio(t.total_hit, t.total_labelled), "precision": ratio(t.total_masked_ok, t.total_masked)}


def fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def print_tables(arms: dict[str, Tally]) -> None:
    names = list(arms)
    head = "".join(f" | {n:^37}" for n in names)
    print(f"{'dataset type':<18}{'chars':>7}{head}")
    print(f"{'':<25}" + " | recall  typed  precis.  masked chars" * len(names))
    kinds = sorted(next(iter(arms.values())).labelled, key=lambda k: -arms[names[0]].labelled[k])
    for kind in kinds:
        row = f"{kind:<18}{arms[names[0]].labelled[kind]:>7}"
        for t in arms.values():
            presidio = LABELS.get(kind, ())
            row += (
                f" | {fmt(ratio(t.hit[kind], t.labelled[kind]))} {fmt(ratio(t.typed_hit[kind], t.labelled[kind]))}"
                f"  {fmt(type_precision(t, kind))}  {sum(t.masked[p] for p in presidio):>11}"
            )
        print(row)
    print()
    print("precision by detected (Presidio) type: masked chars inside a labelled span / masked chars")
    for name, t in arms.items():
        cells = ", ".join(f"{k} {t.masked_ok[k]}/{t.masked[k]} ({ratio(t.masked_ok[k], t.masked[k])})"
                          for k in sorted(t.masked, key=lambda k: -t.masked[k]))
        print(f"  {name}: {cells}")
    print()
    for name, t in arms.items():
        s = summary(t)
        print(f"{name:<9} overall: recall {s['recall']:.4f} ({t.total_hit}/{t.total_labelled} chars), "
              f"precision {s['precision']:.4f} ({t.total_masked_ok}/{t.total_masked} chars)")


def timed(run: Callable[[list[str]], list[list[Span]]], texts: list[str]) -> tuple[list[list[Span]], float]:
    began = time.perf_counter()
    found = run(texts)
    return found, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a presidio_generated_*.json file")
    args = parser.parse_args()
    items, notes = load(args.data)
    for note in notes:
        print(f"data: {note}")
    texts = [item.text for item in items]
    print(f"{len(items)} texts, {sum(len(i.labels) for i in items)} labelled spans from {args.data.name}")
    arms, seconds = {}, {}
    for name, run in (("project", project_findings), ("baseline", baseline_findings)):
        found, seconds[name] = timed(run, texts)
        arms[name] = tally(items, found)
    print(", ".join(f"{name} {s:.1f} s (model load included)" for name, s in seconds.items()))
    print()
    print_tables(arms)
    project = arms["project"]
    result = summary(project) | {
        "per_type": {
            kind: {
                "recall": ratio(project.hit[kind], project.labelled[kind]),
                "precision": type_precision(project, kind),
            }
            for kind in sorted(project.labelled)
        },
        "baseline": summary(arms["baseline"]),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
