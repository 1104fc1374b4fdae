"""Keyset pagination over time-ordered ids, with opaque cursors."""

import base64
import binascii
import uuid
from collections.abc import Sequence

from sqlalchemy import Select
from sqlalchemy.orm import Session

from catalog.core.errors import InvalidInput


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid cursor", {"cursor": cursor}) from None


def fetch_page(
    session: Session, stmt: Select, id_column, *, limit: int, cursor: str | None
) -> tuple[Sequence, str | None]:
    """Rows after the cursor in id order, and the cursor for the next page (None on the last)."""
    if cursor:
        stmt = stmt.where(id_column > decode_cursor(cursor))
    rows = session.execute(stmt.order_by(id_column).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1][0].id)
