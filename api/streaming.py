"""Streaming responses that read the database after the request's own transaction has committed.

A long download must not hold the request's unit of work open, and the session dependency is
closed before the body is sent; so each stream reads in a read-only transaction of its own.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from catalog.core.db import transaction


def jsonl_response(
    sessions: sessionmaker[Session], produce: Callable[[Session], Iterable[Any]], *, filename: str
) -> StreamingResponse:
    return StreamingResponse(
        _lines(sessions, produce),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _lines(sessions: sessionmaker[Session], produce: Callable[[Session], Iterable[Any]]) -> Iterator[bytes]:
    with transaction(sessions) as session:
        for item in produce(session):
            if isinstance(item, BaseModel):
                yield item.model_dump_json().encode() + b"\n"
            else:
                yield json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
