"""Principals, their role bindings and API keys.

Keys are random, shown once, stored as sha256 and compared in constant time. Role bindings are
never deleted: revoking one stamps it, so who could do what, when, stays answerable.
"""

import dataclasses
import hashlib
import hmac
import secrets
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.access.policy import Action, check_grant, require
from catalog.access.schemas import (
    ApiKeyOut,
    BindingIn,
    BindingOut,
    IssuedKey,
    KeyCreate,
    KeyExpire,
    KeyRotate,
    Me,
    PrincipalCreate,
    PrincipalCreated,
    PrincipalOut,
)
from catalog.core import audit_log
from catalog.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from catalog.core.models import ApiKeyRow, DatasetRow, PrincipalRow, RoleBindingRow, utcnow
from catalog.core.principal import Principal, Role

if TYPE_CHECKING:  # PyJWT and the logger load with OIDC, which only the HTTP app uses
    from catalog.access.oidc import OidcIdentity

KEY_PREFIX = "lt"
OIDC_PREFIX = "oidc:"
SYSTEM_NAME = "system"
# The host's operators: the operating-system users who run the CLI, each a principal of its own.
OPERATOR_PREFIX = "os:"
# Stamping last use on every request would make every read a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# --- identity ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KeyHolder:
    """Who an API key belongs to, and the key's row when its last use is due to be stamped."""

    principal: Principal
    stamp_due: uuid.UUID | None


def authenticate(session: Session, *, key: str) -> Principal:
    """The principal an API key belongs to, its last use stamped in ``session``."""
    holder = identify(session, key=key)
    if holder.stamp_due is not None:
        stamp_use(session, holder.stamp_due)
    return holder.principal


