"""What every domain's schemas share: the strict input base (no NUL in any text), pages, bounded text.

Each domain's ``schemas.py`` holds the pydantic DTOs its services accept and return; both APIs
speak exactly these shapes."""

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from catalog.core.json_input import bad_text

T = TypeVar("T")
Text = Annotated[str, Field(max_length=1_000_000)]


class InputModel(BaseModel):
    """A request body: unknown fields are refused, not ignored, and so is NUL (``\\u0000``) in any
    text, free-form JSON (metadata, values) and its keys included: PostgreSQL cannot store it, and
    SQLite would keep a text that other tools cut short. So is a lone surrogate (``\\ud800``),
    which JSON can escape but no UTF-8 encodes (pydantic refuses one only in a ``str`` field)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        plain = value.model_dump() if isinstance(value, BaseModel) and not isinstance(value, InputModel) else value
        found = bad_text(plain)  # a nested InputModel checked its own fields
        if found is not None:
            where, problem = found
            raise ValueError(f"{where}: {problem}" if where else problem)
        return value


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


