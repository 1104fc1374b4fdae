"""What the record services take and return."""

import uuid
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from catalog.core.schemas import InputModel, Text


class Message(InputModel):
    role: Literal["system", "user", "assistant"]
    content: Text


SPLITS = ("train", "validation", "test")
KNOWN_METADATA = ("task_type", "domain", "language", "split", "subject_id")


class RecordIn(InputModel):
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


class RecordsCreate(InputModel):
    records: list[RecordIn] = Field(min_length=1, max_length=10_000)


class RecordIds(BaseModel):
    ids: list[uuid.UUID]


class RecordRetire(InputModel):
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