def identify(session: Session, *, key: str) -> KeyHolder:
    """The principal an API key belongs to, read without writing; any problem is the same 401,
    saying nothing more. Stamping the key's last use, when due, is left to the caller, so that
    a request that only reads need not take a write lock for it (see :func:`stamp_use`).

    One statement reads the key, its principal and the principal's active role bindings (one row
    per binding, or one row without a binding), as plain rows: this runs on every request."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthenticated("invalid API key")
    rows = session.execute(
        select(
            ApiKeyRow.id, ApiKeyRow.key_sha256, ApiKeyRow.revoked_at, ApiKeyRow.expires_at, ApiKeyRow.last_used_at,
            PrincipalRow.id.label("principal_id"), PrincipalRow.name, PrincipalRow.disabled_at,
            RoleBindingRow.role, RoleBindingRow.dataset_id,
        )
        .join(PrincipalRow, PrincipalRow.id == ApiKeyRow.principal_id)
        .outerjoin(
            RoleBindingRow, (RoleBindingRow.principal_id == PrincipalRow.id) & RoleBindingRow.revoked_at.is_(None)
        )
        .where(ApiKeyRow.key_id == parts[1])
    ).all()  # fmt: skip
    now = utcnow()
    found = rows[0] if rows else None
    if found is None or not _usable(found, key, now):
        raise Unauthenticated("invalid API key")
    due = found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION
    bindings = [(row.role, row.dataset_id) for row in rows if row.role is not None]
    return KeyHolder(_principal(found.principal_id, found.name, bindings), found.id if due else None)


def _usable(found, key: str, now: datetime) -> bool:
    """Whether the key of a row of :func:`identify` is this one, and usable now by its principal."""
    return (
        hmac.compare_digest(found.key_sha256, _digest(key))
        and found.revoked_at is None
        and (found.expires_at is None or found.expires_at > now)
        and found.disabled_at is None
    )


def stamp_use(session: Session, key_row_id: uuid.UUID) -> None:
    """Stamp a key's last use, unless a request beside this one did within the minute: two
    requests that both found the stamp due write it once."""
    now = utcnow()
    session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.id == key_row_id)
        .where((ApiKeyRow.last_used_at.is_(None)) | (ApiKeyRow.last_used_at <= now - LAST_USED_RESOLUTION))
        .values(last_used_at=now)
    )


def principal_for_identity(session: Session, identity: "OidcIdentity", *, provision: bool = True) -> Principal | None:
    """The principal behind an identity provider's token, made on first sight (None instead, when
    not ``provision``: the caller then provisions in a transaction that writes).

    It is named ``oidc:<subject>`` (never after a claim the user can choose, which could take a
    local principal's name). Its global roles are the token's, plus any granted here; dataset
    roles are granted here, as for everyone.
    """
    name = f"{OIDC_PREFIX}{identity.subject}"
    row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))
    if row is None and not provision:
        return None
    if row is None:
        row = PrincipalRow(name=name)
        session.add(row)
        session.flush()
        audit_log.append(
            session, actor=None, action=Action.PRINCIPAL_MANAGE, resource=f"principal:{row.id}",
            details={"operation": "provision", "issuer": identity.issuer, "subject": identity.subject,
                     "display_name": identity.name},
        )
    elif row.disabled_at is not None:
        raise Unauthenticated("invalid bearer token")
    loaded = load_principal(session, row)
    return dataclasses.replace(loaded, roles=loaded.roles | identity.roles)


def load_principal(session: Session, row: PrincipalRow) -> Principal:
    """The principal with its active role bindings, global and per dataset."""
    bindings = session.execute(
        select(RoleBindingRow.role, RoleBindingRow.dataset_id).where(
            RoleBindingRow.principal_id == row.id, RoleBindingRow.revoked_at.is_(None)
        )
    )
    return _principal(row.id, row.name, bindings)


def _principal(principal_id: uuid.UUID, name: str, bindings) -> Principal:
    """A principal from its active bindings, ``(role, dataset id or None)`` pairs."""
    global_roles: set[Role] = set()
    per_dataset: dict[uuid.UUID, set[Role]] = defaultdict(set)
    for role, dataset_id in bindings:
        (per_dataset[dataset_id] if dataset_id else global_roles).add(Role(role))
    return Principal(
        id=principal_id,
        name=name,
        roles=frozenset(global_roles),
        dataset_roles={dataset_id: frozenset(roles) for dataset_id, roles in per_dataset.items()},
    )


def system_principal(session: Session) -> Principal:
    """The operator acting through the CLI on the host: an admin that has no API key."""
    row, made = _found_or_made(session, SYSTEM_NAME)
    if made:
        session.add(RoleBindingRow(principal_id=row.id, role=Role.ADMIN.value, granted_by=row.id))
        session.flush()
    return load_principal(session, row)


def _found_or_made(session: Session, name: str) -> tuple[PrincipalRow, bool]:
    """The principal row called ``name``, and whether this call made it. Two processes may make
    it at once (two CLI commands of one user on PostgreSQL): the insert runs in a savepoint, and
    the loser of that race reads the winner's row."""
    row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))
    if row is not None:
        return row, False
    try:
        with session.begin_nested():
            row = PrincipalRow(name=name)
            session.add(row)
            session.flush()
    except IntegrityError:
        return session.scalars(select(PrincipalRow).where(PrincipalRow.name == name)).one(), False
    return row, True


def host_operator(session: Session, username: str) -> Principal:
    """The operating-system user ``username`` running the CLI on the host, as ``os:<username>``.

    Like ``system``, an admin without API keys (whoever can run the CLI against the database can
    change anything in it), but named, so that what the CLI does records who did it. Made on
    first use, granted by ``system`` and audited.
    """
    name = f"{OPERATOR_PREFIX}{username}"
    row, made = _found_or_made(session, name)
    if made:
        system = system_principal(session)
        session.add(RoleBindingRow(principal_id=row.id, role=Role.ADMIN.value, granted_by=system.id))
        session.flush()
        audit_log.append(
            session, actor=system, action=Action.PRINCIPAL_MANAGE, resource=f"principal:{row.id}",
            details={"operation": "provision", "name": name, "roles": ["admin globally"]},
        )
    return load_principal(session, row)


def find_principal(session: Session, name: str) -> Principal | None:
    row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))
    return load_principal(session, row) if row else None


def principal_id_named(session: Session, *, principal: Principal, name: str) -> uuid.UUID:
    """The id of the principal called ``name`` (the CLI names principals; the API uses ids)."""
    require(principal, Action.PRINCIPAL_MANAGE)
    found = session.scalar(select(PrincipalRow.id).where(PrincipalRow.name == name))
    if found is None:
        raise NotFound(f"no principal named '{name}'", {"name": name})
    return found


def describe(principal: Principal) -> Me:
    """Who the caller is and the roles it holds, globally and per dataset."""
    return Me(
        id=principal.id,
        name=principal.name,
        roles=sorted(principal.roles),
        dataset_roles={dataset_id: sorted(roles) for dataset_id, roles in principal.dataset_roles.items()},
    )


