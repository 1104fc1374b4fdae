"""Stream JSON objects out of a file in constant memory: a JSON array, or JSON lines; gzip too."""

import gzip
import io
import json
import zlib
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
_BOM = b"\xef\xbb\xbf"


def open_file(path: Path) -> IO[bytes]:
    """Open for reading, decompressing gzip (recognised by its magic bytes, whatever the name)."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def iter_items(stream: IO[bytes]) -> Iterator[Item | Unreadable]:
    """Items of a JSON array (``[...]``) or of JSON lines, decided by the first non-blank byte.

    A file that cannot be read to its end (a truncated or corrupt gzip) ends with an
    :class:`Unreadable` saying so, as a truncated JSON array does, never with an exception.
    """
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)  # without a peek, every file would be read as JSON lines
    try:
        if stream.peek(3).startswith(_BOM):
            stream.read(len(_BOM))  # ijson refuses a byte order mark
        first = _peek_first_byte(stream)
    except _BROKEN as exc:
        yield Unreadable("start of file", _broken(exc))
        return
    if first == b"[":
        yield from _array_items(stream)
    else:
        yield from _json_lines(stream)


# What reading a damaged gzip file raises: it ended early, or is not gzip after its magic bytes.
_BROKEN = (EOFError, gzip.BadGzipFile, zlib.error)


def _broken(exc: Exception) -> str:
    return f"the file cannot be read past this point: {exc}"


def _peek_first_byte(stream: IO[bytes]) -> bytes:
    stripped = stream.peek(64).lstrip(b" \t\r\n")
    return stripped[:1]


def _array_items(stream: IO[bytes]) -> Iterator[Item | Unreadable]:
    index = 0
    try:
        for index, value in enumerate(ijson.items(stream, "item", use_float=True), start=1):
            yield Item(f"item {index}", value)
    except ijson.JSONError as exc:
        yield Unreadable(f"item {index + 1}", f"not valid JSON: {exc}")
    except _BROKEN as exc:
        yield Unreadable(f"item {index + 1}", _broken(exc))


def _json_lines(stream: IO[bytes]) -> Iterator[Item | Unreadable]:
    number = 0
    try:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield Unreadable(f"line {number}", f"not valid JSON: {exc}")
                continue
            yield Item(f"line {number}", value)
    except _BROKEN as exc:
        yield Unreadable(f"line {number + 1}", _broken(exc))
