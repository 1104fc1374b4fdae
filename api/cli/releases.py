"""CLI for releases: cut one, list them, compare two, export one for training."""

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from api.cli.support import ActorOption, command
from catalog.annotations.status import Status

DatasetArgument = Annotated[str, typer.Argument(help="The dataset's name.")]


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    PARQUET = "parquet"


def release(
    dataset: DatasetArgument,
    tag: Annotated[str, typer.Option(help="The release's tag, unique within the dataset.")],
    notes: Annotated[str, typer.Option(help="Free text kept with the release.")] = "",
    status: Annotated[list[Status] | None, typer.Option(help="Annotation statuses to release (repeatable).")] = None,
    benchmark: Annotated[list[str] | None, typer.Option(help="Benchmark dataset to check for contamination.")] = None,
    override_reason: Annotated[str | None, typer.Option(help="Admins: release despite failing gates, because...")] = None,
    actor: ActorOption = None,
) -> None:
    """Cut an immutable release of DATASET; refused (exit 2) with the reasons when a gate fails."""
    from catalog.datasets import service as datasets
    from catalog.releases import service as releases
    from catalog.releases.schemas import GateOverride, ReleaseCreate

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
    dataset: DatasetArgument,
    base: Annotated[str, typer.Argument(help="The earlier release's tag.")],
    target: Annotated[str, typer.Argument(help="The later release's tag.")],
    drift_share: Annotated[float, typer.Option(help="Share of drifted features meaning dataset drift, in (0, 1].")] = 0.5,
    actor: ActorOption = None,
) -> None:  # fmt: skip
    """What changed from release BASE to TARGET of DATASET: records, labels and distribution shift (JSON)."""
    from catalog.datasets import service as datasets
    from catalog.releases import service as releases

    with command(actor) as cli:
        dataset_id = datasets.find_dataset_id(cli.session, principal=cli.principal, name=dataset)
        found = releases.diff_releases(
            cli.session, principal=cli.principal, dataset_id=dataset_id, base=base, target=target,
            drift_share=drift_share,
        )  # fmt: skip
    typer.echo(found.model_dump_json(indent=2))


def export(
    dataset: DatasetArgument,
    release_tag: Annotated[str, typer.Option("--release", help="The release to export.")],
    output: Annotated[Path, typer.Option(help="File to write.", dir_okay=False)],
    format: Annotated[ExportFormat, typer.Option("--format", help="JSON lines, or Parquet for training.")] = (
        ExportFormat.JSONL
    ),
    actor: ActorOption = None,
) -> None:
    """Write a release's rows for training: messages, labels and their provenance."""
    from catalog.datasets import service as datasets
    from catalog.releases import service as releases
    from catalog.releases.files import write_jsonl, write_parquet

    write = write_parquet if format is ExportFormat.PARQUET else write_jsonl
    with command(actor) as cli:
        dataset_id = datasets.find_dataset_id(cli.session, principal=cli.principal, name=dataset)
        stream = releases.open_export(cli.session, principal=cli.principal, dataset_id=dataset_id, tag=release_tag)
        written = write(releases.export_documents(cli.session, stream), output)
    typer.echo(json.dumps({"release": release_tag, "rows": written, "text": "raw" if stream.raw else "masked", "output": str(output)}))
