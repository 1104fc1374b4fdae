"""The FastAPI application factory."""

import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI, Request

from api.body import BodyGate
from api.deps import API_PREFIX, no_nul_in_parameters
from api.errors import ERROR_RESPONSES, install_error_handlers, internal_error
from api.graphql.schema import graphql_router
from api.routes import (
    annotations,
    audit,
    datasets,
    health,
    imports,
    lineage,
    me,
    models,
    principals,
    records,
    releases,
    subjects,
)
from catalog.access.oidc import OidcVerifier
from catalog.core import migrate
from catalog.core.config import Settings, get_settings
from catalog.core.db import make_engine, make_sessionmaker, transaction
from catalog.core.logging import configure_logging, get_logger
from catalog.pii_gate.service import scan_function

log = get_logger("labeltrail.http")


def create_app(settings: Settings | None = None, sessions=None) -> FastAPI:
    """Build the app. Tests pass ``sessions`` bound to their own connection."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(
        title="labeltrail", version="0.1.0", lifespan=_refuse_a_schema_not_ready,
        dependencies=[Depends(no_nul_in_parameters)],
    )  # fmt: skip
    app.state.settings = settings
    app.state.sessions = sessions or make_sessionmaker(make_engine(settings.database_url))
    app.state.sealer = settings.sealer()
    app.state.oidc = OidcVerifier(settings.oidc) if settings.oidc.enabled else None
    app.state.scan = scan_function(settings.scanner_config())  # masks annotation text as it is written
    if app.state.sealer is None:
        log.warning("audit_unsealed", hint="set LABELTRAIL_AUDIT_SEAL_KEY so the audit chain is sealed")
    install_error_handlers(app)
    app.add_middleware(BodyGate, settings=settings)  # inside the request log, which adds the request id

    @app.middleware("http")
    async def request_log(request: Request, call_next):
        """One structured line per request (never headers: they carry keys), tagged with a request
        id; a 500 too, as the error the handlers left unhandled is answered here."""
        request.state.request_id = _request_id(request.headers.get("x-request-id"))
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request.state.request_id):
            try:
                response = await call_next(request)
            except Exception as exc:  # noqa: BLE001 - every error becomes an answer, never a dropped connection
                response = await internal_error(request, exc)
            _emitter(response.status_code)(
                "request",
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        response.headers["x-request-id"] = request.state.request_id
        return response

    app.include_router(health.router)
    routers = (me.router, principals.router, datasets.router, records.router, annotations.router, imports.router,
               audit.router, subjects.router, releases.router, lineage.router, models.router)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(graphql_router(settings))
    return app


@asynccontextmanager
async def _refuse_a_schema_not_ready(app: FastAPI) -> AsyncIterator[None]:
    """However the app is served (``labeltrail serve``, uvicorn itself, several workers), it does not
    start on a database whose schema is not the code's: every request would fail."""
    with transaction(app.state.sessions) as session:
        state = migrate.schema_state(session.connection())
    if state.problem is not None:
        log.error("schema_not_ready", current=state.current, head=state.head, problem=state.problem)
        raise migrate.SchemaNotReady(state.problem)
    yield


_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _emitter(status: int):
    """A request's log level: a 500 shows at any level; a 503 (not ready, the database away) is
    a warning, so a readiness probe polling a starting server does not fill the log with errors."""
    if status == 503:
        return log.warning
    return log.error if status >= 500 else log.info


def _request_id(offered: str | None) -> str:
    """A caller's X-Request-ID is kept if it is short and plain (it lands in logs and the audit log)."""
    return offered if offered and _CLIENT_REQUEST_ID.match(offered) else str(uuid.uuid4())
