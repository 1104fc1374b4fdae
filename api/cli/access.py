"""CLI administration: principals and role bindings, API keys, and the audit log's seals and export.

Commands act as the host's operator (``os:<user>``, an admin), and every change they make is
audited with ``client = cli``. The catalog is imported inside each command (see ``main.py``).
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.support import Invocation, command, fail
from catalog.core.principal import Role

if TYPE_CHECKING:
    from catalog.access.schemas import BindingIn

users_app = typer.Typer(help="Principals and their role bindings.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: shown once, stored hashed.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: seals and export.", no_args_is_help=True)

DatasetOption = Annotated[str | None, typer.Option("--dataset", help="Grant on this dataset only (by name).")]
NameArgument = Annotated[str, typer.Argument(help="The principal's name.")]
RoleArgument = Annotated[Role, typer.Argument(help="The role.")]
KeyIdArgument = Annotated[str, typer.Argument(help="The key's id (the part after lt_, as `keys list` shows it).")]


def _binding(cli: Invocation, role: Role, dataset: str | None) -> "BindingIn":
    from catalog.access.schemas import BindingIn
    from catalog.datasets import service as datasets

    dataset_id = datasets.find_dataset_id(cli.session, principal=cli.operator, name=dataset) if dataset else None
    return BindingIn(role=role, dataset_id=dataset_id)


def _principal_id(cli: Invocation, name: str):
    from catalog.access import service as principals

    return principals.principal_id_named(cli.session, principal=cli.operator, name=name)


@users_app.command("create")
def users_create(
    name: NameArgument,
    role: Annotated[list[Role], typer.Option(help="A role to grant (repeat for several).")] = [],  # noqa: B006
    dataset: DatasetOption = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="The first key expires after this.")] = None,
) -> None:
    """Create a principal with ROLE(s), on --dataset or globally; its API key is printed once, last."""
    from catalog.access import service as principals
    from catalog.access.schemas import PrincipalCreate

    with command() as cli:
        created = principals.create_principal(
            cli.session,
            principal=cli.operator,
            data=PrincipalCreate(
                name=name,
                roles=[_binding(cli, each, dataset) for each in role],
                key_expires_at=datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None,
            ),
        )
    roles = ", ".join(binding.role.value for binding in created.principal.roles) or "no roles"
    typer.echo(f"created {name} ({roles}); its API key, shown only now:")
    typer.echo(created.api_key)


@users_app.command("list")
def users_list() -> None:
    """Every principal with its active role bindings."""
    from catalog.access import service as principals
    from catalog.datasets import service as datasets

    with command() as cli:
        found = principals.list_principals(cli.session, principal=cli.operator)
        names = datasets.dataset_names(
            cli.session, principal=cli.operator,
            dataset_ids={b.dataset_id for principal in found for b in principal.roles if b.dataset_id},
        )  # fmt: skip
    for principal in found:
        roles = ", ".join(f"{b.role.value}@{_where(b.dataset_id, names)}" for b in principal.roles) or "-"
        disabled = " (disabled)" if principal.disabled_at else ""
        typer.echo(f"{principal.name}{disabled}\t{roles}")


def _where(dataset_id, names: dict) -> str:
    """A binding's scope as ``users list`` prints it: ``*`` (global) or the dataset's name."""
    if dataset_id is None:
        return "*"
    return names.get(dataset_id, str(dataset_id))


@users_app.command("grant")
def users_grant(name: NameArgument, role: RoleArgument, dataset: DatasetOption = None) -> None:
    """Grant ROLE to NAME, on --dataset or globally."""
    from catalog.access import service as principals

    with command() as cli:
        binding = principals.grant_role(
            cli.session, principal=cli.operator, principal_id=_principal_id(cli, name), data=_binding(cli, role, dataset)
        )
    typer.echo(f"granted {role.value} to {name} {'on ' + dataset if dataset else 'globally'} (binding {binding.id})")


@users_app.command("revoke")
def users_revoke(name: NameArgument, role: RoleArgument, dataset: DatasetOption = None) -> None:
    """Revoke NAME's ROLE, on --dataset or the global one."""
    from catalog.access import service as principals

    with command() as cli:
        principal_id = _principal_id(cli, name)
        principals.revoke_held_role(
            cli.session, principal=cli.operator, principal_id=principal_id, data=_binding(cli, role, dataset)
        )
    typer.echo(f"revoked {role.value} from {name}")


@keys_app.command("create")
def keys_create(
    name: NameArgument,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="The key expires after this.")] = None,
) -> None:
    """Issue another API key for NAME; printed once, alone on the last line."""
    from catalog.access import service as principals
    from catalog.access.schemas import KeyCreate

    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    with command() as cli:
        issued = principals.create_key(
            cli.session, principal=cli.operator, principal_id=_principal_id(cli, name), data=KeyCreate(expires_at=expires_at)
        )
    typer.echo(f"key {issued.key.key_id} for {name}, shown only now:")
    typer.echo(issued.api_key)


