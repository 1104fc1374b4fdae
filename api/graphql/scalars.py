"""Scalars that serialise exactly as the REST API's JSON does (pydantic's JSON mode), so the two
APIs return the same text for the same value: ``2026-12-02T10:00:00Z``, not ``+00:00``."""

from datetime import datetime

from pydantic_core import to_jsonable_python
from strawberry import scalar
from strawberry.scalars import JSON

SCALARS = {
    datetime: scalar(
        name="DateTime",
        description="A date and time in ISO 8601, with its time zone (UTC as 'Z')",
        serialize=to_jsonable_python,
        parse_value=datetime.fromisoformat,
    ),
    JSON: scalar(
        name="JSON",
        description="Any JSON value: record metadata, annotation values, label schemas",
        serialize=to_jsonable_python,
        parse_value=lambda value: value,
    ),
}
