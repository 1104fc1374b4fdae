"""Administration of principals, their role bindings and API keys (``principal:manage``)."""

import uuid

from fastapi import APIRouter, Response

from api.deps import PrincipalDep, SessionDep
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

router = APIRouter(prefix="/principals", tags=["principals"])


@router.post("", status_code=201)
def create_principal(body: PrincipalCreate, session: SessionDep, principal: PrincipalDep) -> PrincipalCreated:
    return principals.create_principal(session, principal=principal, data=body)


@router.get("")
def list_principals(session: SessionDep, principal: PrincipalDep) -> list[PrincipalOut]:
    return principals.list_principals(session, principal=principal)


@router.get("/{principal_id}")
def get_principal(principal_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> PrincipalOut:
    return principals.get_principal(session, principal=principal, principal_id=principal_id)


@router.post("/{principal_id}/roles", status_code=201)
def grant_role(principal_id: uuid.UUID, body: BindingIn, session: SessionDep, principal: PrincipalDep) -> BindingOut:
    return principals.grant_role(session, principal=principal, principal_id=principal_id, data=body)


@router.delete("/{principal_id}/roles/{binding_id}", status_code=204)
def revoke_role(
    principal_id: uuid.UUID, binding_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    principals.revoke_role(session, principal=principal, principal_id=principal_id, binding_id=binding_id)
    return Response(status_code=204)


@router.post("/{principal_id}/keys", status_code=201)
def create_key(principal_id: uuid.UUID, body: KeyCreate, session: SessionDep, principal: PrincipalDep) -> IssuedKey:
    return principals.create_key(session, principal=principal, principal_id=principal_id, data=body)


@router.get("/{principal_id}/keys")
def list_keys(principal_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[ApiKeyOut]:
    return principals.list_keys(session, principal=principal, principal_id=principal_id)


@router.post("/{principal_id}/keys/{key_id}/expire")
def expire_key(
    principal_id: uuid.UUID, key_id: str, body: KeyExpire, session: SessionDep, principal: PrincipalDep
) -> ApiKeyOut:
    return principals.expire_key(session, principal=principal, principal_id=principal_id, key_id=key_id, data=body)


@router.post("/{principal_id}/keys/{key_id}/rotate", status_code=201)
def rotate_key(
    principal_id: uuid.UUID, key_id: str, body: KeyRotate, session: SessionDep, principal: PrincipalDep
) -> IssuedKey:
    return principals.rotate_key(session, principal=principal, principal_id=principal_id, key_id=key_id, data=body)


@router.post("/{principal_id}/keys/{key_id}/revoke")
def revoke_key(principal_id: uuid.UUID, key_id: str, session: SessionDep, principal: PrincipalDep) -> ApiKeyOut:
    return principals.revoke_key(session, principal=principal, principal_id=principal_id, key_id=key_id)
