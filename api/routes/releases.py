import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import PrincipalDep, SessionDep, read_session
from api.streaming import jsonl_response
from catalog.core.config import ReleasePolicy
from catalog.releases import service as releases
from catalog.releases.schemas import Profile, ReleaseCreate, ReleaseDiff, ReleaseOut

router = APIRouter(tags=["releases"])


def release_policy(request: Request) -> ReleasePolicy:
    return request.app.state.settings.release


PolicyDep = Annotated[ReleasePolicy, Depends(release_policy)]


@router.post("/datasets/{dataset_id}/releases", status_code=201)
def cut_release(
    dataset_id: uuid.UUID, body: ReleaseCreate, request: Request, session: SessionDep, principal: PrincipalDep,
    policy: PolicyDep,
) -> ReleaseOut:
    """Cut an immutable release; 409 names every gate it fails (an admin may override, with a reason)."""
    with read_session(request) as reading:  # text awaiting masking is refused before the write lock is taken
        releases.refuse_unmasked(reading, principal=principal, dataset_id=dataset_id, data=body, policy=policy)
    return releases.cut_release(session, principal=principal, dataset_id=dataset_id, data=body, policy=policy)


@router.get("/datasets/{dataset_id}/releases")
def list_releases(dataset_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[ReleaseOut]:
    return releases.list_releases(session, principal=principal, dataset_id=dataset_id)


@router.get("/datasets/{dataset_id}/releases/{tag}")
def get_release(dataset_id: uuid.UUID, tag: str, session: SessionDep, principal: PrincipalDep) -> ReleaseOut:
    return releases.get_release(session, principal=principal, dataset_id=dataset_id, tag=tag)


@router.get("/datasets/{dataset_id}/releases/{tag}/profile")
def get_profile(dataset_id: uuid.UUID, tag: str, session: SessionDep, principal: PrincipalDep) -> Profile:
    return releases.get_profile(session, principal=principal, dataset_id=dataset_id, tag=tag)


@router.get("/datasets/{dataset_id}/releases/{tag}/manifest", response_class=StreamingResponse)
def get_manifest(
    dataset_id: uuid.UUID, tag: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> StreamingResponse:
    """The manifest as JSON lines, one leaf document per record in leaf order (docs/releases.md)."""
    stream = releases.open_manifest(session, principal=principal, dataset_id=dataset_id, tag=tag)
    produce = partial(releases.manifest_documents, stream=stream)
    return jsonl_response(request.app.state.sessions, produce, filename=f"{tag}.manifest.jsonl")


@router.get("/datasets/{dataset_id}/releases/{tag}/export", response_class=StreamingResponse)
def export_release(
    dataset_id: uuid.UUID, tag: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> StreamingResponse:
    """Training rows as JSON lines: messages (masked unless the caller may read raw) and labels with provenance."""
    stream = releases.open_export(session, principal=principal, dataset_id=dataset_id, tag=tag)
    produce = partial(releases.export_documents, stream=stream)
    return jsonl_response(request.app.state.sessions, produce, filename=f"{tag}.jsonl")


@router.get("/datasets/{dataset_id}/releases/{base}/diff/{target}")
def diff_releases(
    dataset_id: uuid.UUID, base: str, target: str, session: SessionDep, principal: PrincipalDep,
    drift_share: Annotated[float, Query(gt=0, le=1, description="share of drifted features that means dataset drift")] = 0.5,
) -> ReleaseDiff:
    """What changed from release ``base`` to ``target``: records, labels, and per-feature distribution shift."""
    return releases.diff_releases(
        session, principal=principal, dataset_id=dataset_id, base=base, target=target, drift_share=drift_share
    )
