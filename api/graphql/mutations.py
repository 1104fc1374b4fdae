"""The write side: one mutation per REST write, calling the same service.

Each runs in a savepoint of the request's transaction (see ``context``); the resource passed to
``write`` names what it acts on in the audit entry of a failure, as the URL path does for REST.
"""

import io
import uuid

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.context import ENDPOINT, write
from api.graphql.inputs import (
    AddGuidelineInput,
    AddRecordsInput,
    AnnotateInput,
    CreateDatasetInput,
    EditAnnotationInput,
    RetireRecordInput,
    ReviewInput,
)
from api.graphql.types import Annotation, Dataset, Guideline, Record, RecordIds
from catalog.annotations import service as annotations
from catalog.core.principal import Principal
from catalog.datasets import guidelines
from catalog.datasets import service as datasets
from catalog.importing.service import run_import
from catalog.records import service as records
from catalog.records.schemas import RecordsCreate


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_dataset(self, info: Info, input: CreateDatasetInput) -> Dataset | None:
        return await write(info, ENDPOINT, datasets.create_dataset, data=input)

    @strawberry.mutation(description="A new version of the dataset's guideline")
    async def add_guideline(self, info: Info, dataset_id: uuid.UUID, input: AddGuidelineInput) -> Guideline | None:
        return await write(info, f"dataset:{dataset_id}", guidelines.add_guideline, dataset_id=dataset_id, data=input)

    @strawberry.mutation(description="Records added all together or not at all (at most 10,000)")
    async def add_records(self, info: Info, dataset_id: uuid.UUID, input: AddRecordsInput) -> RecordIds | None:
        return await write(info, f"dataset:{dataset_id}", _add_records, dataset_id=dataset_id, data=input)

    @strawberry.mutation(description="The record stays readable, leaves the active list and takes no new annotations")
    async def retire_record(self, info: Info, record_id: uuid.UUID, input: RetireRecordInput) -> Record | None:
        return await write(info, f"record:{record_id}", records.retire_record, record_id=record_id, data=input)

    @strawberry.mutation
    async def annotate(self, info: Info, record_id: uuid.UUID, input: AnnotateInput) -> Annotation | None:
        return await write(info, f"record:{record_id}", annotations.create_annotation, record_id=record_id, data=input)

    @strawberry.mutation(description="A new revision on top of baseRevision, or CONFLICT if it is not current")
    async def edit_annotation(
        self, info: Info, annotation_id: uuid.UUID, input: EditAnnotationInput
    ) -> Annotation | None:
        resource = f"annotation:{annotation_id}"
        return await write(info, resource, annotations.edit_annotation, annotation_id=annotation_id, data=input)

    @strawberry.mutation(description="Accept or reject someone else's annotation at baseRevision")
    async def review(self, info: Info, annotation_id: uuid.UUID, input: ReviewInput) -> Annotation | None:
        resource = f"annotation:{annotation_id}"
        return await write(info, resource, annotations.review_annotation, annotation_id=annotation_id, data=input)


    @strawberry.mutation(
        description="Import a file's content (JSON array or JSON lines) as POST /datasets/{id}/imports does; "
        "the import report, as JSON"
    )
    async def import_records(
        self, info: Info, dataset_id: uuid.UUID, format: str, content: str, sync: bool = False,
        dry_run: bool = False, question: str | None = None, file_name: str = "upload",
    ) -> JSON | None:
        settings = info.context.settings
        options = {"source": io.BytesIO(content.encode()), "fmt": format, "file_name": file_name, "sync": sync,
                   "dry_run": dry_run, "question": question, "batch_size": settings.import_batch_size,
                   "max_bytes": settings.import_max_bytes, "max_line_bytes": settings.import_max_line_bytes,
                   "max_depth": settings.max_json_depth}  # fmt: skip
        return await write(info, f"dataset:{dataset_id}", _import_records, dataset_id=dataset_id, **options)


def _import_records(session, **options) -> dict:
    return run_import(session, **options).as_dict()


def _add_records(session, *, principal: Principal, dataset_id: uuid.UUID, data: RecordsCreate):
    return records.add_records(session, principal=principal, dataset_id=dataset_id, records=data.records)
