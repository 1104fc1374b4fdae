"""CLI for the database itself: its schema, and the check that nothing in it was changed behind the catalog's back."""

from pathlib import Path
from typing import Annotated

import typer

from api.cli.support import command

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="The Alembic revision to migrate to.")] = "head",
) -> None:
    """Migrate the database to the latest schema (or REVISION)."""
    from catalog.core import migrate

    with command() as cli:
        migrate.upgrade(cli.settings.database_url, revision)
    typer.echo(f"database at {revision}")


def verify_command(
    seals: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Seals exported earlier (`audit seals`).")
    ] = None,
) -> None:
    """Recompute record hashes, revision chains and the audit chain; exit 1 naming the first broken link."""
    from catalog.audit.schemas import AuditSealOut
    from catalog.core.db import one_snapshot
    from catalog.core.provenance import Broken
    from catalog.verification.service import verify

    exported = [AuditSealOut.model_validate_json(line) for line in seals.read_text().splitlines() if line] if seals else []
    with command(write=False) as cli:  # a long read: it must not hold the write lock
        one_snapshot(cli.session)  # what it checks must not move while it reads, on PostgreSQL too
        outcome = verify(cli.session, cli.settings.sealer(), exported)
    if isinstance(outcome, Broken):
        typer.secho(f"broken: {outcome}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo(str(outcome))
