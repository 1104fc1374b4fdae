"""What the release services take and return: manifests, profiles, shift, exports."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from catalog.annotations.schemas import FreeText, Source, Status
from catalog.core.schemas import InputModel
from catalog.records.schemas import Message

Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
ReleasableStatus = Literal[Status.SUBMITTED, Status.ACCEPTED]


class SplitRatios(InputModel):
    """How records without ``metadata.split`` are assigned, by a hash of their prompt."""

    train: float = Field(default=0.8, ge=0, le=1)
    validation: float = Field(default=0.1, ge=0, le=1)
    test: float = Field(default=0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitRatios":
        if abs(self.train + self.validation + self.test - 1) > 1e-9:
            raise ValueError("split ratios must add up to 1")
        return self


class GateOverride(InputModel):
    reason: Annotated[str, Field(min_length=1, max_length=2000, description="why the policy is set aside: audited")]


class ReleaseCreate(InputModel):
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


