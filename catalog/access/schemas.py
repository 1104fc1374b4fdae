"""What the access services take and return: principals, role bindings, API keys."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from catalog.core.principal import Role
from catalog.core.schemas import InputModel

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@:-]*$")]


class BindingIn(InputModel):
    role: Role
    dataset_id: uuid.UUID | None = None


class BindingOut(BaseModel):
    id: uuid.UUID
    role: Role
    dataset_id: uuid.UUID | None
    granted_by: str
    granted_at: datetime


class PrincipalCreate(InputModel):
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


class KeyCreate(InputModel):
    expires_at: AwareDatetime | None = None


class KeyExpire(InputModel):
    expires_at: AwareDatetime


class KeyRotate(InputModel):
    grace_seconds: int = Field(default=0, ge=0, le=30 * 24 * 3600, description="how long the old key keeps working")


class Me(BaseModel):
    id: uuid.UUID
    name: str
    roles: list[Role]
    dataset_roles: dict[uuid.UUID, list[Role]]


