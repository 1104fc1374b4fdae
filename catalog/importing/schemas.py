"""What the import service returns: the report of one run, and the note a partly committed run leaves."""

import dataclasses
from dataclasses import dataclass, field
from typing import Any

MAX_REPORTED = 100


@dataclass
class ImportReport:
    """The result of one import, the same through the CLI, REST and GraphQL (the CLI prints it as JSON)."""

    file: str
    format: str
    sync: bool
    dry_run: bool
    read: int = 0
    records_added: int = 0
    records_matched: int = 0
    records_retired: int = 0
    records_replaced: int = 0
    annotations_added: int = 0
    annotations_revised: int = 0
    annotations_unchanged: int = 0
    rejected: int = 0
    conflicted: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)
    retirement_skipped: str | None = None

    def reject(self, location: str, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append({"location": location, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PartlyImported:
    """Batches an import committed before it failed: they stay imported."""

    batches: int
    batch_size: int

    def __str__(self) -> str:
        return (
            f"note: {self.batches} batch(es) of up to {self.batch_size} item(s) were committed before this error "
            "and stay imported; the failing batch wrote nothing"
        )
