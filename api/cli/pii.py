"""CLI for the PII gate: mask pending records now, re-mask a dataset with a new detector, erase a subject."""

from typing import Annotated

import typer

from api.cli.support import command

pii_app = typer.Typer(help="The PII gate: masking and rescans.", no_args_is_help=True)

WorkersOption = Annotated[int, typer.Option(min=1, help="Processes that scan in parallel.")]


@pii_app.command("mask")
def mask(workers: WorkersOption = 1) -> None:
    """Mask every pending record (what `labeltrail serve` does in the background)."""
    from tqdm import tqdm

    from catalog.pii_gate.worker import mask_all
    from pii import detector_version

    with command() as cli, tqdm(unit="records", desc="masking", disable=None) as progress:
        config = cli.settings.scanner_config()
        done = mask_all(
            cli.sessions, config, batch_size=cli.settings.pii_batch_size, workers=workers,
            on_batch=lambda run: progress.update(run.records),
        )  # fmt: skip
    typer.echo(f"{done.records} records masked, {done.findings} findings ({detector_version(config)})")


@pii_app.command("rescan")
def rescan(
    dataset: Annotated[str, typer.Argument(help="The dataset's name.")], workers: WorkersOption = 1
) -> None:
    """Re-mask DATASET's records with the configured detector; each record keeps the version that masked it."""
    from tqdm import tqdm

    from catalog.datasets import service as datasets
    from catalog.pii_gate.worker import mask_all
    from pii import detector_version

    with command() as cli:
        config = cli.settings.scanner_config()  # a configuration that does not load fails before any work
        dataset_id = datasets.find_dataset_id(cli.session, principal=cli.operator, name=dataset)
    with command() as cli, tqdm(unit="records", desc="rescanning", disable=None) as progress:
        done = mask_all(
            cli.sessions, config, batch_size=cli.settings.pii_batch_size, workers=workers,
            dataset_id=dataset_id, on_batch=lambda run: progress.update(run.records),
        )  # fmt: skip
    typer.echo(f"{done.records} records of {dataset} re-masked, {done.findings} findings ({detector_version(config)})")


def erase(
    subject: Annotated[str, typer.Option("--subject", help="The data subject's id (records' metadata.subject_id).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log (e.g. the request's reference).")],
) -> None:
    """Erase a data subject's raw text in every dataset; masked text and provenance stay."""
    from catalog.subjects import service as subjects

    with command() as cli:
        done = subjects.erase_subject(
            cli.session, principal=cli.operator, subject_id=subject, reason=reason,
            max_depth=cli.settings.lineage_max_depth,
        )  # fmt: skip
    subjects.clear_erased_pages(cli.sessions)  # after the erasure has committed
    typer.echo(
        f"subject {subject}: {len(done.erased)} records erased, {len(done.already_erased)} erased before, "
        f"in {len(done.datasets)} datasets"
    )
