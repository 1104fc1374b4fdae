"""CLI for models: what a model was trained on, as training runs reported it over OpenLineage."""

from typing import Annotated

import typer

from api.cli.support import ActorOption, command


def trace(
    model: Annotated[str, typer.Argument(help="The model's name, as the training run's output named it.")],
    rows: Annotated[bool, typer.Option("--rows", help="Every label behind the model, as JSON lines.")] = False,
    actor: ActorOption = None,
) -> None:
    """The runs that produced MODEL, the releases they consumed and what those hold (JSON)."""
    from catalog.lineage_graph import service as traces

    with command(actor) as cli:
        depth = cli.settings.lineage_max_depth
        if not rows:
            found = traces.trace_model(cli.session, principal=cli.principal, name=model, max_depth=depth)
            typer.echo(found.model_dump_json(indent=2))
            return
        for row in traces.trace_rows(cli.session, principal=cli.principal, name=model, max_depth=depth):
            typer.echo(row.model_dump_json())
