"""Models, traces, impact and the lineage graph through GraphQL, over the same services as REST.

Everything here needs ``lineage:read``, as REST does. A trace or an impact walks at most
``LABELTRAIL_LINEAGE_MAX_DEPTH`` steps, as REST's do. Reporting lineage stays REST-only: it is
OpenLineage's own HTTP protocol, spoken by its clients. REST's ``?detail=rows`` stream of a
trace is the ``modelTraceRows`` connection here.
"""

import uuid

import strawberry
from strawberry.experimental import pydantic as from_dto
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.access import ModelRef, ReleaseRef
from api.graphql.context import page_limit, read
from api.graphql.releases import GateResult
from api.graphql.types import Connection, connection
from catalog.lineage_graph import graph as lineage_graph
from catalog.lineage_graph import service as traces
from catalog.lineage_graph.schemas import (
    ImpactOut,
    LineageEdge,
    LineageGraph,
    LineageNode,
    ModelOut,
    ModelTrace,
    ModelVersionOut,
    ReleaseTrace,
    TraceRow,
    TrainingRun,
)


@from_dto.type(model=ModelVersionOut, all_fields=True, name="ModelVersion")
class ModelVersion:
    pass


@from_dto.type(model=ModelOut, all_fields=True, name="Model")
class Model:
    pass


@from_dto.type(model=TrainingRun, all_fields=True, name="TrainingRun")
class TrainingRun:
    pass


@from_dto.type(model=ReleaseTrace, all_fields=True, name="ReleaseTrace")
class ReleaseTrace:
    by_source: JSON
    guideline_versions: JSON
    gates: list[GateResult]
    override: JSON | None


@from_dto.type(model=TraceRow, all_fields=True, name="TraceRow")
class TraceRow:
    pass


@from_dto.type(model=ModelTrace, all_fields=True, name="ModelTrace")
class ModelTrace:
    pass


@from_dto.type(model=ImpactOut, all_fields=True, name="Impact")
class Impact:
    releases: list[ReleaseRef]
    models: list[ModelRef]


@from_dto.type(model=LineageEdge, all_fields=True, name="LineageEdge")
class LineageEdge:
    pass


@from_dto.type(model=LineageNode, all_fields=True, name="LineageNode")
class LineageNode:
    type: str


@from_dto.type(model=LineageGraph, all_fields=True, name="LineageGraph")
class LineageGraph:
    pass


def _max_depth(info: Info) -> int:
    return info.context.settings.lineage_max_depth  # REST's, from the same settings


@strawberry.type
class LineageQuery:
    @strawberry.field(description="The models training runs reported, each with its versions")
    async def models(self, info: Info) -> list[Model] | None:
        return await read(info, traces.list_models)

    @strawberry.field
    async def model(self, info: Info, name: str) -> Model | None:
        return await read(info, traces.get_model, name=name)

    @strawberry.field(description="The runs that produced the model, the releases they consumed and what those hold")
    async def model_trace(self, info: Info, name: str) -> ModelTrace | None:
        return await read(info, traces.trace_model, name=name, max_depth=_max_depth(info))

    @strawberry.field(description="Every released label behind the model (REST's ?detail=rows), a page at a time")
    async def model_trace_rows(
        self, info: Info, name: str, first: int | None = None, after: str | None = None
    ) -> Connection[TraceRow] | None:
        rows = traces.trace_rows_page
        page = await read(info, rows, name=name, max_depth=_max_depth(info), limit=page_limit(info, first), cursor=after)
        return connection(page)

    @strawberry.field(
        description="The releases and models one annotator, guideline version (of `dataset`, by name), record "
        "or data subject reached; name exactly one of them"
    )
    async def impact(
        self, info: Info, annotator: str | None = None, guideline_version: int | None = None,
        dataset: str | None = None, record: uuid.UUID | None = None, subject: str | None = None,
    ) -> Impact | None:  # fmt: skip
        return await read(
            info, traces.impact, annotator=annotator, guideline_version=guideline_version, dataset=dataset,
            record=record, subject=subject, max_depth=_max_depth(info),
        )  # fmt: skip

    @strawberry.field(description="The jobs and datasets within `depth` (0 to 20) steps of the node (as Marquez)")
    async def lineage(self, info: Info, node_id: str, depth: int = 5) -> LineageGraph | None:
        return await read(info, lineage_graph.lineage_graph, node_id=node_id, depth=depth)
