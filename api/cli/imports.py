"""CLI for imports: a file into a dataset, through the import service REST and GraphQL call."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.support import command
from catalog.importing.formats import Format


def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="JSON or JSON lines, gzip too.")
    ],
    dataset: Annotated[str, typer.Option(help="Name of the dataset to import into.")],
    format: Annotated[Format, typer.Option("--format", help="How the file is laid out.")],
    sync: Annotated[bool, typer.Option(help="The file is the new upstream: match by prompt, retire the missing.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Validate and report; write nothing.")] = False,
    question: Annotated[str | None, typer.Option(help="Label question that receives the responses.")] = None,
    actor: Annotated[
        str | None,
        typer.Option("--as", metavar="NAME", help="Principal recorded as the importer (default: os:<your user name>)."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Items written and committed together (default: LABELTRAIL_IMPORT_BATCH_SIZE, 1000)."),
    ] = None,
) -> None:
    """Import instruction (alpaca), chat or preference data (JSON or JSON lines, gzip too)."""
    from tqdm import tqdm

    from catalog.core.logging import configure_logging
    from catalog.importing.service import run_import

    with command(actor) as cli:
        configure_logging(cli.settings.log_level, cli.settings.log_json)
        report = run_import(
            cli.session, principal=cli.principal, dataset_name=dataset, source=file, fmt=format, sync=sync,
            dry_run=dry_run, question=question, batch_size=batch_size or cli.settings.import_batch_size,
            max_line_bytes=cli.settings.import_max_line_bytes, max_depth=cli.settings.max_json_depth,
            commit_batches=True,  # each batch commits whole, and stays when a later one fails
            progress=lambda items: tqdm(items, unit=" items", disable=not sys.stderr.isatty()),
        )  # fmt: skip
    typer.echo(json.dumps(report.__dict__, indent=2))
    if report.rejected:
        raise typer.Exit(1)
