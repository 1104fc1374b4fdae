"""CLI for the server: the REST and GraphQL API, with masking and OpenLineage delivery in background threads."""

from typing import Annotated, Protocol

import typer

from api.cli import support as cli_support
from api.cli.support import command


class Background(Protocol):
    """A thread that runs beside the server until stopped."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: LABELTRAIL_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: LABELTRAIL_PORT, 8000).")] = None,
) -> None:
    """Serve the REST API, masking records and delivering OpenLineage events in the background (db upgrade first)."""
    from catalog.core.logging import configure_logging
    from catalog.pii_gate.worker import MaskingLoop
    from lineage.delivery import DeliveryLoop, configured_delivery

    with command() as cli:
        settings = cli.settings
        configure_logging(settings.log_level, settings.log_json)  # before the first line any loop logs
        background: list[Background] = [
            MaskingLoop(
                cli.sessions, settings.scanner_config(),
                batch_size=settings.pii_batch_size, interval=settings.pii_interval_seconds,
            ),
        ]  # fmt: skip
        delivery = configured_delivery(settings)
        if delivery is not None:
            background.append(DeliveryLoop(cli.sessions, delivery, interval=settings.lineage_interval_seconds))
        run_server(host, port, background)


def run_server(host: str | None, port: int | None, background: list[Background]) -> None:
    """Serve the app, built from the command's settings, with the ``background`` threads beside it."""
    import uvicorn

    from api.app import create_app
    from catalog.core.logging import stdlib_log_config

    settings = cli_support.current_settings()
    for thread in background:
        thread.start()
    try:
        uvicorn.run(
            create_app(settings), host=host or settings.host, port=port or settings.port,
            access_log=False,  # the app logs each request itself, as structured JSON
            log_config=stdlib_log_config(settings.log_level, settings.log_json),  # uvicorn's lines as JSON too
        )  # fmt: skip
    finally:
        for thread in background:
            thread.stop()