def principal_names(session: Session, ids) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(PrincipalRow.id, PrincipalRow.name).where(PrincipalRow.id.in_(wanted)))
    return {principal_id: name for principal_id, name in rows}


# --- administration ---------------------------------------------------------------------------


def create_principal(session: Session, *, principal: Principal, data: PrincipalCreate) -> PrincipalCreated:
    """Create a principal with its roles and one API key; the key is returned here and never again."""
    require(principal, Action.PRINCIPAL_MANAGE)
    if data.name.startswith(OPERATOR_PREFIX):
        raise InvalidInput(
            f"names starting with '{OPERATOR_PREFIX}' are the host's operators, made by the CLI", {"name": data.name}
        )
    if session.scalar(select(PrincipalRow.id).where(PrincipalRow.name == data.name)):
        raise Conflict(f"a principal named '{data.name}' already exists", {"name": data.name})
    row = PrincipalRow(name=data.name)
    session.add(row)
    session.flush()
    for binding in data.roles:
        _grant(session, principal, row, binding)
    key, key_row = _issue_key(session, row.id, data.key_expires_at, principal.id)
    audit_log.append(
        session, actor=principal, action=Action.PRINCIPAL_MANAGE, resource=f"principal:{row.id}",
        details={"operation": "create", "name": row.name, "key_id": key_row.key_id,
                 "roles": [_binding_label(b) for b in data.roles]},
    )
    return PrincipalCreated(principal=_principal_out(session, row), api_key=key, key=_key_out(key_row))


def list_principals(session: Session, *, principal: Principal) -> list[PrincipalOut]:
    require(principal, Action.PRINCIPAL_MANAGE)
    rows = session.scalars(select(PrincipalRow).order_by(PrincipalRow.name)).all()
    bindings = _active_bindings(session, [row.id for row in rows])
    names = principal_names(session, {b.granted_by for found in bindings.values() for b in found})
    return [_to_principal_out(row, bindings.get(row.id, []), names) for row in rows]


def get_principal(session: Session, *, principal: Principal, principal_id: uuid.UUID) -> PrincipalOut:
    require(principal, Action.PRINCIPAL_MANAGE)
    return _principal_out(session, _principal_row(session, principal_id))


def grant_role(
    session: Session, *, principal: Principal, principal_id: uuid.UUID, data: BindingIn
) -> BindingOut:
    require(principal, Action.PRINCIPAL_MANAGE)
    target = _changeable_row(session, principal_id)
    binding = _grant(session, principal, target, data)
    audit_log.append(
        session, actor=principal, action=Action.PRINCIPAL_MANAGE, resource=f"principal:{target.id}",
        details={"operation": "grant", "binding": str(binding.id), "role": binding.role,
                 "dataset_id": str(binding.dataset_id) if binding.dataset_id else None},
    )
    return _binding_out(binding, principal_names(session, [binding.granted_by]))


def revoke_role(session: Session, *, principal: Principal, principal_id: uuid.UUID, binding_id: uuid.UUID) -> None:
    require(principal, Action.PRINCIPAL_MANAGE)
    _changeable_row(session, principal_id)
    binding = session.scalar(
        select(RoleBindingRow).where(
            RoleBindingRow.id == binding_id,
            RoleBindingRow.principal_id == principal_id,
            RoleBindingRow.revoked_at.is_(None),
        )
    )
    if binding is None:
        raise NotFound("role binding not found", {"binding_id": str(binding_id)})
    binding.revoked_at, binding.revoked_by = utcnow(), principal.id
    session.flush()
    audit_log.append(
        session, actor=principal, action=Action.PRINCIPAL_MANAGE, resource=f"principal:{principal_id}",
        details={"operation": "revoke", "binding": str(binding.id), "role": binding.role,
                 "dataset_id": str(binding.dataset_id) if binding.dataset_id else None},
    )


