"""What the audit trail takes and returns."""

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, field_validator

from catalog.core.schemas import InputModel

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


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


class AuditFilter(InputModel):
    actor: str | None = None
    action: str | None = None
    resource: str | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None

    @field_validator("since", "until", mode="before")
    @classmethod
    def _a_timestamp_not_a_number(cls, value: Any) -> Any:
        """An ISO 8601 timestamp with its timezone, as documented; pydantic would also read a number
        as seconds since 1970 (``-15527549`` is 1969), which nobody filtering an audit log means."""
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value.strip())):
            raise ValueError("an ISO 8601 timestamp with a timezone (2026-01-31T12:00:00Z), not a number")
        return value


class AuditSealOut(BaseModel):
    seq: int
    entry_sha256: str
    key_id: str
    hmac_sha256: str
    sealed_at: datetime


