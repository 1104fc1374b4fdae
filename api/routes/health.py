"""Liveness and readiness, without a key: ``/health`` says the process answers, ``/ready`` whether
it can serve (the database answers and its schema is the code's) and how far masking is behind.
Neither says anything a caller could misuse: no URL, no host, no text, only names and counts."""

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from catalog.core import migrate
from catalog.core.db import transaction
from catalog.core.logging import get_logger
from catalog.pii_gate import service as masking
from catalog.pii_gate.schemas import MaskingBacklog

router = APIRouter(tags=["health"])
log = get_logger(__name__)


class DatabaseReport(BaseModel):
    backend: str  # the dialect: sqlite, postgresql
    reachable: bool


class SchemaReport(BaseModel):
    current: str | None  # None: never migrated (or the database did not answer)
    head: str  # the revision this code expects
    matches: bool


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: DatabaseReport
    schema_revision: SchemaReport
    masking: MaskingBacklog | None  # None unless the schema matches (the counts would not mean much)


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness, "description": "Not ready"}})
def ready(request: Request) -> JSONResponse:
    """200 when the database answers and its schema is at the code's head, else 503."""
    sessions = request.app.state.sessions
    state, backlog = None, None
    try:
        with transaction(sessions) as session:  # a read: never SQLite's write lock
            state = migrate.schema_state(session.connection())
            if state.matches:
                backlog = masking.backlog(session)
    except DBAPIError as error:  # the driver's message can name the host: log its kind only
        log.warning("ready_database_unreachable", error=type(error.orig).__name__)
    head = state.head if state else migrate.head()
    report = Readiness(
        status="ready" if state is not None and state.matches else "not_ready",
        database=DatabaseReport(backend=sessions.kw["bind"].dialect.name, reachable=state is not None),
        schema_revision=SchemaReport(current=state and state.current, head=head, matches=bool(state and state.matches)),
        masking=backlog,
    )
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.status == "ready" else 503)
