"""CLI for models: what a model was trained on, as training runs reported it over OpenLineage."""

from typing import Annotated

import typer

from api.cli import support as cli_support
from api.cli.support import actor as actor_named
from api.cli.support import fail
from catalog.access import service as principals
from catalog.core.db import transaction
from catalog.core.errors import DomainError
from catalog.lineage_graph import service as traces


def trace(
    model: str,
    rows: Annotated[bool, typer.Option("--rows", help="Every label behind the model, as JSON lines.")] = False,
    actor: Annotated[str, typer.Option("--as", help="Principal the command acts as.")] = principals.SYSTEM_NAME,
) -> None:
    """The runs that produced MODEL, the releases they consumed and what those hold (JSON)."""
    depth = cli_support.current_settings().lineage_max_depth
    try:
        with transaction(cli_support.sessions()) as session:
            principal = actor_named(session, actor)
            if not rows:
                typer.echo(traces.trace_model(session, principal=principal, name=model, max_depth=depth).model_dump_json(indent=2))
                return
            for row in traces.trace_rows(session, principal=principal, name=model, max_depth=depth):
                typer.echo(row.model_dump_json())
    except DomainError as error:
        fail(error)
