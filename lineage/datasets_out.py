"""labeltrail's datasets as outgoing events show them: identity (:mod:`lineage.naming`) and facets.

Every dataset an event writes carries what the catalog knows of it: ``schema`` (a record as a
release exports it), ``dataSource``, ``documentation``, ``ownership``, ``datasetType`` and
labeltrail's provenance facet. Jobs add what they did: a release's ``version``, a
``lifecycleStateChange``, ``columnLineage`` marked ``masking`` where Presidio masked the text.

Datasets, their creators and releases never change once written, so what is read here at
delivery is what held when the outbox row was written: rebuilding a row's events gives the same.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from openlineage.client.facet_v2 import (
    DatasetFacet,
    column_lineage_dataset,
    dataset_type_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    lifecycle_state_change_dataset,
    ownership_dataset,
    schema_dataset,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access.service import principal_names
from catalog.core.models import DatasetRow, ReleaseRow
from catalog.datasets.service import label_schema_of
from lineage.facets import provenance
from lineage.naming import PRODUCER

Lifecycle = lifecycle_state_change_dataset.LifecycleStateChange
# The record texts Presidio masks; labels hold free text too (answers, reasons), masked the same way.
RECORD_TEXTS = ("messages.content", "candidates", "metadata")
RELEASED_TEXTS = (*RECORD_TEXTS, "labels")


@dataclass(frozen=True)
class Known:
    """The catalog rows an outbox row's events describe."""

    datasets: dict[uuid.UUID, DatasetRow]
    owners: dict[uuid.UUID, str]
    releases: dict[uuid.UUID, ReleaseRow]


def read_known(session: Session, dataset_ids: Iterable[uuid.UUID], release_ids: Iterable[uuid.UUID]) -> Known:
    datasets = {row.id: row for row in session.scalars(select(DatasetRow).where(DatasetRow.id.in_(set(dataset_ids))))}
    releases = {row.id: row for row in session.scalars(select(ReleaseRow).where(ReleaseRow.id.in_(set(release_ids))))}
    owners = principal_names(session, (row.created_by for row in datasets.values()))
    return Known(datasets=datasets, owners=owners, releases=releases)


def catalog_facets(namespace: str, dataset: DatasetRow, owner: str, **provenance_fields: Any) -> dict[str, DatasetFacet]:
    """The facets every dataset we write carries, with the provenance facet's run-specific fields."""
    facets: dict[str, DatasetFacet] = {
        "schema": _schema(dataset),
        "dataSource": datasource_dataset.DatasourceDatasetFacet(name="labeltrail", uri=namespace, producer=PRODUCER),
        "ownership": ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=f"user:{owner}", type="CREATOR")], producer=PRODUCER
        ),
        "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(
            datasetType="TABLE", subType="LABELED_TRAINING_DATA", producer=PRODUCER
        ),
        provenance.KEY: provenance.LabeltrailProvenanceDatasetFacet(
            datasetId=str(dataset.id), purpose=dataset.purpose or None, legalBasis=dataset.legal_basis or None,
            taskTypes=dataset.task_types or None, origin=_declared(dataset.origin), producer=PRODUCER, **provenance_fields,
        ),
    }  # fmt: skip
    if dataset.description or dataset.purpose:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=dataset.description or dataset.purpose, contentType="text/plain", producer=PRODUCER
        )
    return facets


def _declared(origin: dict[str, Any]) -> dict[str, Any] | None:
    """The origin's fields the steward filled in, if any."""
    return {key: value for key, value in origin.items() if value not in ("", None)} or None


def version(tag: str) -> dataset_version_dataset.DatasetVersionDatasetFacet:
    return dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=tag, producer=PRODUCER)


def lifecycle(change: Lifecycle) -> lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet:
    return lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(lifecycleStateChange=change, producer=PRODUCER)


def masked_from(namespace: str, name: str, fields: tuple[str, ...]) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """Each field is the masked form of the same field of the raw dataset: personal data Presidio
    found is a placeholder (``<EMAIL_ADDRESS>``), the rest is as it came."""
    masking = column_lineage_dataset.Transformation(
        type="DIRECT", subtype="TRANSFORMATION", description="Presidio replaced personal data with placeholders",
        masking=True,
    )  # fmt: skip
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            field: column_lineage_dataset.Fields(
                inputFields=[column_lineage_dataset.InputField(namespace=namespace, name=name, field=field, transformations=[masking])]
            )
            for field in fields
        },
        producer=PRODUCER,
    )


def _schema(dataset: DatasetRow) -> schema_dataset.SchemaDatasetFacet:
    """A record as a release exports it, its labels answering the dataset's questions."""
    field = schema_dataset.SchemaDatasetFacetFields
    questions = ", ".join(f"{question.name} ({question.kind})" for question in label_schema_of(dataset).questions)
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            field(name="record_id", type="UUID"),
            field(name="external_id", type="STRING"),
            field(name="split", type="STRING"),
            field(name="messages", type="ARRAY", fields=[field(name="role", type="STRING"), field(name="content", type="STRING")]),
            field(name="candidates", type="ARRAY", description="candidate responses to rank or compare"),
            field(name="metadata", type="JSON"),
            field(name="record_sha256", type="STRING", description="hash over salted digests of the texts"),
            field(name="labels", type="ARRAY", description=f"current label of each question: {questions}", fields=[
                field(name=name, type=kind) for name, kind in _LABEL_FIELDS
            ]),
        ],
        producer=PRODUCER,
    )  # fmt: skip


_LABEL_FIELDS = (
    ("question", "STRING"), ("value", "JSON"), ("status", "STRING"), ("annotator", "STRING"), ("source", "JSON"),
    ("guideline_version", "INTEGER"), ("revision", "INTEGER"), ("revision_sha256", "STRING"),
)  # fmt: skip
