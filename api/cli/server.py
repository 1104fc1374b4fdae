"""CLI for the server: the REST and GraphQL API, with masking and OpenLineage delivery in background threads."""

from typing import Annotated, Protocol

import typer

from api.app import create_app
from api.cli import support as cli_support
from api.cli.support import command
from catalog.core import migrate
from catalog.core.db import transaction
from catalog.core.logging import configure_logging, stdlib_log_config
from catalog.pii_gate.worker import MaskingLoop
from lineage.delivery import DeliveryLoop, configured_delivery


class Background(Protocol):
    """A thread that runs beside the server until stopped."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


MigrateOption = Annotated[bool, typer.Option("--migrate", help="Upgrade the database to the latest schema first.")]


def serve(host: str | None = None, port: int | None = None, migrate_first: MigrateOption = False) -> None:
    """Serve the REST API, masking records and delivering OpenLineage events in the background.

    Refuses (exit code 2) a database whose schema is not the code's: never migrated, behind
    (`labeltrail db upgrade`, or `--migrate`) or migrated by newer code."""
    with command() as cli:
        settings = cli.settings
        if migrate_first and _schema(cli).behind:  # a schema newer than the code is refused, not "upgraded"
            migrate.upgrade(settings.database_url)
        if (problem := _schema(cli).problem) is not None:
            raise migrate.SchemaNotReady(problem)
        configure_logging(settings.log_level, settings.log_json)  # before the first line any loop logs
        background: list[Background] = [
            MaskingLoop(
                cli.sessions, settings.scanner_config(),
                batch_size=settings.pii_batch_size, interval=settings.pii_interval_seconds, workers=settings.pii_workers,
            ),
        ]  # fmt: skip
        delivery = configured_delivery(settings)
        if delivery is not None:
            background.append(DeliveryLoop(cli.sessions, delivery, interval=settings.lineage_interval_seconds))
        run_server(host, port, background)


def _schema(cli) -> migrate.SchemaState:
    """The schema's state, read in a short transaction of its own (serve must not hold SQLite's write lock)."""
    with transaction(cli.sessions) as session:
        return migrate.schema_state(session.connection())


def run_server(host: str | None, port: int | None, background: list[Background]) -> None:
    """Serve the app, built from the command's settings, with the ``background`` threads beside it."""
    import uvicorn

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


