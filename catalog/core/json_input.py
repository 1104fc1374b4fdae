"""JSON from outside, read defensively: strict UTF-8, bounded nesting, no NUL and no lone
surrogate in any text.

The API's body gate (``api/body.py``) and the import reader (``catalog/importing/reading.py``)
read untrusted JSON through :func:`loads`; the input schemas refuse NUL and lone surrogates
through :func:`bad_text` (``catalog/core/schemas.py``).
"""

import json
import re
from typing import Any

from catalog.core.errors import InvalidInput

NUL = "\x00"
NUL_PROBLEM = "must not contain NUL (\\u0000)"
# JSON may escape half of a UTF-16 pair alone ("\\ud800"): no UTF-8 encodes it, so no database stores it.
SURROGATE_PROBLEM = "must not contain a lone surrogate (\\ud800-\\udfff)"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (NUL, a lone surrogate), or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return NUL_PROBLEM if found.group() == NUL else SURROGATE_PROBLEM


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


def bad_text(value: Any) -> tuple[str, str] | None:
    """Where the first text that cannot be stored is inside ``value`` (``""`` for ``value`` itself,
    ``"0.content"`` deeper; a key counts as text) and why (:func:`text_problem`), or None."""
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                return where, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                at = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and (problem := text_problem(key)) is not None:
                    # Escaped: the location goes into messages, which must encode (pydantic's too).
                    return at.encode("utf-8", "backslashreplace").decode("utf-8"), problem
                pending.append((child, at))
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{where}.{index}" if where else str(index)) for index, child in enumerate(item))
    return None
