"""Writing exported rows to files: JSON lines, or Parquet in row groups (both in constant memory)."""

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.releases.schemas import ExportRow

ROW_GROUP = 5000
_LABEL = pa.struct([
    ("annotation_id", pa.string()), ("question", pa.string()), ("text", pa.string()), ("value", pa.string()),
    ("status", pa.string()), ("annotator", pa.string()), ("source", pa.string()), ("source_model", pa.string()),
    ("guideline_version", pa.int64()), ("revision", pa.int64()), ("revision_sha256", pa.string()),
])  # fmt: skip
SCHEMA = pa.schema([
    ("record_id", pa.string()), ("external_id", pa.string()), ("split", pa.string()), ("text", pa.string()),
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("candidates", pa.list_(pa.string())), ("metadata", pa.string()), ("record_sha256", pa.string()),
    ("labels", pa.list_(_LABEL)),
])  # fmt: skip


def write_jsonl(rows: Iterable[ExportRow], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(row.model_dump_json() + "\n")
            count += 1
    return count


def write_parquet(rows: Iterable[ExportRow], path: Path) -> int:
    """One row group per ``ROW_GROUP`` records. Label values and metadata, whose shape varies by
    question, are JSON text columns."""
    count = 0
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for group in _groups(rows):
            writer.write_table(pa.Table.from_pylist([_flat(row) for row in group], schema=SCHEMA))
            count += len(group)
    return count


def _groups(rows: Iterable[ExportRow]) -> Iterator[list[ExportRow]]:
    it = iter(rows)
    while group := list(islice(it, ROW_GROUP)):
        yield group


def _flat(row: ExportRow) -> dict:
    data = row.model_dump(mode="json")
    data["metadata"] = json.dumps(data["metadata"]) if data["metadata"] is not None else None
    data["labels"] = [_flat_label(label) for label in data["labels"]]
    return data


def _flat_label(label: dict) -> dict:
    source = label.pop("source")
    return {**label, "value": json.dumps(label["value"]), "source": source["kind"], "source_model": source.get("model")}
