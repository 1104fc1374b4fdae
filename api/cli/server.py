"""CLI for the server: the REST and GraphQL API, with masking and OpenLineage delivery in background threads.

With ``--workers N`` (N > 1) uvicorn's supervisor spawns N worker processes that share the
listening socket; each builds the app itself (:func:`worker_app`) from the environment, as the
command reads its settings. The background threads run once, in the supervisor, not in every
worker: the workers serve requests only. (Both loops would also be safe in several processes on
PostgreSQL, where a masking batch and an outbox claim take their rows ``FOR UPDATE SKIP LOCKED``,
but on SQLite every worker would scan the same pending batch, so one place it is.)
"""

import gc
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from api.cli import support as cli_support
from api.cli.support import command

if TYPE_CHECKING:
    from catalog.core.migrate import SchemaState

WORKER_APP = "api.cli.server:worker_app"  # what each worker process imports and calls


class Background(Protocol):
    """A thread that runs beside the server until stopped."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


HostOption = Annotated[str | None, typer.Option(help="Interface to listen on (default: LABELTRAIL_HOST, 127.0.0.1).")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on (default: LABELTRAIL_PORT, 8000).")]
MigrateOption = Annotated[bool, typer.Option("--migrate", help="Upgrade the database to the latest schema first.")]
WorkersOption = Annotated[
    int, typer.Option(min=1, help="Processes serving requests (masking and delivery run once, beside them).")
]


def serve(
    host: HostOption = None, port: PortOption = None, migrate_first: MigrateOption = False, workers: WorkersOption = 1
) -> None:
    """Serve the REST API, masking records and delivering OpenLineage events in the background.

    Refuses (exit code 2) a database whose schema is not the code's: never migrated, behind
    (`labeltrail db upgrade`, or `--migrate`) or migrated by newer code."""
    from catalog.core import migrate
    from catalog.core.logging import configure_logging
    from catalog.pii_gate.worker import MaskingLoop
    from lineage.delivery import DeliveryLoop, configured_delivery

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
        run_server(host, port, background, workers=workers)


def _schema(cli) -> "SchemaState":
    """The schema's state, read in a short transaction of its own (serve must not hold SQLite's write lock)."""
    from catalog.core import migrate
    from catalog.core.db import transaction

    with transaction(cli.sessions) as session:
        return migrate.schema_state(session.connection())


def run_server(host: str | None, port: int | None, background: list[Background], *, workers: int = 1) -> None:
    """Serve the app, built from the command's settings, with the ``background`` threads beside it:
    in this process, or in ``workers`` processes with the threads in this one, their supervisor."""
    import uvicorn

    from api.app import create_app
    from catalog.core.logging import stdlib_log_config

    settings = cli_support.current_settings()
    options = {
        "host": host or settings.host, "port": port or settings.port,
        "access_log": False,  # the app logs each request itself, as structured JSON
        "log_config": stdlib_log_config(settings.log_level, settings.log_json),  # uvicorn's lines as JSON too
    }  # fmt: skip
    for thread in background:
        thread.start()
    try:
        if workers == 1:
            uvicorn.run(frozen(create_app(settings)), **options)
        else:
            uvicorn.run(WORKER_APP, factory=True, workers=workers, **options)
    finally:
        for thread in background:
            thread.stop()


def worker_app():
    """The app of one worker process of ``serve --workers N``, from the settings the environment gives."""
    from api.app import create_app

    return frozen(create_app(cli_support.current_settings()))


def frozen(app):
    """``app``, with everything the process holds once it is built moved out of the garbage
    collector's reach (``gc.freeze``): the libraries (Presidio, spaCy, SciPy, strawberry) leave
    about 260,000 tracked objects, and a full collection walking them took 0.2 to 0.5 s, landing
    on whichever request triggered it. They live as long as the process anyway."""
    gc.collect()
    gc.freeze()
    return app
