"""What the annotation services take and return: sources, statuses, revisions."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from catalog.annotations.status import Status
from catalog.core.schemas import InputModel


class SourceKind(StrEnum):
    HUMAN = "human"
    MODEL = "model"
    IMPORT = "import"
    ADJUDICATION = "adjudication"


class Source(InputModel):
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


AuthorStatus = Literal[Status.DRAFT, Status.SUBMITTED]


class AnnotationCreate(InputModel):
    question: str
    value: Any
    source: Source = Field(default_factory=Source)
    guideline_version: int | None = None
    status: AuthorStatus = Status.SUBMITTED


class AnnotationEdit(InputModel):
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


class ReviewCreate(InputModel):
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