def revoke_held_role(session: Session, *, principal: Principal, principal_id: uuid.UUID, data: BindingIn) -> None:
    """Revoke the binding of ``data``'s role and scope (a dataset, or global) the principal holds:
    the CLI names a binding by what it grants, the API by its id."""
    require(principal, Action.PRINCIPAL_MANAGE)
    name = _principal_row(session, principal_id).name
    binding = session.scalar(
        select(RoleBindingRow).where(
            RoleBindingRow.principal_id == principal_id,
            RoleBindingRow.role == data.role.value,
            RoleBindingRow.dataset_id.is_(None) if data.dataset_id is None else RoleBindingRow.dataset_id == data.dataset_id,
            RoleBindingRow.revoked_at.is_(None),
        ).order_by(RoleBindingRow.granted_at, RoleBindingRow.id)
    )
    if binding is None:
        dataset = session.get(DatasetRow, data.dataset_id) if data.dataset_id else None
        where = f"on {dataset.name}" if dataset else "globally"
        raise NotFound(f"{name} does not hold {data.role.value} {where}", {"name": name, "role": data.role.value})
    revoke_role(session, principal=principal, principal_id=principal_id, binding_id=binding.id)


def _grant(session: Session, actor: Principal, target: PrincipalRow, data: BindingIn) -> RoleBindingRow:
    check_grant(data.role, data.dataset_id)
    if data.dataset_id is not None and session.get(DatasetRow, data.dataset_id) is None:
        raise NotFound("dataset not found", {"dataset_id": str(data.dataset_id)})
    duplicate = select(RoleBindingRow.id).where(
        RoleBindingRow.principal_id == target.id,
        RoleBindingRow.role == data.role.value,
        RoleBindingRow.dataset_id.is_(None) if data.dataset_id is None else RoleBindingRow.dataset_id == data.dataset_id,
        RoleBindingRow.revoked_at.is_(None),
    )
    if session.scalar(duplicate):
        raise Conflict(f"'{target.name}' already holds {_binding_label(data)}", {"role": data.role.value})
    row = RoleBindingRow(principal_id=target.id, role=data.role.value, dataset_id=data.dataset_id, granted_by=actor.id)
    session.add(row)
    session.flush()
    return row


# --- API keys ---------------------------------------------------------------------------------


def create_key(session: Session, *, principal: Principal, principal_id: uuid.UUID, data: KeyCreate) -> IssuedKey:
    require(principal, Action.PRINCIPAL_MANAGE)
    target = _changeable_row(session, principal_id)
    key, row = _issue_key(session, target.id, data.expires_at, principal.id)
    _audit_key(session, principal, target.id, "create", row)
    return IssuedKey(api_key=key, key=_key_out(row))


def list_keys(session: Session, *, principal: Principal, principal_id: uuid.UUID) -> list[ApiKeyOut]:
    require(principal, Action.PRINCIPAL_MANAGE)
    _principal_row(session, principal_id)
    rows = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.principal_id == principal_id).order_by(ApiKeyRow.created_at)
    )
    return [_key_out(row) for row in rows]


def expire_key(
    session: Session, *, principal: Principal, principal_id: uuid.UUID, key_id: str, data: KeyExpire
) -> ApiKeyOut:
    require(principal, Action.PRINCIPAL_MANAGE)
    row = _live_key(session, principal_id, key_id)
    row.expires_at = data.expires_at
    session.flush()
    _audit_key(session, principal, principal_id, "expire", row)
    return _key_out(row)


def rotate_key(
    session: Session, *, principal: Principal, principal_id: uuid.UUID, key_id: str, data: KeyRotate
) -> IssuedKey:
    """Issue a replacement key; the old one keeps working for ``grace_seconds``, then expires."""
    require(principal, Action.PRINCIPAL_MANAGE)
    old = _live_key(session, principal_id, key_id)
    old_end = utcnow() + timedelta(seconds=data.grace_seconds)
    if old.expires_at is None or old.expires_at > old_end:
        old.expires_at = old_end
    key, row = _issue_key(session, principal_id, None, principal.id)
    _audit_key(session, principal, principal_id, "rotate", row, replaced=old.key_id)
    return IssuedKey(api_key=key, key=_key_out(row))


def revoke_key(session: Session, *, principal: Principal, principal_id: uuid.UUID, key_id: str) -> ApiKeyOut:
    require(principal, Action.PRINCIPAL_MANAGE)
    row = _live_key(session, principal_id, key_id)
    row.revoked_at = utcnow()
    session.flush()
    _audit_key(session, principal, principal_id, "revoke", row)
    return _key_out(row)


