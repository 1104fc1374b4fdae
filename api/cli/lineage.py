"""CLI for lineage: deliver the outbox's OpenLineage events, and derive the lineage graph again."""

from typing import Annotated

import typer

from api.cli.support import command, fail

lineage_app = typer.Typer(help="The lineage graph derived from the OpenLineage events received.", no_args_is_help=True)


def worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now and exit.")] = False,
) -> None:
    """Deliver the outbox's OpenLineage events, every LABELTRAIL_LINEAGE_INTERVAL_SECONDS until stopped."""
    from catalog.core.logging import configure_logging
    from lineage.delivery import ALL, DeliveryLoop, configured_delivery, deliver_due, waiting

    with command() as cli:
        settings = cli.settings
        configure_logging(settings.log_level, settings.log_json)
        delivery = configured_delivery(settings)
        if delivery is None:
            fail(
                "no OpenLineage transport is configured (openlineage.yml, OPENLINEAGE__TRANSPORT__*, "
                "OPENLINEAGE_URL); events wait in the outbox"
            )
        if once:
            delivered = deliver_due(cli.sessions, delivery, limit=ALL)
            typer.echo(f"{delivered} runs delivered, {waiting(cli.sessions)} waiting")
            return
        try:
            DeliveryLoop(cli.sessions, delivery, interval=settings.lineage_interval_seconds).run()
        except KeyboardInterrupt:
            typer.echo("stopped")


@lineage_app.command("rebuild")
def rebuild_graph() -> None:
    """Derive the lineage graph again from the raw events (after an upgrade, or to link releases cut later)."""
    from lineage.derive import ModelRules, rebuild

    with command() as cli:
        replayed = rebuild(cli.session, ModelRules.from_settings(cli.settings))
    typer.echo(f"{replayed} events replayed")
