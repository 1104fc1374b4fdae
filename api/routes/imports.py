import dataclasses
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, SessionDep
from catalog.core.errors import InvalidInput
from catalog.importing.formats import Format
from catalog.importing.reading import open_file
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
    """Import the request body (JSON array or JSON lines, gzip too) in this request's transaction."""
    limit = request.app.state.settings.import_max_bytes
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        with path.open("wb") as sink:
            async for chunk in request.stream():
                if sink.tell() + len(chunk) > limit:
                    raise InvalidInput(f"the upload is larger than the {limit:,} bytes allowed", {"limit": limit})
                sink.write(chunk)

        def work():
            with open_file(path) as stream:
                report = run_import(
                    session, stream=stream, batch_size=request.app.state.settings.import_batch_size,
                    checkpoint=session.flush, principal=principal, dataset_id=dataset_id, fmt=format,
                    file_name=file_name, sync=sync, dry_run=dry_run, question=question,
                )
            if dry_run:
                session.rollback()
            return dataclasses.asdict(report)

        return await run_in_threadpool(work)
