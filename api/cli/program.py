"""The ``labeltrail`` program: the catalog's commands, and the two that deliver OpenLineage events,
which the catalog cannot import: ``serve`` (the API, with masking and delivery in background
threads) and ``worker`` (delivery alone)."""

from typing import Annotated

import typer

from api.cli import main as catalog_cli
from api.cli import support as cli_support
from catalog.core.db import transaction
from catalog.core.logging import configure_logging
from lineage.delivery import ALL, DeliveryLoop, configured_delivery, deliver_due, waiting
from lineage.derive import ModelRules, rebuild

app = typer.Typer(help=catalog_cli.app.info.help, no_args_is_help=True)
app.add_typer(catalog_cli.app)


@app.command("serve")
def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the REST API, masking records and delivering OpenLineage events in the background (db upgrade first)."""
    settings = cli_support.current_settings()
    configure_logging(settings.log_level, settings.log_json)  # before the first line any loop logs
    background: list[catalog_cli.Background] = [catalog_cli.masking_loop()]
    delivery = configured_delivery(settings)
    if delivery is not None:
        background.append(DeliveryLoop(cli_support.sessions(), delivery, interval=settings.lineage_interval_seconds))
    catalog_cli.run_server(host, port, background)


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now and exit.")] = False,
) -> None:
    """Deliver the outbox's OpenLineage events, every LABELTRAIL_LINEAGE_INTERVAL_SECONDS until stopped."""
    settings = cli_support.current_settings()
    configure_logging(settings.log_level, settings.log_json)
    delivery = configured_delivery(settings)
    if delivery is None:
        typer.secho(
            "error: no OpenLineage transport is configured (openlineage.yml, OPENLINEAGE__TRANSPORT__*, "
            "OPENLINEAGE_URL); events wait in the outbox",
            err=True,
        )
        raise typer.Exit(2)
    sessions = cli_support.sessions()
    if once:
        delivered = deliver_due(sessions, delivery, limit=ALL)
        typer.echo(f"{delivered} runs delivered, {waiting(sessions)} waiting")
        return
    try:
        DeliveryLoop(sessions, delivery, interval=settings.lineage_interval_seconds).run()
    except KeyboardInterrupt:
        typer.echo("stopped")


lineage_app = typer.Typer(help="The lineage graph derived from the OpenLineage events received.", no_args_is_help=True)
app.add_typer(lineage_app, name="lineage")


@lineage_app.command("rebuild")
def rebuild_graph() -> None:
    """Derive the lineage graph again from the raw events (after an upgrade, or to link releases cut later)."""
    settings = cli_support.current_settings()
    with transaction(cli_support.sessions()) as session:
        replayed = rebuild(session, ModelRules.from_settings(settings))
    typer.echo(f"{replayed} events replayed")
