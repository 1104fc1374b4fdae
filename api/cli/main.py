"""The catalog's commands. Each command owns its transaction(s).

The ``labeltrail`` program is ``api/cli/program.py``: these commands, plus ``serve`` and ``worker``,
which run lineage's event delivery.
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Protocol

import typer
from tqdm import tqdm

from api.cli import support as cli_support
from api.cli.access import audit_app, keys_app, users_app
from api.cli.models import trace
from api.cli.pii import erase, pii_app
from api.cli.releases import diff, export, release
from api.cli.support import actor as actor_named
from api.cli.support import fail
from catalog.access import service as principals
from catalog.audit.schemas import AuditSealOut
from catalog.core import migrate
from catalog.core.db import transaction
from catalog.core.errors import DomainError
from catalog.core.logging import configure_logging
from catalog.core.provenance import Broken
from catalog.datasets import service as datasets
from catalog.importing.formats import Format
from catalog.importing.reading import iter_items, open_file
from catalog.importing.service import Importer
from catalog.pii_gate.worker import MaskingLoop
from catalog.verification.service import verify

app = typer.Typer(help="labeltrail: provenance and governance for LLM fine-tuning data.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(pii_app, name="pii")
app.command("erase")(erase)
app.command("release")(release)
app.command("diff")(diff)
app.command("export")(export)
app.command("trace")(trace)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the latest schema (or REVISION)."""
    migrate.upgrade(cli_support.current_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dataset: Annotated[str, typer.Option(help="Name of the dataset to import into.")],
    format: Annotated[Format, typer.Option("--format", help="How the file is laid out.")],
    sync: Annotated[bool, typer.Option(help="The file is the new upstream: match by prompt, retire the missing.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Validate and report; write nothing.")] = False,
    question: Annotated[str | None, typer.Option(help="Label question that receives the responses.")] = None,
    actor: Annotated[str, typer.Option("--as", help="Principal recorded as the importer.")] = principals.SYSTEM_NAME,
    batch_size: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Import instruction (alpaca), chat or preference data (JSON or JSON lines, gzip too)."""
    settings = cli_support.current_settings()
    configure_logging(settings.log_level, settings.log_json)
    batch_size = batch_size or settings.import_batch_size
    committed = 0  # batches: each commits whole, and stays when a later one fails
    importer = None
    try:
        with transaction(cli_support.sessions()) as session, open_file(file) as stream:

            def checkpoint() -> None:
                nonlocal committed
                if not dry_run:
                    session.commit()
                    committed += 1

            principal = actor_named(session, actor)
            importer = Importer(
                session,
                principal=principal,
                dataset_id=datasets.find_dataset_id(session, principal=principal, name=dataset),
                fmt=format,
                file_name=file.name,
                sync=sync,
                dry_run=dry_run,
                question=question,
            )
            items = tqdm(iter_items(stream), unit=" items", disable=not sys.stderr.isatty())
            report = importer.run(items, batch_size=batch_size, checkpoint=checkpoint)
            if dry_run:
                session.rollback()
    except Exception as error:
        if committed:
            _partly_imported(importer, error, committed, batch_size)
        if isinstance(error, DomainError):
            fail(error)
        raise
    typer.echo(json.dumps(report.__dict__, indent=2))
    if report.rejected:
        raise typer.Exit(1)


def _partly_imported(importer: Importer, error: Exception, committed: int, batch_size: int) -> None:
    """Batches committed before the error stay: say so, and record the run as failed."""
    with transaction(cli_support.sessions()) as session:
        importer.record_failure(session, error)
    typer.secho(
        f"note: {committed} batch(es) of up to {batch_size} item(s) were committed before this error "
        "and stay imported; the failing batch wrote nothing",
        err=True,
    )


@app.command("verify")
def verify_command(
    seals: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Seals exported earlier (`audit seals`).")
    ] = None,
) -> None:
    """Recompute record hashes, revision chains and the audit chain; exit 1 naming the first broken link."""
    exported = [AuditSealOut.model_validate_json(line) for line in seals.read_text().splitlines() if line] if seals else []
    with transaction(cli_support.sessions()) as session:
        outcome = verify(session, cli_support.current_settings().sealer(), exported)
    if isinstance(outcome, Broken):
        typer.secho(f"broken: {outcome}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo(str(outcome))


def masking_loop() -> MaskingLoop:
    """The background thread `labeltrail serve` masks new records in."""
    settings = cli_support.current_settings()
    return MaskingLoop(
        cli_support.sessions(), settings.scanner_config(),
        batch_size=settings.pii_batch_size, interval=settings.pii_interval_seconds,
    )  # fmt: skip


class Background(Protocol):
    """A thread that runs beside the server until stopped."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def run_server(host: str | None, port: int | None, background: list[Background]) -> None:
    """Serve the REST API with the ``background`` threads beside it.

    The `serve` command is assembled above the catalog (``api/cli/program.py``): its threads include
    lineage's event delivery, which the catalog cannot import.
    """
    import uvicorn

    settings = cli_support.current_settings()
    for thread in background:
        thread.start()
    # By import string: the catalog never imports the API package above it.
    uvicorn.run(
        "api.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        access_log=False,  # the app logs each request itself, as structured JSON
    )
    for thread in background:
        thread.stop()
