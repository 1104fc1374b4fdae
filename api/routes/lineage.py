from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from api.deps import PrincipalDep, SessionDep
from catalog.lineage_graph.graph import lineage_graph
from catalog.lineage_graph.schemas import LineageGraph
from lineage.derive import ModelRules
from lineage.receive import Received, receive, receive_batch

router = APIRouter(tags=["lineage"])


def model_rules(request: Request) -> ModelRules:
    return ModelRules.from_settings(request.app.state.settings)


RulesDep = Annotated[ModelRules, Depends(model_rules)]
EventBody = Annotated[Any, Body(description="an OpenLineage RunEvent, DatasetEvent or JobEvent (spec 2-0-2)")]


@router.post("/lineage", status_code=201)
def post_event(event: EventBody, session: SessionDep, principal: PrincipalDep, rules: RulesDep) -> Received:
    """Report an OpenLineage event, as to Marquez: 201, or 400 naming the rule it breaks; the same event twice is stored once."""
    return receive(session, principal=principal, document=event, rules=rules)


@router.post("/lineage/batch", status_code=201)
def post_events(
    events: Annotated[Any, Body(description="a JSON array of OpenLineage events")],
    session: SessionDep, principal: PrincipalDep, rules: RulesDep,
) -> list[Received]:  # fmt: skip
    """Report several events at once: all stored, or none when one is invalid (400 naming it)."""
    return receive_batch(session, principal=principal, documents=events, rules=rules)


@router.get("/lineage")
def get_lineage(
    session: SessionDep, principal: PrincipalDep,
    node_id: Annotated[str, Query(alias="nodeId", description="job:<namespace>:<name> or dataset:<namespace>:<name>")],
    depth: Annotated[int, Query(ge=0, le=20)] = 5,
) -> LineageGraph:  # fmt: skip
    """The jobs and datasets within ``depth`` steps of the node, with the edges between them (as Marquez)."""
    return lineage_graph(session, principal=principal, node_id=node_id, depth=depth)
