"""CLI administration: principals and role bindings, API keys, and the audit log's seals and export.

Commands act as the host's operator (the ``system`` admin), and every change they make is audited
with ``client = cli``.
"""

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from api.cli import support as cli_support
from api.cli.support import fail
from catalog.access import service as principals
from catalog.access.schemas import BindingIn, KeyCreate, KeyExpire, KeyRotate, PrincipalCreate
from catalog.audit import service as audit_trail
from catalog.audit.schemas import AuditFilter
from catalog.core import audit_log
from catalog.core.db import transaction
from catalog.core.errors import DomainError, NotFound
from catalog.core.models import utcnow
from catalog.core.principal import Role
from catalog.datasets import service as datasets

users_app = typer.Typer(help="Principals and their role bindings.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: shown once, stored hashed.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: seals and export.", no_args_is_help=True)

DatasetOption = Annotated[str | None, typer.Option("--dataset", help="Grant on this dataset only (by name).")]


def _binding(session, system, role: Role, dataset: str | None) -> BindingIn:
    dataset_id = datasets.find_dataset_id(session, principal=system, name=dataset) if dataset else None
    return BindingIn(role=role, dataset_id=dataset_id)


def _principal_id(session, name: str) -> uuid.UUID:
    found = principals.find_principal(session, name)
    if found is None:
        raise NotFound(f"no principal named '{name}'", {"name": name})
    return found.id


@users_app.command("create")
def users_create(
    name: str,
    role: Annotated[list[Role], typer.Option(help="A role to grant (repeat for several).")] = [],  # noqa: B006
    dataset: DatasetOption = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="The first key expires after this.")] = None,
) -> None:
    """Create a principal with ROLE(s), on --dataset or globally; its API key is printed once, last."""
    try:
        with transaction(cli_support.sessions()) as session:
            system = principals.system_principal(session)
            created = principals.create_principal(
                session,
                principal=system,
                data=PrincipalCreate(
                    name=name,
                    roles=[_binding(session, system, each, dataset) for each in role],
                    key_expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
                ),
            )
    except DomainError as error:
        fail(error)
    roles = ", ".join(binding.role.value for binding in created.principal.roles) or "no roles"
    typer.echo(f"created {name} ({roles}); its API key, shown only now:")
    typer.echo(created.api_key)


@users_app.command("list")
def users_list() -> None:
    """Every principal with its active role bindings."""
    with transaction(cli_support.sessions()) as session:
        found = principals.list_principals(session, principal=principals.system_principal(session))
    for principal in found:
        roles = ", ".join(f"{b.role.value}@{b.dataset_id or '*'}" for b in principal.roles) or "-"
        disabled = " (disabled)" if principal.disabled_at else ""
        typer.echo(f"{principal.name}{disabled}\t{roles}")


@users_app.command("grant")
def users_grant(name: str, role: Role, dataset: DatasetOption = None) -> None:
    """Grant ROLE to NAME, on --dataset or globally."""
    try:
        with transaction(cli_support.sessions()) as session:
            system = principals.system_principal(session)
            binding = principals.grant_role(
                session, principal=system, principal_id=_principal_id(session, name),
                data=_binding(session, system, role, dataset),
            )
    except DomainError as error:
        fail(error)
    typer.echo(f"granted {role.value} to {name} {'on ' + dataset if dataset else 'globally'} (binding {binding.id})")


@users_app.command("revoke")
def users_revoke(name: str, role: Role, dataset: DatasetOption = None) -> None:
    """Revoke NAME's ROLE, on --dataset or the global one."""
    try:
        with transaction(cli_support.sessions()) as session:
            system = principals.system_principal(session)
            principal_id = _principal_id(session, name)
            wanted = _binding(session, system, role, dataset)
            held = principals.get_principal(session, principal=system, principal_id=principal_id).roles
            match = next((b for b in held if b.role == role and b.dataset_id == wanted.dataset_id), None)
            if match is None:
                raise NotFound(f"{name} does not hold {role.value} {'on ' + dataset if dataset else 'globally'}")
            principals.revoke_role(session, principal=system, principal_id=principal_id, binding_id=match.id)
    except DomainError as error:
        fail(error)
    typer.echo(f"revoked {role.value} from {name}")


