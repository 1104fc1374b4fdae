import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import INT32_MAX, PrincipalDep, SessionDep
from api.streaming import jsonl_response
from catalog.lineage_graph import service as traces
from catalog.lineage_graph.schemas import ImpactOut, ModelOut, ModelTrace

router = APIRouter(tags=["models"])


def _depth(request: Request) -> int:
    return request.app.state.settings.lineage_max_depth


@router.get("/models")
def list_models(session: SessionDep, principal: PrincipalDep) -> list[ModelOut]:
    return traces.list_models(session, principal=principal)


@router.get("/models/{name:path}/trace", response_model=None)
def trace_model(
    name: str, request: Request, session: SessionDep, principal: PrincipalDep,
    detail: Annotated[str, Query(pattern="^(summary|rows)$", description="'rows': every label behind the model, as JSON Lines")] = "summary",
) -> ModelTrace | StreamingResponse:  # fmt: skip
    """The runs that produced the model, the releases they consumed and what those hold."""
    if detail == "summary":
        return traces.trace_model(session, principal=principal, name=name, max_depth=_depth(request))
    traces.get_model(session, principal=principal, name=name)  # a missing model is a 404 before streaming
    rows = partial(traces.trace_rows, principal=principal, name=name, max_depth=_depth(request))
    return jsonl_response(request.app.state.sessions, rows, filename="trace.jsonl")


@router.get("/models/{name:path}")
def get_model(name: str, session: SessionDep, principal: PrincipalDep) -> ModelOut:
    return traces.get_model(session, principal=principal, name=name)


@router.get("/impact")
def impact(
    request: Request, session: SessionDep, principal: PrincipalDep,
    annotator: str | None = None, guideline_version: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    dataset: str | None = None,
    record: uuid.UUID | None = None, subject: str | None = None,
) -> ImpactOut:  # fmt: skip
    """The releases and models one annotator, guideline version (of ``dataset``), record or data subject reached."""
    return traces.impact(
        session, principal=principal, annotator=annotator, guideline_version=guideline_version, dataset=dataset,
        record=record, subject=subject, max_depth=_depth(request),
    )  # fmt: skip
