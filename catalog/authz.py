"""The one place that decides access. Deny by default: what the policy table does not grant is refused.

Writes call :func:`require`. Reads pass their query through :func:`scope_datasets`, so lists and
single gets are filtered the same way and a hidden row is a 404, never a 403.
"""

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, false

from catalog.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    DATA_STEWARD = "data_steward"
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    ML_ENGINEER = "ml_engineer"
    COMPLIANCE_OFFICER = "compliance_officer"


class Action(StrEnum):
    DATASET_READ = "dataset:read"
    DATASET_CREATE = "dataset:create"
    GUIDELINE_CREATE = "guideline:create"
    RECORD_CREATE = "record:create"
    RECORD_RETIRE = "record:retire"
    IMPORT_RUN = "import:run"
    ANNOTATION_CREATE = "annotation:create"
    ANNOTATION_EDIT = "annotation:edit"
    ANNOTATION_REVIEW = "annotation:review"
    PRINCIPAL_MANAGE = "principal:manage"


class Reach(StrEnum):
    """How far a grant goes: any resource, or only the ones the principal made."""

    ANY = "any"
    OWN = "own"


@dataclass(frozen=True)
class Principal:
    """The acting identity every service function receives."""

    id: uuid.UUID
    name: str
    role: Role


_ANY = Reach.ANY
POLICY: dict[Role, dict[Action, Reach]] = {
    Role.ADMIN: {action: _ANY for action in Action},
    Role.DATA_STEWARD: {
        Action.DATASET_READ: _ANY,
        Action.DATASET_CREATE: _ANY,
        Action.GUIDELINE_CREATE: _ANY,
        Action.RECORD_CREATE: _ANY,
        Action.RECORD_RETIRE: _ANY,
        Action.IMPORT_RUN: _ANY,
        Action.ANNOTATION_CREATE: _ANY,
        Action.ANNOTATION_EDIT: _ANY,
        Action.ANNOTATION_REVIEW: _ANY,
    },
    Role.ANNOTATOR: {
        Action.DATASET_READ: _ANY,
        Action.ANNOTATION_CREATE: _ANY,
        Action.ANNOTATION_EDIT: Reach.OWN,
    },
    Role.REVIEWER: {Action.DATASET_READ: _ANY, Action.ANNOTATION_REVIEW: _ANY},
    Role.ML_ENGINEER: {Action.DATASET_READ: _ANY},
    Role.COMPLIANCE_OFFICER: {Action.DATASET_READ: _ANY},
}


def can(principal: Principal, action: Action, owner_id: uuid.UUID | None = None) -> bool:
    reach = POLICY.get(principal.role, {}).get(action)
    if reach is Reach.ANY:
        return True
    return reach is Reach.OWN and owner_id is not None and owner_id == principal.id


def require(principal: Principal, action: Action, owner_id: uuid.UUID | None = None) -> None:
    if not can(principal, action, owner_id):
        raise Forbidden(f"role '{principal.role}' is not permitted '{action.value}'", {"action": action.value})


def require_review(principal: Principal, annotator_id: uuid.UUID) -> None:
    """Reviewing is a second pair of eyes: nobody reviews their own annotation."""
    require(principal, Action.ANNOTATION_REVIEW)
    if annotator_id == principal.id:
        raise Forbidden("nobody may review their own annotation")


def scope_datasets(stmt: Select, principal: Principal, dataset_id_column) -> Select:
    """Filter any query that reaches datasets down to the ones the principal may see."""
    if can(principal, Action.DATASET_READ):
        return stmt
    return stmt.where(false())
