"""Output types, built from the service DTOs (every DTO field, under its camelCase name).

Resolvers return the services' DTOs themselves: a type built from a DTO resolves its fields from
the DTO's attributes, so nothing is copied on the way out.

Fields that REST types as a fixed set of strings (``text``, ``status``, ``kind``) are strings
here too, with the same values; free-form JSON (metadata, values, label schemas) is ``JSON``.
Links between types (a dataset's guidelines, a record's annotations, an annotation's history)
go through the request's DataLoaders.
"""

import uuid
from typing import Generic, TypeVar

import strawberry
from strawberry.experimental import pydantic as from_dto
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.context import page_limit, read
from catalog.access.schemas import Me
from catalog.annotations.schemas import AnnotationOut, RevisionOut, Source
from catalog.core.schemas import Page
from catalog.datasets.schemas import DatasetOut, GuidelineOut, Origin
from catalog.records import service as records
from catalog.records.schemas import Message, RecordIds, RecordOut

T = TypeVar("T")


@from_dto.type(model=Message, all_fields=True, name="Message")
class Message:
    role: str


@from_dto.type(model=Origin, all_fields=True, name="Origin")
class Origin:
    pass


@from_dto.type(model=Source, all_fields=True, name="Source")
class Source:
    kind: str


@from_dto.type(model=GuidelineOut, all_fields=True, name="Guideline")
class Guideline:
    pass


@from_dto.type(model=RevisionOut, all_fields=True, name="Revision")
class Revision:
    kind: str
    text: str
    value: JSON | None
    status: str


@from_dto.type(model=AnnotationOut, all_fields=True, name="Annotation")
class Annotation:
    text: str
    value: JSON | None
    status: str

    @strawberry.field(description="every revision, oldest first")
    async def history(self, info: Info) -> list[Revision]:
        found = await info.context.loaders.history.load(self.id)
        return found.revisions


@from_dto.type(model=RecordOut, all_fields=True, name="Record")
class Record:
    text: str
    metadata: JSON
    mask_status: str

    @strawberry.field(description="every annotation on the record, with its current revision")
    async def annotations(self, info: Info) -> list[Annotation]:
        return await info.context.loaders.annotations.load(self.id)


@from_dto.type(model=RecordIds, all_fields=True, name="RecordIds")
class RecordIds:
    pass


@strawberry.type(description="Relay page information")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page in creation order; pass pageInfo.endCursor as `after` for the next one")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


def connection(page: Page) -> Connection:
    """A service's page as a Relay connection, with the service's own cursors (the REST API's):
    an item's cursor is what ``next_cursor`` is after it, so ``endCursor`` is ``next_cursor``."""
    edges = [Edge(cursor=cursor, node=item) for cursor, item in zip(page.item_cursors(), page.items, strict=True)]
    info = PageInfo(has_next_page=page.next_cursor is not None, end_cursor=edges[-1].cursor if edges else None)
    return Connection(edges=edges, page_info=info)


@from_dto.type(model=DatasetOut, all_fields=True, name="Dataset")
class Dataset:
    label_schema: JSON

    @strawberry.field(description="every guideline version, oldest first")
    async def guidelines(self, info: Info) -> list[Guideline]:
        return await info.context.loaders.guidelines.load(self.id)

    @strawberry.field(description="the dataset's records; retired ones only with includeRetired")
    async def records(
        self, info: Info, first: int | None = None, after: str | None = None, include_retired: bool = False
    ) -> Connection[Record] | None:
        page = await read(
            info, records.list_records, dataset_id=self.id, limit=page_limit(info, first), cursor=after,
            include_retired=include_retired,
        )
        return connection(page)


@strawberry.type(description="The roles held on one dataset")
class DatasetRoles:
    dataset_id: uuid.UUID
    roles: list[str]


@strawberry.type(description="The authenticated principal")
class Me:
    id: uuid.UUID
    name: str
    roles: list[str] = strawberry.field(description="roles held globally")
    dataset_roles: list[DatasetRoles] = strawberry.field(description="roles held per dataset")

    @classmethod
    def of(cls, me: Me) -> "Me":
        """``dataset_roles`` is a map in the DTO, which GraphQL cannot type: here a list of entries."""
        per_dataset = [DatasetRoles(dataset_id=dataset, roles=roles) for dataset, roles in me.dataset_roles.items()]
        return cls(id=me.id, name=me.name, roles=me.roles, dataset_roles=per_dataset)
