"""CLI for releases: cut one, list them, compare two, export one for training."""

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.cli.support import ActorOption, command
from catalog.access import service as principals
from catalog.annotations.schemas import Status
from catalog.datasets import service as datasets
from catalog.releases import service as releases
from catalog.releases.files import write_jsonl, write_parquet
from catalog.releases.schemas import GateOverride, ReleaseCreate


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    PARQUET = "parquet"


def release(
    dataset: str,
    tag: Annotated[str, typer.Option(help="The release's tag, unique within the dataset.")],
    notes: str = "",
    status: Annotated[list[Status] | None, typer.Option(help="Annotation statuses to release (repeatable).")] = None,
    benchmark: Annotated[list[str] | None, typer.Option(help="Benchmark dataset to check for contamination.")] = None,
    override_reason: Annotated[str | None, typer.Option(help="Admins: release despite failing gates, because...")] = None,
    actor: ActorOption = principals.SYSTEM_NAME,
) -> None:
    """Cut an immutable release of DATASET; refused (exit 2) with the reasons when a gate fails."""
    body = {"tag": tag, "notes": notes, "benchmarks": benchmark or []}
    if status:
        body["statuses"] = status
    if override_reason:
        body["override"] = GateOverride(reason=override_reason)
    data = ReleaseCreate.model_validate(body)
    with command(actor) as cli:
        dataset_id = datasets.find_dataset_id(cli.session, principal=cli.principal, name=dataset)
        made = releases.cut_release(
            cli.session, principal=cli.principal, dataset_id=dataset_id, data=data, policy=cli.settings.release
        )
    typer.echo(made.model_dump_json(indent=2))


def diff(
    dataset: str, base: str, target: str,
    drift_share: Annotated[float, typer.Option(help="Share of drifted features meaning dataset drift, in (0, 1].")] = 0.5,
    actor: ActorOption = principals.SYSTEM_NAME,
) -> None:  # fmt: skip
    """What changed from release BASE to TARGET of DATASET: records, labels and distribution shift (JSON)."""
    with command(actor) as cli:
        dataset_id = datasets.find_dataset_id(cli.session, principal=cli.principal, name=dataset)
        found = releases.diff_releases(
            cli.session, principal=cli.principal, dataset_id=dataset_id, base=base, target=target,
            drift_share=drift_share,
        )  # fmt: skip
    typer.echo(found.model_dump_json(indent=2))


def export(
    dataset: str,
    release_tag: Annotated[str, typer.Option("--release", help="The release to export.")],
    output: Annotated[Path, typer.Option(help="File to write.", dir_okay=False)],
    format: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.JSONL,
    actor: ActorOption = principals.SYSTEM_NAME,
) -> None:
    """Write a release's rows for training: messages, labels and their provenance."""
    write = write_parquet if format is ExportFormat.PARQUET else write_jsonl
    with command(actor) as cli:
        dataset_id = datasets.find_dataset_id(cli.session, principal=cli.principal, name=dataset)
        stream = releases.open_export(cli.session, principal=cli.principal, dataset_id=dataset_id, tag=release_tag)
        written = write(releases.export_documents(cli.session, stream), output)
    typer.echo(json.dumps({"release": release_tag, "rows": written, "text": "raw" if stream.raw else "masked", "output": str(output)}))
