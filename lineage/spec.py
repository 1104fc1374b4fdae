"""The OpenLineage events labeltrail accepts, checked more strictly than Marquez checks them.

RunEvent, DatasetEvent and JobEvent as spec 2-0-2 defines them (``eventTime``, ``producer``,
``schemaURL``; a run's ``runId`` a UUID; jobs and datasets named by namespace and name), and
two rules Marquez lets pass: a timestamp must carry its timezone, and every facet must name its
``_producer`` and ``_schemaURL`` (or be a ``{"_deleted": true}`` marker). Unknown fields and
facets are kept: the raw event is stored as it came.
"""

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from catalog.core.json_input import bad_text

_TIMEZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


class InvalidEvent(ValueError):
    """The event breaks the spec or one of labeltrail's stricter rules; the message names the rule."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Facet(_Open):
    producer: AnyUrl | None = Field(default=None, alias="_producer")
    schema_url: AnyUrl | None = Field(default=None, alias="_schemaURL")
    deleted: bool = Field(default=False, alias="_deleted")

    @model_validator(mode="after")
    def _names_its_schema(self) -> "Facet":
        if not self.deleted and (self.producer is None or self.schema_url is None):
            raise ValueError("every facet must carry '_producer' and '_schemaURL' (OpenLineage BaseFacet)")
        return self


Facets = dict[str, Facet]


class Dataset(_Open):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: Facets = Field(default_factory=dict)


class InputDataset(Dataset):
    input_facets: Facets = Field(default_factory=dict, alias="inputFacets")


class OutputDataset(Dataset):
    output_facets: Facets = Field(default_factory=dict, alias="outputFacets")


class Job(_Open):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: Facets = Field(default_factory=dict)


class Run(_Open):
    run_id: uuid.UUID = Field(alias="runId")
    facets: Facets = Field(default_factory=dict)


class _Event(_Open):
    event_time: datetime = Field(alias="eventTime")
    producer: AnyUrl
    schema_url: AnyUrl = Field(alias="schemaURL")

    @field_validator("event_time", mode="before")
    @classmethod
    def _with_timezone(cls, value: Any) -> Any:
        if isinstance(value, str) and not _TIMEZONE.search(value.strip()):
            raise ValueError("a timestamp must carry its timezone (RFC 3339 date-time, e.g. 2024-01-01T00:00:00Z)")
        return value


class RunEvent(_Event):
    event_type: Literal[EVENT_TYPES] | None = Field(default=None, alias="eventType")  # type: ignore[valid-type]
    run: Run
    job: Job
    inputs: list[InputDataset] = Field(default_factory=list)
    outputs: list[OutputDataset] = Field(default_factory=list)


class DatasetEvent(_Event):
    dataset: Dataset


class JobEvent(_Event):
    job: Job
    inputs: list[InputDataset] = Field(default_factory=list)
    outputs: list[OutputDataset] = Field(default_factory=list)


Event = RunEvent | DatasetEvent | JobEvent


def parse_event(document: Any) -> Event:
    """The event, typed by what it holds (a run: RunEvent; a dataset: DatasetEvent; a job: JobEvent)."""
    if not isinstance(document, dict):
        raise InvalidEvent("an OpenLineage event is a JSON object")
    if (found := bad_text(document)) is not None:  # stored raw: PostgreSQL's jsonb cannot hold it
        where, problem = found
        raise InvalidEvent(f"{where}: {problem}")
    kind = RunEvent if "run" in document else DatasetEvent if "dataset" in document else JobEvent if "job" in document else None
    if kind is None:
        raise InvalidEvent("an OpenLineage event holds a run and a job (RunEvent), a dataset (DatasetEvent) or a job (JobEvent)")
    try:
        return kind.model_validate(document)
    except ValidationError as error:
        raise InvalidEvent(f"{kind.__name__}: {_first_problem(error)}") from None


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    message = problem["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
