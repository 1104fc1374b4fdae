"""CLI for the PII gate: mask pending records now, re-mask a dataset with a new detector, erase a subject."""

from typing import Annotated

import typer
from tqdm import tqdm

from api.cli import support as cli_support
from api.cli.support import fail
from catalog.access import service as principals
from catalog.core.db import transaction
from catalog.core.errors import DomainError
from catalog.datasets import service as datasets
from catalog.pii_gate.worker import mask_all
from catalog.subjects import service as subjects
from pii import detector_version

pii_app = typer.Typer(help="The PII gate: masking and rescans.", no_args_is_help=True)

WorkersOption = Annotated[int, typer.Option(min=1, help="Processes that scan in parallel.")]


@pii_app.command("mask")
def mask(workers: WorkersOption = 1) -> None:
    """Mask every pending record (what `labeltrail serve` does in the background)."""
    settings = cli_support.current_settings()
    config = settings.scanner_config()
    with tqdm(unit="records", desc="masking", disable=None) as progress:
        done = mask_all(
            cli_support.sessions(), config, batch_size=settings.pii_batch_size, workers=workers,
            on_batch=lambda run: progress.update(run.records),
        )
    typer.echo(f"{done.records} records masked, {done.findings} findings ({detector_version(config)})")


@pii_app.command("rescan")
def rescan(dataset: str, workers: WorkersOption = 1) -> None:
    """Re-mask DATASET's records with the configured detector; each record keeps the version that masked it."""
    settings = cli_support.current_settings()
    config = settings.scanner_config()
    try:
        with transaction(cli_support.sessions()) as session:
            dataset_id = datasets.find_dataset_id(session, principal=principals.system_principal(session), name=dataset)
    except DomainError as error:
        fail(error)
    with tqdm(unit="records", desc="rescanning", disable=None) as progress:
        done = mask_all(
            cli_support.sessions(), config, batch_size=settings.pii_batch_size, workers=workers,
            dataset_id=dataset_id, on_batch=lambda run: progress.update(run.records),
        )
    typer.echo(f"{done.records} records of {dataset} re-masked, {done.findings} findings ({detector_version(config)})")


def erase(
    subject: Annotated[str, typer.Option("--subject", help="The data subject's id (records' metadata.subject_id).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log (e.g. the request's reference).")],
) -> None:
    """Erase a data subject's raw text in every dataset; masked text and provenance stay."""
    sessions = cli_support.sessions()
    try:
        with transaction(sessions) as session:
            done = subjects.erase_subject(
                session, principal=principals.system_principal(session), subject_id=subject, reason=reason,
                max_depth=cli_support.current_settings().lineage_max_depth,
            )
    except DomainError as error:
        fail(error)
    subjects.clear_erased_pages(sessions)
    typer.echo(
        f"subject {subject}: {len(done.erased)} records erased, {len(done.already_erased)} erased before, "
        f"in {len(done.datasets)} datasets"
    )
