"""What the lineage reads return: models, traces, impact and the graph."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from catalog.releases.schemas import GateResult


class ReleaseRef(BaseModel):
    dataset_id: uuid.UUID
    dataset: str = Field(description="the dataset's name")
    tag: str


class ModelRef(BaseModel):
    namespace: str
    name: str
    version: str


class ModelVersionOut(BaseModel):
    version: str
    run_id: uuid.UUID = Field(description="the run that produced it")
    created_at: datetime


class ModelOut(BaseModel):
    namespace: str
    name: str
    versions: list[ModelVersionOut]


class TrainingRun(BaseModel):
    run_id: uuid.UUID
    job_namespace: str
    job_name: str
    state: str | None
    started_at: datetime | None
    ended_at: datetime | None


class ReleaseTrace(BaseModel):
    dataset_id: uuid.UUID
    dataset: str
    tag: str
    root: str
    records: int
    annotations: int
    by_source: dict[str, int] = Field(description="released labels by where they came from")
    annotators: list[str]
    guideline_versions: dict[str, int] = Field(description="released labels by guideline version ('(none)' without)")
    gates: list[GateResult]
    override: dict[str, Any] | None


class ModelTrace(BaseModel):
    model: str
    namespace: str
    versions: list[str]
    runs: list[TrainingRun] = Field(description="the runs that produced the model")
    releases: list[ReleaseTrace] = Field(description="the labeltrail releases upstream of those runs")
    hidden_releases: int = Field(description="releases upstream in datasets the caller may not see")


class TraceRow(BaseModel):
    """One released label behind a model, with who made it under which guideline."""

    dataset: str
    tag: str
    record_id: uuid.UUID
    annotation_id: uuid.UUID
    question: str
    revision_id: uuid.UUID
    revision: int
    annotator: str
    source: str
    guideline_version: int | None


class ImpactOut(BaseModel):
    releases: list[ReleaseRef]
    models: list[ModelRef]


class LineageEdge(BaseModel):
    origin: str
    destination: str


class LineageNode(BaseModel):
    """A job or dataset of the lineage graph, with Marquez's node ids (``job:<namespace>:<name>``)."""

    id: str
    type: Literal["JOB", "DATASET"]
    namespace: str
    name: str
    is_model: bool = False
    in_edges: list[LineageEdge]
    out_edges: list[LineageEdge]


class LineageGraph(BaseModel):
    graph: list[LineageNode]
