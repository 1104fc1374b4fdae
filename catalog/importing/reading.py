"""Stream JSON objects out of a file in constant memory: a JSON array, or JSON lines; gzip too."""

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson


@dataclass(frozen=True)
class Item:
    """One object from the file and where it stands there ("line 12" or "item 3")."""

    location: str
    value: Any


@dataclass(frozen=True)
class Unreadable:
    location: str
    reason: str


_GZIP_MAGIC = b"\x1f\x8b"


def open_file(path: Path) -> IO[bytes]:
    """Open for reading, decompressing gzip (recognised by its magic bytes, whatever the name)."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def iter_items(stream: IO[bytes]) -> Iterator[Item | Unreadable]:
    """Items of a JSON array (``[...]``) or of JSON lines, decided by the first non-blank byte."""
    first = _peek_first_byte(stream)
    if first == b"[":
        yield from _array_items(stream)
    else:
        yield from _json_lines(stream)


def _peek_first_byte(stream: IO[bytes]) -> bytes:
    head = stream.peek(64) if hasattr(stream, "peek") else b""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped[:1]


def _array_items(stream: IO[bytes]) -> Iterator[Item | Unreadable]:
    index = 0
    try:
        for index, value in enumerate(ijson.items(stream, "item", use_float=True), start=1):
            yield Item(f"item {index}", value)
    except ijson.JSONError as exc:
        yield Unreadable(f"item {index + 1}", f"not valid JSON: {exc}")


def _json_lines(stream: IO[bytes]) -> Iterator[Item | Unreadable]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            yield Item(f"line {number}", json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield Unreadable(f"line {number}", f"not valid JSON: {exc}")