@keys_app.command("list")
def keys_list(name: NameArgument) -> None:
    """NAME's keys: id, created, expires, revoked, last used. Never the secret."""
    from catalog.access import service as principals

    with command() as cli:
        found = principals.list_keys(cli.session, principal=cli.operator, principal_id=_principal_id(cli, name))
    for key in found:
        typer.echo("\t".join(
            [key.key_id, _when(key.created_at), f"expires={_when(key.expires_at)}",
             f"revoked={_when(key.revoked_at)}", f"last_used={_when(key.last_used_at)}"]
        ))


@keys_app.command("expire")
def keys_expire(key_id: KeyIdArgument, at: Annotated[datetime, typer.Option(help="When it stops working (UTC if no zone).")]) -> None:
    """Set when KEY_ID stops working."""
    from catalog.access import service as principals
    from catalog.access.schemas import KeyExpire

    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    with command() as cli:
        principals.expire_key(
            cli.session, principal=cli.operator, principal_id=_key_owner(cli, key_id), key_id=key_id,
            data=KeyExpire(expires_at=at),
        )  # fmt: skip
    typer.echo(f"key {key_id} expires at {at.isoformat()}")


@keys_app.command("rotate")
def keys_rotate(
    key_id: KeyIdArgument,
    grace_seconds: Annotated[int, typer.Option(min=0, help="How long the old key keeps working.")] = 0,
) -> None:
    """Replace KEY_ID with a new key (printed last); the old one works for --grace-seconds more."""
    from catalog.access import service as principals
    from catalog.access.schemas import KeyRotate

    with command() as cli:
        issued = principals.rotate_key(
            cli.session, principal=cli.operator, principal_id=_key_owner(cli, key_id), key_id=key_id,
            data=KeyRotate(grace_seconds=grace_seconds),
        )  # fmt: skip
    typer.echo(f"key {issued.key.key_id} replaces {key_id}, shown only now:")
    typer.echo(issued.api_key)


@keys_app.command("revoke")
def keys_revoke(key_id: KeyIdArgument) -> None:
    """Stop KEY_ID working, now."""
    from catalog.access import service as principals

    with command() as cli:
        principals.revoke_key(cli.session, principal=cli.operator, principal_id=_key_owner(cli, key_id), key_id=key_id)
    typer.echo(f"key {key_id} revoked")


def _key_owner(cli: Invocation, key_id: str):
    from catalog.access import service as principals

    return principals.find_key_owner(cli.session, principal=cli.operator, key_id=key_id)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


@audit_app.command("seal")
def audit_seal() -> None:
    """Seal the audit chain's head now (schedule this, e.g. every few minutes)."""
    from catalog.core import audit_log

    with command() as cli:
        sealer = cli.settings.sealer()
        if sealer is None:
            fail("LABELTRAIL_AUDIT_SEAL_KEY is not set")
        seal = audit_log.seal_now(cli.session, sealer)
    typer.echo(f"sealed entry {seal.seq}" if seal else "the audit log is empty: nothing to seal")


@audit_app.command("seals")
def audit_seals(output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None) -> None:
    """Export every seal as JSON Lines, to keep outside the database (`verify --seals FILE`)."""
    from catalog.audit import service as audit_trail

    with command() as cli:
        seals = audit_trail.list_seals(cli.session, principal=cli.operator)
    lines = "".join(seal.model_dump_json() + "\n" for seal in seals)
    if output:
        output.write_text(lines)
        typer.echo(f"{len(seals)} seals written to {output}")
    else:
        typer.echo(lines, nl=False)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option(help="JSON Lines file to write.")],
    actor: Annotated[str | None, typer.Option(help="Only entries by this principal (its name).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. dataset:create.")] = None,
    resource: Annotated[str | None, typer.Option(help="Only entries on this resource, e.g. dataset:<id>.")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only entries from this time on (UTC if no zone).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Only entries up to this time (UTC if no zone).")] = None,
) -> None:
    """Export audit entries (filtered) as JSON Lines; the export itself is audited."""
    from catalog.audit import service as audit_trail
    from catalog.audit.schemas import AuditFilter

    with command() as cli:
        where = AuditFilter(actor=actor, action=action, resource=resource, since=_aware(since), until=_aware(until))
        with output.open("w") as sink:
            audit_trail.record_export(cli.session, principal=cli.operator, where=where)
            count = 0
            for entry in audit_trail.stream_entries(cli.session, principal=cli.operator, where=where):
                sink.write(entry.model_dump_json() + "\n")
                count += 1
    typer.echo(f"{count} entries written to {output}")


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment
