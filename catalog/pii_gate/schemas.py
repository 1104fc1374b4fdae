"""The PII gate's DTOs."""

from pydantic import BaseModel


class MaskingBacklog(BaseModel):
    """What the masking worker has still to do: counts only, never text."""

    pending_records: int
    pending_revisions: int

    @property
    def total(self) -> int:
        return self.pending_records + self.pending_revisions