def find_key_owner(session: Session, *, principal: Principal, key_id: str) -> uuid.UUID:
    """The principal a key id belongs to (the CLI names keys by id alone)."""
    require(principal, Action.PRINCIPAL_MANAGE)
    owner = session.scalar(select(ApiKeyRow.principal_id).where(ApiKeyRow.key_id == key_id))
    if owner is None:
        raise NotFound("API key not found", {"key_id": key_id})
    return owner


def _issue_key(
    session: Session, principal_id: uuid.UUID, expires_at: datetime | None, created_by: uuid.UUID | None
) -> tuple[str, ApiKeyRow]:
    key_id = secrets.token_hex(8)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        principal_id=principal_id, key_id=key_id, key_sha256=_digest(key), expires_at=expires_at, created_by=created_by
    )
    session.add(row)
    session.flush()
    return key, row


def _live_key(session: Session, principal_id: uuid.UUID, key_id: str) -> ApiKeyRow:
    row = session.scalar(
        select(ApiKeyRow).where(ApiKeyRow.principal_id == principal_id, ApiKeyRow.key_id == key_id)
    )
    if row is None:
        raise NotFound("API key not found", {"key_id": key_id})
    if row.revoked_at is not None:
        raise Conflict("the API key is already revoked", {"key_id": key_id})
    return row


def _audit_key(session: Session, actor: Principal, principal_id: uuid.UUID, operation: str, row: ApiKeyRow, **extra) -> None:
    audit_log.append(
        session, actor=actor, action=Action.PRINCIPAL_MANAGE, resource=f"principal:{principal_id}",
        details={"operation": f"key:{operation}", "key_id": row.key_id,
                 "expires_at": row.expires_at.isoformat() if row.expires_at else None, **extra},
    )


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- shapes -----------------------------------------------------------------------------------


def _principal_row(session: Session, principal_id: uuid.UUID) -> PrincipalRow:
    row = session.get(PrincipalRow, principal_id)
    if row is None:
        raise NotFound("principal not found", {"principal_id": str(principal_id)})
    return row


def _changeable_row(session: Session, principal_id: uuid.UUID) -> PrincipalRow:
    """A principal whose roles and keys may change: any but ``system`` and the host's operators
    (``os:<user>``).

    Revoking their admin role would lock the CLI out; a key for one would make the host's
    operator reachable over the network.
    """
    row = _principal_row(session, principal_id)
    if row.name == SYSTEM_NAME or row.name.startswith(OPERATOR_PREFIX):
        whose = "the system principal is the host operator's" if row.name == SYSTEM_NAME else (
            f"{row.name} is a host operator's principal"
        )
        raise Conflict(f"{whose}: its roles and keys cannot be changed", {"principal_id": str(principal_id)})
    return row


def _active_bindings(session: Session, principal_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RoleBindingRow]]:
    found: dict[uuid.UUID, list[RoleBindingRow]] = defaultdict(list)
    if principal_ids:
        for row in session.scalars(
            select(RoleBindingRow)
            .where(RoleBindingRow.principal_id.in_(principal_ids), RoleBindingRow.revoked_at.is_(None))
            .order_by(RoleBindingRow.granted_at)
        ):
            found[row.principal_id].append(row)
    return found


def _principal_out(session: Session, row: PrincipalRow) -> PrincipalOut:
    bindings = _active_bindings(session, [row.id]).get(row.id, [])
    return _to_principal_out(row, bindings, principal_names(session, {b.granted_by for b in bindings}))


def _to_principal_out(row: PrincipalRow, bindings: list[RoleBindingRow], names: dict[uuid.UUID, str]) -> PrincipalOut:
    return PrincipalOut(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        roles=[_binding_out(binding, names) for binding in bindings],
    )


def _binding_out(row: RoleBindingRow, names: dict[uuid.UUID, str]) -> BindingOut:
    return BindingOut(
        id=row.id, role=Role(row.role), dataset_id=row.dataset_id,
        granted_by=names.get(row.granted_by, ""), granted_at=row.granted_at,
    )


def _binding_label(binding: BindingIn) -> str:
    return f"{binding.role}" + (f" on dataset {binding.dataset_id}" if binding.dataset_id else " globally")


def _key_out(row: ApiKeyRow) -> ApiKeyOut:
    return ApiKeyOut(
        key_id=row.key_id, created_at=row.created_at, expires_at=row.expires_at,
        revoked_at=row.revoked_at, last_used_at=row.last_used_at,
    )
