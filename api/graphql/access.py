"""Governance through GraphQL: principals, their roles and keys (``principal:manage``), the audit
log (``audit:read``) and erasure (``subject:erase``), over the same services as REST.

The audit log's JSON Lines export stays REST-only: it streams, which a GraphQL response does not.
"""

import uuid

import strawberry
from strawberry.experimental import pydantic as from_dto
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.context import ENDPOINT, page_limit, read, write
from api.graphql.inputs import input_from
from api.graphql.types import Connection, connection
from catalog.access import service as principals
from catalog.access.schemas import (
    ApiKeyOut,
    BindingIn,
    BindingOut,
    IssuedKey,
    KeyCreate,
    KeyExpire,
    KeyRotate,
    PrincipalCreate,
    PrincipalCreated,
    PrincipalOut,
)
from catalog.audit import service as audit_trail
from catalog.audit.schemas import AuditEntryOut, AuditFilter, AuditSealOut
from catalog.core.principal import Principal
from catalog.lineage_graph.schemas import ModelRef, ReleaseRef
from catalog.subjects import service as subjects
from catalog.subjects.schemas import ErasureOut, SubjectErase

BindingInput = input_from(BindingIn, "BindingInput")
CreatePrincipalInput = input_from(PrincipalCreate, "CreatePrincipalInput")
CreateKeyInput = input_from(KeyCreate, "CreateKeyInput")
ExpireKeyInput = input_from(KeyExpire, "ExpireKeyInput")
RotateKeyInput = input_from(KeyRotate, "RotateKeyInput")
AuditFilterInput = input_from(AuditFilter, "AuditFilterInput")
EraseSubjectInput = input_from(SubjectErase, "EraseSubjectInput")


@from_dto.type(model=BindingOut, all_fields=True, name="RoleBinding")
class RoleBinding:
    role: str


@from_dto.type(model=ApiKeyOut, all_fields=True, name="ApiKey")
class ApiKey:
    pass


@from_dto.type(model=IssuedKey, all_fields=True, name="IssuedKey")
class IssuedKey:
    pass


@from_dto.type(model=PrincipalOut, all_fields=True, name="Principal")
class PrincipalAccount:
    @strawberry.field(description="the principal's API keys: ids and dates, never a secret")
    async def keys(self, info: Info) -> list[ApiKey]:
        return await read(info, principals.list_keys, principal_id=self.id)


@from_dto.type(model=PrincipalCreated, all_fields=True, name="PrincipalCreated")
class PrincipalCreated:
    pass


@from_dto.type(model=AuditEntryOut, all_fields=True, name="AuditEntry")
class AuditEntry:
    details: JSON


@from_dto.type(model=AuditSealOut, all_fields=True, name="AuditSeal")
class AuditSeal:
    pass


@from_dto.type(model=ReleaseRef, all_fields=True, name="ReleaseRef")
class ReleaseRef:
    pass


@from_dto.type(model=ModelRef, all_fields=True, name="ModelRef")
class ModelRef:
    pass


@from_dto.type(model=ErasureOut, all_fields=True, name="Erasure")
class Erasure:
    pass


@strawberry.type
class AccessQuery:
    @strawberry.field(description="Every principal with its active role bindings")
    async def principals(self, info: Info) -> list[PrincipalAccount] | None:
        return await read(info, principals.list_principals)

    @strawberry.field
    async def principal(self, info: Info, id: uuid.UUID) -> PrincipalAccount | None:
        return await read(info, principals.get_principal, principal_id=id)

    @strawberry.field(description="Audit entries, oldest first")
    async def audit_entries(
        self, info: Info, input: AuditFilterInput | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[AuditEntry] | None:
        page = await read(
            info, audit_trail.list_entries, where=input or AuditFilterInput(), limit=page_limit(info, first),
            cursor=after,
        )
        return connection(page)

    @strawberry.field
    async def audit_seals(self, info: Info) -> list[AuditSeal] | None:
        return await read(info, audit_trail.list_seals)


@strawberry.type
class AccessMutation:
    @strawberry.mutation(description="A principal with its roles and one API key, shown in this response only")
    async def create_principal(self, info: Info, input: CreatePrincipalInput) -> PrincipalCreated | None:
        return await write(info, ENDPOINT, principals.create_principal, data=input)

    @strawberry.mutation
    async def grant_role(self, info: Info, principal_id: uuid.UUID, input: BindingInput) -> RoleBinding | None:
        return await write(info, _of(principal_id), principals.grant_role, principal_id=principal_id, data=input)

    @strawberry.mutation(description="Stamps the binding revoked; true once done")
    async def revoke_role(self, info: Info, principal_id: uuid.UUID, binding_id: uuid.UUID) -> bool | None:
        await write(info, _of(principal_id), principals.revoke_role, principal_id=principal_id, binding_id=binding_id)
        return True

    @strawberry.mutation
    async def create_key(self, info: Info, principal_id: uuid.UUID, input: CreateKeyInput) -> IssuedKey | None:
        return await write(info, _of(principal_id), principals.create_key, principal_id=principal_id, data=input)

    @strawberry.mutation
    async def expire_key(
        self, info: Info, principal_id: uuid.UUID, key_id: str, input: ExpireKeyInput
    ) -> ApiKey | None:
        expire = principals.expire_key
        return await write(info, _of(principal_id), expire, principal_id=principal_id, key_id=key_id, data=input)

    @strawberry.mutation(description="A new key; the old one expires after the grace period")
    async def rotate_key(
        self, info: Info, principal_id: uuid.UUID, key_id: str, input: RotateKeyInput
    ) -> IssuedKey | None:
        rotate = principals.rotate_key
        return await write(info, _of(principal_id), rotate, principal_id=principal_id, key_id=key_id, data=input)

    @strawberry.mutation
    async def revoke_key(self, info: Info, principal_id: uuid.UUID, key_id: str) -> ApiKey | None:
        return await write(info, _of(principal_id), principals.revoke_key, principal_id=principal_id, key_id=key_id)

    @strawberry.mutation(description="Erase the data subject's raw text everywhere (GDPR); masked text stays")
    async def erase_subject(self, info: Info, subject_id: str, input: EraseSubjectInput) -> Erasure | None:
        depth = info.context.settings.lineage_max_depth
        erased = await write(info, f"subject:{subject_id}", _erase, subject_id=subject_id, data=input, max_depth=depth)
        info.context.background_tasks.add_task(subjects.clear_erased_pages, info.context.request.app.state.sessions)
        return erased


def _of(principal_id: uuid.UUID) -> str:
    return f"principal:{principal_id}"


def _erase(
    session, *, principal: Principal, subject_id: str, data: SubjectErase, max_depth: int
) -> ErasureOut:
    return subjects.erase_subject(
        session, principal=principal, subject_id=subject_id, reason=data.reason, max_depth=max_depth
    )