@keys_app.command("create")
def keys_create(
    name: str, expires_in_days: Annotated[int | None, typer.Option(min=1)] = None
) -> None:
    """Issue another API key for NAME; printed once, alone on the last line."""
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    try:
        with transaction(cli_support.sessions()) as session:
            system = principals.system_principal(session)
            issued = principals.create_key(
                session, principal=system, principal_id=_principal_id(session, name), data=KeyCreate(expires_at=expires_at)
            )
    except DomainError as error:
        fail(error)
    typer.echo(f"key {issued.key.key_id} for {name}, shown only now:")
    typer.echo(issued.api_key)


@keys_app.command("list")
def keys_list(name: str) -> None:
    """NAME's keys: id, created, expires, revoked, last used. Never the secret."""
    try:
        with transaction(cli_support.sessions()) as session:
            system = principals.system_principal(session)
            found = principals.list_keys(session, principal=system, principal_id=_principal_id(session, name))
    except DomainError as error:
        fail(error)
    for key in found:
        typer.echo("\t".join(
            [key.key_id, _when(key.created_at), f"expires={_when(key.expires_at)}",
             f"revoked={_when(key.revoked_at)}", f"last_used={_when(key.last_used_at)}"]
        ))


@keys_app.command("expire")
def keys_expire(key_id: str, at: Annotated[datetime, typer.Option(help="When it stops working (UTC if no zone).")]) -> None:
    """Set when KEY_ID stops working."""
    at = at if at.tzinfo else at.replace(tzinfo=utcnow().tzinfo)
    _with_key(key_id, lambda session, system, owner: principals.expire_key(
        session, principal=system, principal_id=owner, key_id=key_id, data=KeyExpire(expires_at=at)))
    typer.echo(f"key {key_id} expires at {at.isoformat()}")


@keys_app.command("rotate")
def keys_rotate(key_id: str, grace_seconds: Annotated[int, typer.Option(min=0)] = 0) -> None:
    """Replace KEY_ID with a new key (printed last); the old one works for --grace-seconds more."""
    issued = _with_key(key_id, lambda session, system, owner: principals.rotate_key(
        session, principal=system, principal_id=owner, key_id=key_id, data=KeyRotate(grace_seconds=grace_seconds)))
    typer.echo(f"key {issued.key.key_id} replaces {key_id}, shown only now:")
    typer.echo(issued.api_key)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Stop KEY_ID working, now."""
    _with_key(key_id, lambda session, system, owner: principals.revoke_key(
        session, principal=system, principal_id=owner, key_id=key_id))
    typer.echo(f"key {key_id} revoked")


def _with_key(key_id: str, change):
    try:
        with transaction(cli_support.sessions()) as session:
            system = principals.system_principal(session)
            owner = principals.find_key_owner(session, principal=system, key_id=key_id)
            return change(session, system, owner)
    except DomainError as error:
        fail(error)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


@audit_app.command("seal")
def audit_seal() -> None:
    """Seal the audit chain's head now (schedule this, e.g. every few minutes)."""
    sealer = cli_support.current_settings().sealer()
    if sealer is None:
        typer.secho("error: LABELTRAIL_AUDIT_SEAL_KEY is not set", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    with transaction(cli_support.sessions()) as session:
        seal = audit_log.seal_now(session, sealer)
    typer.echo(f"sealed entry {seal.seq}" if seal else "the audit log is empty: nothing to seal")


@audit_app.command("seals")
def audit_seals(output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None) -> None:
    """Export every seal as JSON Lines, to keep outside the database (`verify --seals FILE`)."""
    with transaction(cli_support.sessions()) as session:
        seals = audit_trail.list_seals(session, principal=principals.system_principal(session))
    lines = "".join(seal.model_dump_json() + "\n" for seal in seals)
    if output:
        output.write_text(lines)
        typer.echo(f"{len(seals)} seals written to {output}")
    else:
        typer.echo(lines, nl=False)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option(help="JSON Lines file to write.")],
    actor: str | None = None,
    action: str | None = None,
    resource: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> None:
    """Export audit entries (filtered) as JSON Lines; the export itself is audited."""
    try:
        where = AuditFilter(actor=actor, action=action, resource=resource, since=_aware(since), until=_aware(until))
        with transaction(cli_support.sessions()) as session, output.open("w") as sink:
            system = principals.system_principal(session)
            audit_trail.record_export(session, principal=system, where=where)
            count = 0
            for entry in audit_trail.stream_entries(session, principal=system, where=where):
                sink.write(entry.model_dump_json() + "\n")
                count += 1
    except DomainError as error:
        fail(error)
    typer.echo(f"{count} entries written to {output}")


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=utcnow().tzinfo) if moment and moment.tzinfo is None else moment
