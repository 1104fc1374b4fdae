"""Pydantic DTOs: what services accept and return. Both APIs speak exactly these shapes."""

import uuid
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from catalog.authz import Role
from catalog.label_schema import LabelSchema

T = TypeVar("T")
Text = Annotated[str, Field(max_length=1_000_000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


# --- principals, role bindings, API keys --------------------------------------------------

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@:-]*$")]


class BindingIn(_In):
    role: Role
    dataset_id: uuid.UUID | None = None


class BindingOut(BaseModel):
    id: uuid.UUID
    role: Role
    dataset_id: uuid.UUID | None
    granted_by: str
    granted_at: datetime


class PrincipalCreate(_In):
    name: Name
    roles: list[BindingIn] = Field(default_factory=list, max_length=100)
    key_expires_at: AwareDatetime | None = None


class PrincipalOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    disabled_at: datetime | None
    roles: list[BindingOut]


class ApiKeyOut(BaseModel):
    key_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedKey(BaseModel):
    """A new key: the secret is in this response and nowhere else, ever."""

    api_key: str
    key: ApiKeyOut


class PrincipalCreated(BaseModel):
    principal: PrincipalOut
    api_key: str
    key: ApiKeyOut


class KeyCreate(_In):
    expires_at: AwareDatetime | None = None


class KeyExpire(_In):
    expires_at: AwareDatetime


class KeyRotate(_In):
    grace_seconds: int = Field(default=0, ge=0, le=30 * 24 * 3600, description="how long the old key keeps working")


class Me(BaseModel):
    id: uuid.UUID
    name: str
    roles: list[Role]
    dataset_roles: dict[uuid.UUID, list[Role]]


# --- audit -------------------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    seq: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_name: str | None
    roles: list[str]
    action: str
    resource: str
    outcome: str
    request_id: str | None
    client: str | None
    details: dict[str, Any]
    previous_sha256: str
    sha256: str


class AuditFilter(_In):
    actor: str | None = None
    action: str | None = None
    resource: str | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class AuditSealOut(BaseModel):
    seq: int
    entry_sha256: str
    key_id: str
    hmac_sha256: str
    sealed_at: datetime


# --- datasets and guidelines -------------------------------------------------------------


class Origin(_In):
    source: str = ""
    method: str = ""
    licence: str = ""


class DatasetCreate(_In):
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    purpose: str = ""
    origin: Origin = Field(default_factory=Origin)
    legal_basis: str = ""
    task_types: list[str] = Field(default_factory=list)
    label_schema: LabelSchema


class DatasetOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    purpose: str
    origin: Origin
    legal_basis: str
    task_types: list[str]
    label_schema: LabelSchema
    created_by: str
    created_at: datetime


class GuidelineCreate(_In):
    text: Annotated[str, Field(min_length=1, max_length=1_000_000)]


class GuidelineOut(BaseModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    version: int
    sha256: str
    text: str
    author: str
    created_at: datetime


# --- records ------------------------------------------------------------------------------


class Message(_In):
    role: Literal["system", "user", "assistant"]
    content: Text


SPLITS = ("train", "validation", "test")
KNOWN_METADATA = ("task_type", "domain", "language", "split", "subject_id")


class RecordIn(_In):
    messages: list[Message] = Field(min_length=1)
    candidates: list[Text] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    external_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _known_metadata(self) -> "RecordIn":
        for key in KNOWN_METADATA:
            if key in self.metadata and not isinstance(self.metadata[key], str):
                raise ValueError(f"metadata.{key} must be a string")
        if self.metadata.get("split", SPLITS[0]) not in SPLITS:
            raise ValueError(f"metadata.split must be one of {', '.join(SPLITS)}")
        return self

    @cached_property
    def content(self) -> dict[str, Any]:
        """The record's canonical content: what is stored and hashed. Built once per record."""
        content: dict[str, Any] = {"messages": [{"role": m.role, "content": m.content} for m in self.messages]}
        if self.candidates is not None:
            content["candidates"] = list(self.candidates)
        return content


class RecordsCreate(_In):
    records: list[RecordIn] = Field(min_length=1, max_length=10_000)


class RecordIds(BaseModel):
    ids: list[uuid.UUID]


class RecordRetire(_In):
    reason: Annotated[str, Field(min_length=1, max_length=10_000)]


class RecordOut(BaseModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    external_id: str | None
    text: Literal["raw", "masked", "erased"] = Field(
        description="'raw' for roles with read_raw (each read audited); 'masked' (PII replaced) for every other "
        "role; 'erased' when the data subject's raw text was erased and only the masked form is left"
    )
    messages: list[Message]
    candidates: list[str] | None
    metadata: dict[str, Any]
    mask_status: Literal["pending", "masked"] = Field(
        description="roles without read_raw only ever see masked records"
    )
    detector_version: str | None = Field(description="the PII detector that masked the record")
    erased_at: datetime | None
    content_sha256: str
    created_at: datetime
    retired_at: datetime | None
    retire_reason: str | None


class SubjectErase(_In):
    reason: Annotated[str, Field(min_length=1, max_length=500, description="why: kept in the audit log")]


class ReleaseRef(BaseModel):
    dataset_id: uuid.UUID
    tag: str


class ModelRef(BaseModel):
    namespace: str
    name: str
    version: str


class ErasureOut(BaseModel):
    subject_id: str
    erased: list[uuid.UUID] = Field(description="records whose raw text this request erased")
    already_erased: list[uuid.UUID] = Field(description="records of the subject erased by an earlier request")
    datasets: list[uuid.UUID] = Field(description="datasets holding the subject's records")
    releases: list[ReleaseRef] = Field(
        description="releases holding the subject's records: they still verify, and export the masked text from now on"
    )
    models: list[ModelRef] = Field(description="models trained on those releases, as training runs reported them")


# --- annotations --------------------------------------------------------------------------


class SourceKind(StrEnum):
    HUMAN = "human"
    MODEL = "model"
    IMPORT = "import"
    ADJUDICATION = "adjudication"


class Source(_In):
    """Where a value came from. ``model`` needs the model's name; ``import`` the file."""

    kind: SourceKind = SourceKind.HUMAN
    model: str | None = None
    model_version: str | None = None
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_kind_name(cls, data: Any) -> Any:
        return {"kind": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _details(self) -> "Source":
        if self.kind is SourceKind.MODEL and not self.model:
            raise ValueError("a 'model' source needs the model's name in 'model'")
        if self.kind is SourceKind.IMPORT and not self.file:
            raise ValueError("an 'import' source needs the file it came from in 'file'")
        return self


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


AuthorStatus = Literal[Status.DRAFT, Status.SUBMITTED]


class AnnotationCreate(_In):
    question: str
    value: Any
    source: Source = Field(default_factory=Source)
    guideline_version: int | None = None
    status: AuthorStatus = Status.SUBMITTED


class AnnotationEdit(_In):
    base_revision: int = Field(ge=1)
    value: Any = None
    status: AuthorStatus | None = None
    reason: Annotated[str, Field(min_length=1, max_length=10_000)]
    guideline_version: int | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> "AnnotationEdit":
        if "value" not in self.model_fields_set and self.status is None:
            raise ValueError("an edit must change 'value' or 'status'")
        return self


class ReviewCreate(_In):
    base_revision: int = Field(ge=1)
    decision: Literal["accept", "reject"]
    comment: Annotated[str, Field(max_length=10_000)] = ""


FreeText = Annotated[
    Literal["raw", "masked", "pending"],
    Field(
        description="free text in value and reason: raw for roles with read_raw, else masked; "
        "'pending' (value and reason null) until an imported revision is masked"
    ),
]


class RevisionOut(BaseModel):
    revision: int
    kind: Literal["create", "edit", "review"]
    actor: str
    source: Source
    guideline_version: int | None
    created_at: datetime
    text: FreeText
    value: Any
    status: Status
    reason: str | None
    previous_sha256: str | None
    sha256: str


class AnnotationOut(BaseModel):
    id: uuid.UUID
    record_id: uuid.UUID
    question: str
    annotator: str
    source: Source
    created_at: datetime
    revision: int
    text: FreeText
    value: Any
    status: Status
    guideline_version: int | None
    updated_at: datetime


class History(BaseModel):
    annotation_id: uuid.UUID
    revisions: list[RevisionOut]


# --- releases -----------------------------------------------------------------------------

Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
ReleasableStatus = Literal[Status.SUBMITTED, Status.ACCEPTED]


class SplitRatios(_In):
    """How records without ``metadata.split`` are assigned, by a hash of their prompt."""

    train: float = Field(default=0.8, ge=0, le=1)
    validation: float = Field(default=0.1, ge=0, le=1)
    test: float = Field(default=0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitRatios":
        if abs(self.train + self.validation + self.test - 1) > 1e-9:
            raise ValueError("split ratios must add up to 1")
        return self


class GateOverride(_In):
    reason: Annotated[str, Field(min_length=1, max_length=2000, description="why the policy is set aside: audited")]


class ReleaseCreate(_In):
    tag: Tag
    notes: Annotated[str, Field(max_length=10_000)] = ""
    statuses: list[ReleasableStatus] = Field(
        default_factory=lambda: [Status.SUBMITTED, Status.ACCEPTED], min_length=1,
        description="which current annotation statuses are released (drafts and rejected never are)",
    )
    splits: SplitRatios = Field(default_factory=SplitRatios)
    benchmarks: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20, description="names of benchmark datasets to check for contamination"
    )
    override: GateOverride | None = Field(default=None, description="admins only: release despite failing gates")


class GateResult(BaseModel):
    gate: str
    passed: bool
    detail: str


class ContaminationExample(BaseModel):
    kind: Literal["exact", "near"]
    against: Literal["train", "benchmark"]
    record_id: uuid.UUID = Field(description="the record in the release's train split")
    other_id: uuid.UUID = Field(description="the test-split or benchmark record it overlaps")
    similarity: float = Field(description="estimated Jaccard similarity of word shingles (1.0 when exact)")


class ContaminationOut(BaseModel):
    test_records: int
    exact_train_test: int = Field(description="test records whose normalised prompt also occurs in train")
    near_train_test: int = Field(description="test records with a near-duplicate (MinHash) in train, exact ones aside")
    benchmark_records: int
    exact_benchmark: int = Field(description="benchmark records whose normalised prompt occurs in train")
    near_benchmark: int
    share: float = Field(description="(exact + near) / test records")
    threshold: float = Field(description="the Jaccard similarity from which two prompts are near-duplicates")
    examples: list[ContaminationExample]


class Profile(BaseModel):
    """A release's distributions: category counts, and (value, count) pairs for numeric features."""

    records: int
    annotations: int
    categorical: dict[str, dict[str, int]]
    numeric: dict[str, list[tuple[float, int]]]


class ReleaseOut(BaseModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    tag: str
    notes: str
    root: str = Field(description="Merkle root of the manifest (docs/releases.md says how to recompute it)")
    records: int
    annotations: int
    statuses: list[Status]
    splits: SplitRatios
    split_counts: dict[str, int]
    gates: list[GateResult]
    override: dict[str, Any] | None = Field(description="who released despite failing gates, and why")
    contamination: ContaminationOut
    created_by: str
    created_at: datetime


class FeatureShift(BaseModel):
    feature: str
    kind: Literal["categorical", "numeric"]
    test: Literal["ks", "chisquare", "z", "wasserstein", "jensenshannon"]
    score: float = Field(description="a p-value for ks, chisquare and z; a distance for wasserstein, jensenshannon")
    threshold: float
    drifted: bool = Field(description="p-value below the threshold, or distance at or above it")
    psi: float
    psi_drifted: bool = Field(description="PSI at or above 0.1")
    reference_size: int
    current_size: int


class ShiftOut(BaseModel):
    features: list[FeatureShift]
    drifted_features: int
    drift_share: float = Field(description="the share of drifted features from which the dataset drifted")
    dataset_drift: bool


class ReleaseDiff(BaseModel):
    base: str
    target: str
    records_added: int
    records_removed: int
    records_changed: int = Field(description="records in both releases whose released labels differ")
    annotations_added: int
    annotations_removed: int
    annotations_changed: int = Field(description="annotations in both releases at different revisions")
    examples: dict[str, list[uuid.UUID]] = Field(description="up to 100 record ids per kind of change")
    shift: ShiftOut


class ExportLabel(BaseModel):
    annotation_id: uuid.UUID
    question: str
    text: FreeText
    value: Any
    status: Status
    annotator: str
    source: Source
    guideline_version: int | None
    revision: int
    revision_sha256: str


class ExportRow(BaseModel):
    """One released record as training data, with the provenance of each of its labels."""

    record_id: uuid.UUID
    external_id: str | None
    split: str
    text: Literal["raw", "masked", "erased", "pending"] = Field(
        description="as for records; 'pending' (no messages) when the record awaits masking and the caller may not read raw"
    )
    messages: list[Message] | None
    candidates: list[str] | None
    metadata: dict[str, Any] | None
    record_sha256: str
    labels: list[ExportLabel]


# --- models and traces (from the lineage training runs report) -------------------------------


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
