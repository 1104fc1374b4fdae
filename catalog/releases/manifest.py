"""A release's manifest and its Merkle root, built so anyone can recompute them (docs/releases.md).

- One leaf per released record, in ascending order of record id (the UUID's text form).
- A leaf is the RFC 8785 canonical JSON of ``{"record_id", "record_sha256", "masked_sha256",
  "detector_version", "split", "annotations": [{"annotation_id", "revision_id", "sha256"}, ...]}``
  (annotations in ascending ``annotation_id``), hashed as ``sha256(0x00 || json)``.
- An inner node is ``sha256(0x01 || left || right)`` over the two 32-byte child digests. The prefixes
  keep a leaf from passing for a node (RFC 6962 does the same).
- A level with an odd number of nodes carries its last node up unchanged; it is never paired
  with itself, so two different manifests cannot share a root (the flaw of duplicating it).
"""

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catalog.core.hashing import canonical_json

_LEAF, _NODE = b"\x00", b"\x01"


@dataclass(frozen=True)
class LabelEntry:
    annotation_id: uuid.UUID
    revision_id: uuid.UUID
    sha256: str


@dataclass(frozen=True)
class Leaf:
    record_id: uuid.UUID
    record_sha256: str
    masked_sha256: str | None
    detector_version: str | None
    split: str
    annotations: tuple[LabelEntry, ...]

    def document(self) -> dict[str, Any]:
        return {
            "record_id": str(self.record_id),
            "record_sha256": self.record_sha256,
            "masked_sha256": self.masked_sha256,
            "detector_version": self.detector_version,
            "split": self.split,
            "annotations": [
                {"annotation_id": str(a.annotation_id), "revision_id": str(a.revision_id), "sha256": a.sha256}
                for a in sorted(self.annotations, key=lambda a: str(a.annotation_id))
            ],
        }

    def sha256(self) -> str:
        return hashlib.sha256(_LEAF + canonical_json(self.document())).hexdigest()


def masked_sha256(masked_content: dict[str, Any] | None, masked_meta: dict[str, Any] | None) -> str | None:
    """The hash of what roles without raw access are served; None while the record awaits masking."""
    if masked_content is None:
        return None
    return hashlib.sha256(canonical_json({"content": masked_content, "metadata": masked_meta or {}})).hexdigest()


def merkle_root(leaf_hashes: Iterable[str]) -> str:
    """The root over leaf digests (hex) in leaf order; a manifest has at least one leaf."""
    level = [bytes.fromhex(digest) for digest in leaf_hashes]
    if not level:
        raise ValueError("a manifest needs at least one leaf")
    while len(level) > 1:
        paired = [hashlib.sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = paired + level[-1:] if len(level) % 2 else paired
    return level[0].hex()
