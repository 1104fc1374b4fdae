"""CLI for models: what a model was trained on, as training runs reported it over OpenLineage."""

from typing import Annotated

import typer

from api.cli.support import command
from catalog.access import service as principals
from catalog.lineage_graph import service as traces


def trace(
    model: str,
    rows: Annotated[bool, typer.Option("--rows", help="Every label behind the model, as JSON lines.")] = False,
    actor: Annotated[str, typer.Option("--as", help="Principal the command acts as.")] = principals.SYSTEM_NAME,
) -> None:
    """The runs that produced MODEL, the releases they consumed and what those hold (JSON)."""
    with command(actor) as cli:
        depth = cli.settings.lineage_max_depth
        if not rows:
            found = traces.trace_model(cli.session, principal=cli.principal, name=model, max_depth=depth)
            typer.echo(found.model_dump_json(indent=2))
            return
        for row in traces.trace_rows(cli.session, principal=cli.principal, name=model, max_depth=depth):
            typer.echo(row.model_dump_json())
