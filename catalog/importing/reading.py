"""Stream JSON objects out of a file in constant memory: a JSON array, or JSON lines; gzip too."""

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from catalog.core.errors import InvalidInput
from catalog.core.json_input import BadJson, loads


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


class FileRefused(InvalidInput):
    """A file that is broken or hostile as a whole, not one bad item: a damaged gzip, bytes that
    are not UTF-8, a line or item past the size limit, nesting past the depth limit. The import
    stops and writes nothing (from the CLI, the batches committed before it stay)."""


_LIMIT_HINT = "LABELTRAIL_IMPORT_MAX_LINE_BYTES"


def iter_items(
    stream: IO[bytes], *, max_line_bytes: int | None = None, max_depth: int = 64
) -> Iterator[Item | Unreadable]:
    """Items of a JSON array (``[...]``) or of JSON lines, decided by the first non-blank byte.

    An item that is not JSON is an :class:`Unreadable` saying so (a truncated JSON array ends
    with one), and the reading goes on. A file that is broken as a whole raises
    :class:`FileRefused` naming where: a gzip that ends early or is corrupt, a line that is not
    UTF-8, a line (or array item) longer than ``max_line_bytes``, nesting deeper than ``max_depth``.
    """
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)  # without a peek, every file would be read as JSON lines
    try:
        if stream.peek(3).startswith(_BOM):
            stream.read(len(_BOM))  # ijson refuses a byte order mark
        first = _peek_first_byte(stream)
    except _BROKEN as exc:
        raise FileRefused(_broken("the start of the file", exc)) from None
    if first == b"[":
        yield from _array_items(stream, max_line_bytes, max_depth)
    else:
        yield from _json_lines(stream, max_line_bytes, max_depth)


# What reading a damaged gzip file raises: it ended early, or is not gzip after its magic bytes.
_BROKEN = (EOFError, gzip.BadGzipFile, zlib.error)


def _broken(where: str, exc: Exception) -> str:
    return f"the file cannot be read past {where}: {exc or type(exc).__name__}"


def _peek_first_byte(stream: IO[bytes]) -> bytes:
    stripped = stream.peek(64).lstrip(b" \t\r\n")
    return stripped[:1]


class _Counted:
    """A stream that counts the bytes read from it, to bound the size of one array item."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream, self.count = stream, 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


_OPENS = frozenset({"start_map", "start_array"})
_CLOSES = frozenset({"end_map", "end_array"})


def _array_items(stream: IO[bytes], max_bytes: int | None, max_depth: int) -> Iterator[Item | Unreadable]:
    """The array's items, built from ijson's events so that nesting and size are checked as the
    item is read, before it is held whole (ijson's own builder would follow any nesting)."""
    buffer = min(64 * 1024, max_bytes) if max_bytes else 64 * 1024
    counted = _Counted(stream)
    index, builder, depth, began = 0, None, 0, 0
    try:
        for prefix, event, value in ijson.parse(counted, use_float=True, buf_size=buffer):
            if builder is None:
                if prefix != "item":
                    continue  # the array itself
                index += 1
                if event not in _OPENS:
                    yield Item(f"item {index}", value)
                    continue
                builder, depth, began = ijson.ObjectBuilder(), 0, counted.count
            if event in _OPENS:
                depth += 1
                if depth > max_depth:
                    raise FileRefused(f"item {index} is nested deeper than {max_depth} levels")
            elif event in _CLOSES:
                depth -= 1
            builder.event(event, value)
            if max_bytes is not None and counted.count - began > max_bytes + buffer:
                raise FileRefused(f"item {index} is larger than the {max_bytes:,} bytes allowed ({_LIMIT_HINT})")
            if depth == 0:
                yield Item(f"item {index}", builder.value)
                builder = None
    except ijson.JSONError as exc:
        if "utf" in str(exc).lower():
            raise FileRefused(f"item {index + (builder is None)} is not valid UTF-8") from None
        yield Unreadable(f"item {index + (builder is None)}", f"not valid JSON: {exc}")
    except _BROKEN as exc:
        raise FileRefused(_broken(f"item {index - 1}" if index > 1 else "the start of the file", exc)) from None


def _json_lines(stream: IO[bytes], max_bytes: int | None, max_depth: int) -> Iterator[Item | Unreadable]:
    number = 0
    while True:
        try:
            raw = stream.readline(-1 if max_bytes is None else max_bytes + 2)  # the limit, and a line end
        except _BROKEN as exc:
            raise FileRefused(_broken(f"line {number}" if number else "the start of the file", exc)) from None
        if not raw:
            return
        number += 1
        if max_bytes is not None and len(raw.rstrip(b"\r\n")) > max_bytes:
            raise FileRefused(f"line {number} is longer than the {max_bytes:,} bytes allowed ({_LIMIT_HINT})")
        if not raw.strip():
            continue
        try:
            value = loads(raw, max_depth=max_depth)
        except BadJson as exc:
            if exc.kind != "syntax":
                raise FileRefused(f"line {number} is {exc.message}") from None
            yield Unreadable(f"line {number}", exc.message)
            continue
        yield Item(f"line {number}", value)
