"""Stream JSON objects out of a file in constant memory: a JSON array, or JSON lines; gzip too."""

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from catalog.core.errors import InvalidInput


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


@contextmanager
def open_source(source: Path | IO[bytes], max_bytes: int | None = None) -> Iterator[IO[bytes]]:
    """A file by its path, or a stream (an upload, an in-memory file), read as it arrives: gzip is
    decompressed (recognised by its magic bytes), and reading more than ``max_bytes`` of the source
    itself raises :class:`~catalog.core.errors.InvalidInput`. A stream passed in is left open."""
    if isinstance(source, Path) and max_bytes is None:
        with open_file(source) as stream:
            yield stream
        return
    raw = source.open("rb") if isinstance(source, Path) else source
    try:
        buffered = io.BufferedReader(_Bounded(raw, max_bytes))
        yield gzip.GzipFile(fileobj=buffered, mode="rb") if buffered.peek(2)[:2] == _GZIP_MAGIC else buffered
    finally:
        if raw is not source:
            raw.close()


class _Bounded(io.RawIOBase):
    """``raw``, refusing to be read past ``limit`` bytes (no limit when None)."""

    def __init__(self, raw: IO[bytes], limit: int | None) -> None:
        self._raw, self._limit, self._read = raw, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        self._read += len(data)
        if self._limit is not None and self._read > self._limit:
            raise InvalidInput(f"the upload is larger than the {self._limit:,} bytes allowed", {"limit": self._limit})
        buffer[: len(data)] = data
        return len(data)


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
