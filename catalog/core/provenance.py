"""The revision chain: each annotation revision is hashed together with the hash of the one before.

Free text in a revision (its value and reason) enters the hash as a salted digest, so erasing
the text later leaves the chain verifiable.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog.core.hashing import canonical_json, digest_strings, sha256_hex


def revision_sha256(
    *,
    annotation_id: uuid.UUID,
    record_sha256: str,
    question: str,
    revision: int,
    kind: str,
    actor_id: uuid.UUID,
    source: dict[str, Any],
    guideline_version: int | None,
    value: Any,
    status: str,
    reason: str | None,
    created_at: datetime,
    previous_sha256: str | None,
    salt: bytes,
) -> str:
    payload = {
        "annotation_id": str(annotation_id),
        "record_sha256": record_sha256,
        "question": question,
        "revision": revision,
        "kind": kind,
        "actor_id": str(actor_id),
        "source": source,
        "guideline_version": guideline_version,
        "value": digest_strings(value, salt),
        "status": status,
        "reason": digest_strings(reason, salt),
        "created_at": created_at.isoformat(timespec="microseconds"),
        "previous_sha256": previous_sha256,
    }
    return sha256_hex(canonical_json(payload))


@dataclass(frozen=True)
class Broken:
    """The first link of a chain (records, revisions, the audit log) that does not hold, and why."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"
