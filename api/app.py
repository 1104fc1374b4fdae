"""The FastAPI application factory."""

import time
import uuid

import structlog
from fastapi import FastAPI, Request

from api.errors import install_error_handlers
from api.routes import annotations, datasets, imports, me, records
from catalog.config import Settings, get_settings
from catalog.db import make_engine, make_sessionmaker
from catalog.logging import configure_logging, get_logger

log = get_logger("labeltrail.http")


def create_app(settings: Settings | None = None, sessions=None) -> FastAPI:
    """Build the app. Tests pass ``sessions`` bound to their own connection."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(title="labeltrail", version="0.1.0")
    app.state.settings = settings
    app.state.sessions = sessions or make_sessionmaker(make_engine(settings.database_url))
    install_error_handlers(app)

    @app.middleware("http")
    async def request_log(request: Request, call_next):
        """One structured line per request (never headers: they carry keys), tagged with a request id."""
        request.state.request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request.state.request_id):
            response = await call_next(request)
            log.info(
                "request",
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        response.headers["x-request-id"] = request.state.request_id
        return response

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for router in (me.router, datasets.router, records.router, annotations.router, imports.router):
        app.include_router(router, prefix="/api/v1")
    return app
