"""What the dataset and guideline services take and return."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from catalog.core.schemas import InputModel
from catalog.datasets.label_schema import LabelSchema


class Origin(InputModel):
    source: str = ""
    method: str = ""
    licence: str = ""


class DatasetCreate(InputModel):
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


class GuidelineCreate(InputModel):
    text: Annotated[str, Field(min_length=1, max_length=1_000_000)]


class GuidelineOut(BaseModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    version: int
    sha256: str
    text: str
    author: str
    created_at: datetime


