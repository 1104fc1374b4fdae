"""The body gate: a JSON request body is read, bounded and checked before any route sees it.

Every request with a body, REST and GraphQL alike, except an import's (a file, streamed
under ``LABELTRAIL_IMPORT_MAX_BYTES`` by the import itself), is refused here when it is:

- larger than ``LABELTRAIL_MAX_BODY_BYTES``: ``413 PAYLOAD_TOO_LARGE``, from its
  ``Content-Length`` before a byte is read, or as soon as the bytes read (a chunked body has no
  length) pass the limit;
- not declared JSON (``Content-Type: application/json`` or ``…+json``): ``415 UNSUPPORTED_MEDIA_TYPE``;
- not UTF-8, not JSON, or nested deeper than ``LABELTRAIL_MAX_JSON_DEPTH``: ``400 BAD_REQUEST``.

A refused body reached no route: nothing ran, nothing is written, and it is not audited (no
principal was authenticated). A body that passes is handed on unchanged.
"""

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorResponse, error_body
from catalog.core.config import Settings
from catalog.core.json_input import BadJson, loads

# Imports stream a file as the raw body, under a limit of their own.
_RAW_BODY_ROUTES = re.compile(r"^/api/v1/datasets/[^/]+/imports/?$")
_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class BodyGate:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_bytes = settings.max_body_bytes
        self.max_depth = settings.max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _RAW_BODY_ROUTES.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _may_have_body(headers):
            await self.app(scope, receive, send)
            return
        try:
            body, more = await self._read(headers, receive)
            if body:
                self._check(headers, body)
        except _Refused as refused:
            response = ErrorResponse(error_body(refused.code, refused.message), refused.status)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, more, receive), send)

    async def _read(self, headers: Headers, receive: Receive) -> tuple[bytes, list[Message]]:
        """The whole body (at most the limit), and any message that came after it (a disconnect)."""
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), [message]
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), []

    def _too_large(self) -> _Refused:
        return _Refused(
            413, "PAYLOAD_TOO_LARGE",
            f"the body is larger than the {self.max_bytes:,} bytes allowed (LABELTRAIL_MAX_BODY_BYTES)",
        )  # fmt: skip

    def _check(self, headers: Headers, body: bytes) -> None:
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not _JSON_TYPE.match(content_type):
            shown = f"'{content_type}'" if content_type else "none"
            raise _Refused(
                415, "UNSUPPORTED_MEDIA_TYPE", f"the body must be JSON (Content-Type: application/json), not {shown}"
            )
        try:
            loads(body, max_depth=self.max_depth)
        except BadJson as exc:
            raise _Refused(400, "BAD_REQUEST", f"the body is {exc.message}") from None


def _may_have_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() != "0")


def _replay(body: bytes, more: list[Message], receive: Receive) -> Receive:
    """A receive that gives the app the body read here, then what followed it, then the real receive."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *more]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
