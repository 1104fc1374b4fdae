from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request

from api.deps import PrincipalDep, SessionDep
from catalog.subjects import service as subjects
from catalog.subjects.schemas import ErasureOut

router = APIRouter(tags=["subjects"])

Reason = Annotated[str, Query(min_length=1, max_length=500, description="why: kept in the audit log")]


@router.delete("/subjects/{subject_id}")
def erase_subject(
    subject_id: str, reason: Reason, request: Request, background: BackgroundTasks,
    session: SessionDep, principal: PrincipalDep,
) -> ErasureOut:
    """Erase the data subject's raw text everywhere (GDPR); masked text and provenance stay."""
    background.add_task(subjects.clear_erased_pages, request.app.state.sessions)  # after the commit
    return subjects.erase_subject(
        session, principal=principal, subject_id=subject_id, reason=reason,
        max_depth=request.app.state.settings.lineage_max_depth,
    )  # fmt: skip
