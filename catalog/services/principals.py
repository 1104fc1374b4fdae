"""Principals and API keys. Keys are random, shown once, stored as sha256, compared in constant time."""

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.authz import Action, Principal, Role, require
from catalog.dtos import PrincipalOut
from catalog.errors import Conflict, Unauthenticated
from catalog.models import ApiKeyRow, PrincipalRow, utcnow

KEY_PREFIX = "lt"
SYSTEM_NAME = "system"


def create_principal(
    session: Session, *, principal: Principal, name: str, role: Role
) -> tuple[PrincipalOut, str]:
    """Create a principal with one API key; the key is returned here and never again."""
    require(principal, Action.PRINCIPAL_MANAGE)
    if session.scalar(select(PrincipalRow.id).where(PrincipalRow.name == name)):
        raise Conflict(f"a principal named '{name}' already exists", {"name": name})
    row = PrincipalRow(name=name, role=role.value)
    session.add(row)
    session.flush()
    return PrincipalOut(name=row.name, role=role), _issue_key(session, row.id)


def _issue_key(session: Session, principal_id: uuid.UUID) -> str:
    key_id = secrets.token_hex(8)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    session.add(ApiKeyRow(principal_id=principal_id, key_id=key_id, key_sha256=_digest(key)))
    session.flush()
    return key


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate(session: Session, *, key: str) -> Principal:
    """The principal an API key belongs to; any problem is the same 401, saying nothing more."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthenticated("invalid API key")
    found = session.execute(
        select(ApiKeyRow, PrincipalRow)
        .join(PrincipalRow, PrincipalRow.id == ApiKeyRow.principal_id)
        .where(ApiKeyRow.key_id == parts[1])
    ).first()
    now = utcnow()
    if (
        found is None
        or not hmac.compare_digest(found.ApiKeyRow.key_sha256, _digest(key))
        or found.ApiKeyRow.revoked_at is not None
        or (found.ApiKeyRow.expires_at is not None and found.ApiKeyRow.expires_at <= now)
        or found.PrincipalRow.disabled_at is not None
    ):
        raise Unauthenticated("invalid API key")
    return _to_principal(found.PrincipalRow)


def system_principal(session: Session) -> Principal:
    """The operator acting through the CLI on the host: an admin that has no API key."""
    row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == SYSTEM_NAME))
    if row is None:
        row = PrincipalRow(name=SYSTEM_NAME, role=Role.ADMIN.value)
        session.add(row)
        session.flush()
    return _to_principal(row)


def find_principal(session: Session, name: str) -> Principal | None:
    row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))
    return _to_principal(row) if row else None


def principal_names(session: Session, ids) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(PrincipalRow.id, PrincipalRow.name).where(PrincipalRow.id.in_(wanted)))
    return {principal_id: name for principal_id, name in rows}


def _to_principal(row: PrincipalRow) -> Principal:
    return Principal(id=row.id, name=row.name, role=Role(row.role))
