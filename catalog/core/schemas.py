"""What every domain's schemas share: the strict input base, pages, bounded text.

Each domain's ``schemas.py`` holds the pydantic DTOs its services accept and return; both APIs
speak exactly these shapes."""

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
Text = Annotated[str, Field(max_length=1_000_000)]


class InputModel(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


