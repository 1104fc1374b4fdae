"""What every domain's schemas share: the strict input base, pages, bounded text.

Each domain's ``schemas.py`` holds the pydantic DTOs its services accept and return; both APIs
speak exactly these shapes."""

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

T = TypeVar("T")
Text = Annotated[str, Field(max_length=1_000_000)]


class InputModel(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """A page of a list; :mod:`catalog.core.pagination` makes it, and owns the cursor format."""

    items: list[T]
    next_cursor: str | None
    _cursors: Callable[[], list[str]] | None = PrivateAttr(default=None)

    def item_cursors(self) -> list[str]:
        """Each item's cursor (what ``next_cursor`` would be after it), for GraphQL's edges."""
        if self._cursors is None:
            raise ValueError("this page was not made by catalog.core.pagination")
        return self._cursors()


