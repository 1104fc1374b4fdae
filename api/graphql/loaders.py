"""Per-request DataLoaders over the services' many-id reads.

A page of records asks for its annotations, and those for their histories, in one service call
each, however long the page. The many-id functions apply the same authorization and masking as
the single-id ones REST calls. An id the batch leaves out (one the principal may not see) is
answered by the single-id function, so it fails with that function's own error.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.dataloader import DataLoader

from catalog.annotations import service as annotations
from catalog.annotations.schemas import AnnotationOut, History
from catalog.core.errors import DomainError
from catalog.datasets import guidelines
from catalog.datasets.schemas import GuidelineOut

Call = Callable[..., Awaitable[Any]]


class Loaders:
    def __init__(self, call: Call) -> None:
        self.guidelines: DataLoader[uuid.UUID, list[GuidelineOut]] = _loader(
            call, guidelines.list_for_datasets, "dataset_ids", guidelines.list_guidelines, "dataset_id"
        )
        self.annotations: DataLoader[uuid.UUID, list[AnnotationOut]] = _loader(
            call, annotations.list_for_records, "record_ids", annotations.list_record_annotations, "record_id"
        )
        self.history: DataLoader[uuid.UUID, History] = _loader(
            call, annotations.histories, "annotation_ids", annotations.get_history, "annotation_id"
        )


def _loader(call: Call, many: Callable, many_ids: str, one: Callable, one_id: str) -> DataLoader:
    async def load(keys: list[uuid.UUID]) -> list:
        found = await call(many, {many_ids: keys}, field=many.__name__)
        return [found[key] if key in found else await _single(call, one, {one_id: key}) for key in keys]

    return DataLoader(load_fn=load)


async def _single(call: Call, one: Callable, arguments: dict[str, uuid.UUID]) -> Any:
    """The single-id answer for a key the batch left out: normally its not-found error."""
    try:
        return await call(one, arguments, field=one.__name__)
    except DomainError as error:
        return error
