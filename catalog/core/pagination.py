"""Keyset pagination, and the one cursor format every paged list speaks, in REST and GraphQL.

A cursor is an opaque, URL-safe token for a position in one list: the keyset (which list it
is), an optional scope (which instance of it: a dataset's records, a release's manifest) and
the key of the last item the previous page held, whatever that list orders by (a UUID, an int
sequence number, a tuple of them). Each domain declares its lists as :class:`Keyset` objects;
only this module reads or writes the token, so a cursor from one list is refused by another,
and a token that does not decode is an :class:`InvalidInput` naming it, never a 500.

The token is ``base64url(json([version, keyset, scope, *key]))`` without padding. Clients must
treat it as opaque: the format may change with ``_VERSION``.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from catalog.core.errors import InvalidInput
from catalog.core.schemas import Page

_VERSION = 1
_MAX_TOKEN = 2048  # far above any real cursor; refused before decoding
MAX_SEQ = 2**63 - 1  # a BIGINT: a larger key would overflow the database's comparison
_KEY_TYPES = (uuid.UUID, int, str)
_keysets: dict[str, "Keyset"] = {}


def invalid_cursor(cursor: str, why: str | None = None) -> InvalidInput:
    message = "invalid cursor" if why is None else f"invalid cursor: {why}"
    return InvalidInput(message, {"cursor": cursor})


class Keyset:
    """One paged list's cursors: its name (unique) and the types of its key, in order."""

    def __init__(self, name: str, *key: type) -> None:
        if name in _keysets:
            raise ValueError(f"keyset '{name}' is declared twice")
        if not key or any(kind not in _KEY_TYPES for kind in key):
            raise ValueError(f"keyset '{name}': a key is UUIDs, ints and strings")
        self.name, self.key = name, key
        _keysets[name] = self

    def cursor(self, position: Any, scope: object = "") -> str:
        """The token for the position after the item whose key is ``position`` (a tuple when the
        key has several parts)."""
        values = position if isinstance(position, tuple) else (position,)
        if len(values) != len(self.key):
            raise ValueError(f"keyset '{self.name}' takes {len(self.key)} key values, not {len(values)}")
        payload = [_VERSION, self.name, str(scope), *(_dump(kind, value) for kind, value in zip(self.key, values, strict=True))]
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def position(self, cursor: str, scope: object = "") -> Any:
        """The key ``cursor`` holds (a tuple when the key has several parts), or InvalidInput."""
        payload = _payload(cursor)
        if len(payload) < 3 or payload[0] != _VERSION or not isinstance(payload[1], str):
            raise invalid_cursor(cursor)
        if payload[1] != self.name or payload[2] != str(scope):
            raise invalid_cursor(cursor, "it is from another list")
        values = payload[3:]
        if len(values) != len(self.key):
            raise invalid_cursor(cursor)
        try:
            key = tuple(_load(kind, value) for kind, value in zip(self.key, values, strict=True))
        except (TypeError, ValueError):
            raise invalid_cursor(cursor) from None
        return key if len(key) > 1 else key[0]

    def after(self, cursor: str | None, scope: object = "") -> Any:
        """:meth:`position` of a cursor, or None when there is none (the first page)."""
        return None if not cursor else self.position(cursor, scope)

    def paging(self, positions: Sequence, *, more: bool, scope: object = "") -> "Paging":
        """A page's keys, in order, and whether a further page exists."""
        return Paging(self, list(positions), more, str(scope))


@dataclass(frozen=True)
class Paging:
    """A fetched page's keys, waiting for its items; :meth:`page` makes the service's answer."""

    keyset: Keyset
    positions: list
    more: bool
    scope: str = ""

    def page(self, items: Sequence) -> Page:
        """The page: the items (one per key, the same order) and the cursor after the last one.
        Each item's own cursor is :meth:`Page.item_cursors`, for GraphQL's edges."""
        items = list(items)
        if len(items) != len(self.positions):
            raise ValueError("a page needs one key per item")
        last = self.positions[-1] if self.more and self.positions else None
        page = Page(items=items, next_cursor=None if last is None else self.keyset.cursor(last, self.scope))
        page._cursors = self.cursors
        return page

    def cursors(self) -> list[str]:
        return [self.keyset.cursor(position, self.scope) for position in self.positions]


def fetch_page(
    session: Session, stmt: Select, id_column, *, keyset: Keyset, limit: int, cursor: str | None, scope: object = "",
    entity: bool = True,
) -> tuple[Sequence, Paging]:
    """Rows after the cursor in id order, and their paging. ``stmt`` selects the row's entity
    first, or (``entity=False``) the id column first."""
    after = keyset.after(cursor, scope)
    if after is not None:
        stmt = stmt.where(id_column > after)
    rows = session.execute(stmt.order_by(id_column).limit(limit + 1)).all()
    rows, more = rows[:limit], len(rows) > limit
    ids = [row[0].id for row in rows] if entity else [row[0] for row in rows]
    return rows, keyset.paging(ids, more=more, scope=scope)


def seq_of(cursor: str) -> int:
    """A plain non-negative sequence number, as a deprecated cursor may be, or InvalidInput."""
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 19 or int(cursor) > MAX_SEQ:
        raise invalid_cursor(cursor)
    return int(cursor)


def _payload(cursor: str) -> list:
    if not cursor or len(cursor) > _MAX_TOKEN or not cursor.isascii():
        raise invalid_cursor(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise invalid_cursor(cursor) from None
    if not isinstance(payload, list):
        raise invalid_cursor(cursor)
    return payload


def _dump(kind: type, value: Any) -> Any:
    if kind is uuid.UUID:
        return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
            raise ValueError(f"an int key is 0 to {MAX_SEQ}, not {value!r}")
        return value
    return str(value)


def _load(kind: type, value: Any) -> Any:
    if kind is uuid.UUID:
        if not isinstance(value, str) or len(value) != 32:
            raise ValueError(value)
        return uuid.UUID(hex=value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
            raise ValueError(value)
        return value
    if not isinstance(value, str):
        raise TypeError(value)
    return value

