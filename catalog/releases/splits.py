"""Which split a record goes to: its own ``metadata.split``, or a deterministic draw from its prompt.

The draw hashes the prompt (``prompt_sha256``), not the record id, so a prompt stays in the same
split in every release and a re-imported prompt cannot move from train to test.
"""

import hashlib

from catalog.releases.schemas import SplitRatios

_SCALE = float(2**64)


def assign_split(declared: str | None, prompt_sha256: str, ratios: SplitRatios) -> str:
    if declared:
        return declared
    draw = int.from_bytes(hashlib.sha256(prompt_sha256.encode()).digest()[:8], "big") / _SCALE
    if draw < ratios.train:
        return "train"
    if draw < ratios.train + ratios.validation:
        return "validation"
    return "test"
