"""The one error table: domain error codes to HTTP statuses, and every error as ``{"error": {...}}``."""

import json
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from api.audit_failures import record_failed_request
from catalog.core.db import unavailable
from catalog.core.errors import DomainError
from catalog.core.logging import get_logger

STATUS_BY_CODE = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "INVALID_INPUT": 422,
    "INVALID_EVENT": 400,  # an OpenLineage event that breaks the spec: 400, as Marquez answers
}
# A framework's HTTPException gets the code of its status (INVALID_EVENT is lineage's own 400);
# the body gate (api/body.py) answers with the same codes.
_CODE_BY_HTTP_STATUS = {
    **{status: code for code, status in STATUS_BY_CODE.items() if code != "INVALID_EVENT"},
    400: "BAD_REQUEST",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
CONCURRENT_CHANGE = "the change conflicts with data written concurrently"
log = get_logger(__name__)


class ErrorOut(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """Every error, REST's statuses below and the body gate's alike: ``{"error": {...}}``."""

    error: ErrorOut


# What any route under /api/v1 may answer besides its own success, in the OpenAPI document: the
# body gate (400, 413, 415), the key (401), the policy (403), the domain (404, 409, 422; 400 for a
# lineage event) and the database (503). FastAPI would document 422 as its own {"detail": [...]}.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Bad request: a body that is not JSON or is nested too deep, or an invalid lineage event"),
        (401, "No valid API key or token"),
        (403, "Forbidden"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Payload too large"),
        (415, "Unsupported media type"),
        (422, "Invalid input"),
        (503, "The database is unavailable"),
    )
}


class ErrorResponse(JSONResponse):
    """An error as ASCII JSON: messages echo what the caller sent, which may hold a lone surrogate
    that UTF-8 cannot encode; escaped, it goes back as the caller wrote it."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_body(code: str, message: str, details=None) -> dict:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> ErrorResponse:
        status = STATUS_BY_CODE.get(exc.code, 500)
        action = exc.details.get("action") if isinstance(exc.details, dict) else None
        await record_failed_request(request, status=status, code=exc.code, message=exc.message, action=action)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return ErrorResponse(error_body(exc.code, exc.message, exc.details), status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> ErrorResponse:
        details = [
            {"location": ".".join(str(part) for part in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        message = "; ".join(f"{d['location']}: {d['problem']}" for d in details[:5])
        await record_failed_request(request, status=422, code="INVALID_INPUT", message=message, action=None)
        return ErrorResponse(error_body("INVALID_INPUT", message, details), 422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, _exc: IntegrityError) -> ErrorResponse:
        await record_failed_request(request, status=409, code="CONFLICT", message=CONCURRENT_CHANGE, action=None)
        return ErrorResponse(error_body("CONFLICT", CONCURRENT_CHANGE), 409)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> ErrorResponse:
        code = _CODE_BY_HTTP_STATUS.get(exc.status_code, "HTTP_ERROR")
        return ErrorResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> ErrorResponse:
        """The last resort, for an error in the middleware itself; the request log catches the rest
        (:func:`internal_error`)."""
        request_id = getattr(request.state, "request_id", str(uuid.uuid4()))
        log.exception("unhandled error", request_id=request_id, path=request.url.path)
        return ErrorResponse(error_body("INTERNAL", f"internal error (request id {request_id})"), 500)


async def internal_error(request: Request, exc: Exception) -> ErrorResponse:
    """The answer to an error nothing else handled: logged with its traceback, audited as a 4xx
    is, and answered as a plain 500.

    Called by the request log middleware, inside the app: left to Starlette's outermost handler,
    the error would be raised again to the server after the answer, and uvicorn would drop the
    keep-alive connection, failing the client's next request on it too.
    """
    request_id = getattr(request.state, "request_id", str(uuid.uuid4()))
    if (reason := unavailable(exc)) is not None:
        return await database_unavailable(request, exc, reason, request_id)
    log.error("unhandled error", request_id=request_id, path=request.url.path, exc_info=exc)
    message = f"internal error (request id {request_id})"
    try:
        await record_failed_request(request, status=500, code="INTERNAL", message=message, action=None)
    except Exception:  # noqa: BLE001 - the database may be what failed; the answer goes out regardless
        log.exception("failed request not audited", request_id=request_id)
    return ErrorResponse(error_body("INTERNAL", message), 500)


async def database_unavailable(request: Request, exc: Exception, reason: str, request_id: str) -> ErrorResponse:
    """A 503 for a database that is down, unreachable or out of space: the request's work rolled
    back, nothing of it was written, and the same request can be sent again later. The failure is
    audited as a 4xx is, when the database takes the entry."""
    log.warning("database unavailable", request_id=request_id, path=request.url.path, reason=reason,
                error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")  # fmt: skip
    try:
        await record_failed_request(request, status=503, code="UNAVAILABLE", message=reason, action=None)
    except Exception:  # noqa: BLE001 - the database is what failed; the answer goes out regardless
        log.warning("failed request not audited: the database is unavailable", request_id=request_id)
    return ErrorResponse(error_body("UNAVAILABLE", reason), 503, headers={"Retry-After": "5"})
