"""Who acts: the principal every service function receives, and the roles it can hold.

What each role may do is the access policy's (``catalog.access.policy``); these are the names.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DATA_STEWARD = "data_steward"
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    ML_ENGINEER = "ml_engineer"
    COMPLIANCE_OFFICER = "compliance_officer"
    PIPELINE = "pipeline"


@dataclass(frozen=True)
class Principal:
    """The acting identity every service function receives, with the roles it holds."""

    id: uuid.UUID
    name: str
    roles: frozenset[Role] = frozenset()
    dataset_roles: Mapping[uuid.UUID, frozenset[Role]] = field(default_factory=dict, hash=False)

    def roles_on(self, dataset_id: uuid.UUID | None) -> frozenset[Role]:
        """Global roles, plus the roles held on ``dataset_id`` when one is given."""
        if dataset_id is None:
            return self.roles
        return self.roles | self.dataset_roles.get(dataset_id, frozenset())
