"""What the audit trail takes and returns."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel

from catalog.core.schemas import InputModel


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


class AuditSealOut(BaseModel):
    seq: int
    entry_sha256: str
    key_id: str
    hmac_sha256: str
    sealed_at: datetime


