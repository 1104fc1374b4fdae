"""What erasure of a data subject takes and returns."""

import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from catalog.core.schemas import InputModel
from catalog.lineage_graph.schemas import ModelRef, ReleaseRef


class SubjectErase(InputModel):
    reason: Annotated[str, Field(min_length=1, max_length=500, description="why: kept in the audit log")]


class ErasureOut(BaseModel):
    subject_id: str
    erased: list[uuid.UUID] = Field(description="records whose raw text this request erased")
    already_erased: list[uuid.UUID] = Field(description="records of the subject erased by an earlier request")
    datasets: list[uuid.UUID] = Field(description="datasets holding the subject's records")
    releases: list[ReleaseRef] = Field(
        description="releases holding the subject's records: they still verify, and export the masked text from now on"
    )
    models: list[ModelRef] = Field(description="models trained on those releases, as training runs reported them")


