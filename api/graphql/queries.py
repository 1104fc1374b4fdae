"""The read side: what REST's GET routes return, as one graph."""

import uuid

import strawberry
from strawberry.types import Info

from api.graphql.context import page_limit, read
from api.graphql.types import Annotation, Connection, Dataset, Me, Record, connection
from catalog.access import service as principals
from catalog.annotations import service as annotations
from catalog.datasets import service as datasets
from catalog.records import service as records


@strawberry.type
class Query:
    @strawberry.field(description="The authenticated principal and the roles it holds")
    def me(self, info: Info) -> Me:
        return Me.of(principals.describe(info.context.principal))

    @strawberry.field(description="The datasets the caller may see, in creation order")
    async def datasets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Dataset] | None:
        page = await read(info, datasets.list_datasets, limit=page_limit(info, first), cursor=after)
        return connection(page)

    @strawberry.field
    async def dataset(self, info: Info, id: uuid.UUID) -> Dataset | None:
        return await read(info, datasets.get_dataset, dataset_id=id)

    @strawberry.field
    async def record(self, info: Info, id: uuid.UUID) -> Record | None:
        return await read(info, records.get_record, record_id=id)

    @strawberry.field(description="An annotation with its current revision")
    async def annotation(self, info: Info, id: uuid.UUID) -> Annotation | None:
        return await read(info, annotations.get_annotation, annotation_id=id)
