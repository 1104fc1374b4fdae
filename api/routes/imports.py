import io
import uuid
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, SessionDep
from catalog.importing.formats import Format
from catalog.importing.service import run_import

router = APIRouter(tags=["imports"])


@router.post("/datasets/{dataset_id}/imports", status_code=201)
async def import_file(
    dataset_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    format: Annotated[Format, Query()],
    sync: bool = False,
    dry_run: bool = False,
    question: str | None = None,
    file_name: Annotated[str, Query(min_length=1, max_length=200)] = "upload",
) -> dict[str, Any]:
    """Import the request body (JSON array or JSON lines, gzip too) in this request's transaction.

    The dataset, the caller's right to import and the options are checked before the body is
    read (``run_import``): a refused import reads none of it."""
    settings = request.app.state.settings

    def work() -> dict[str, Any]:
        return run_import(
            session, principal=principal, dataset_id=dataset_id, source=_Body(request), fmt=format,
            file_name=file_name, sync=sync, dry_run=dry_run, question=question,
            batch_size=settings.import_batch_size, max_bytes=settings.import_max_bytes,
            max_line_bytes=settings.import_max_line_bytes, max_depth=settings.max_json_depth,
        ).as_dict()  # fmt: skip

    return await run_in_threadpool(work)


class _Body(io.RawIOBase):
    """The request body as a blocking file, for the import running in a worker thread: each read
    waits for the next chunk on the event loop, so the body is never held whole, in memory or on disk."""

    def __init__(self, request: Request) -> None:
        self._chunks = request.stream().__aiter__()
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = anyio.from_thread.run(self._next_chunk)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    async def _next_chunk(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None
