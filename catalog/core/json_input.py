"""JSON from outside, read defensively: strict UTF-8, bounded nesting, no NUL in any text.

The API's body gate (``api/body.py``) and the import reader (``catalog/importing/reading.py``)
read untrusted JSON through :func:`loads`; the input schemas refuse NUL through
:func:`nul_location` (``catalog/core/schemas.py``).
"""

import json
from typing import Any

from catalog.core.errors import InvalidInput

NUL = "\x00"
NUL_PROBLEM = "must not contain NUL (\\u0000)"


class BadJson(InvalidInput):
    """Bytes that are not one readable JSON document: the message says why, ``kind`` what kind
    of problem it is (``encoding``, ``syntax`` or ``depth``)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def loads(data: bytes | str, *, max_depth: int) -> Any:
    """The JSON document in ``data`` (UTF-8), or :class:`BadJson` naming what is wrong with it:
    not UTF-8 (and at which byte), not JSON (and where), or nested deeper than ``max_depth``."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJson(f"not valid UTF-8: byte {exc.start} ({data[exc.start:exc.start + 1]!r})", "encoding") from None
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise BadJson(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "syntax") from None
    except RecursionError:
        raise BadJson(f"nested deeper than {max_depth} levels", "depth") from None
    if deeper_than(value, max_depth):
        raise BadJson(f"nested deeper than {max_depth} levels", "depth")
    return value


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` levels in ``value`` (no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def nul_location(value: Any) -> str | None:
    """Where the first text holding NUL is inside ``value`` (``""`` for ``value`` itself,
    ``"0.content"`` deeper; a key counts as text), or None when there is none."""
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                at = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and NUL in key:
                    return at
                pending.append((child, at))
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{where}.{index}" if where else str(index)) for index, child in enumerate(item))
    return None
