"""The one place that decides access. Deny by default: what the policy table does not grant is refused.

A principal holds roles globally and per dataset. Writes call :func:`require` with the dataset
they touch; reads pass their query through :func:`scope_datasets`, so lists and single gets are
filtered the same way and a dataset the principal has no role on is a 404, never a 403.
Who may read text raw is decided here too (:func:`may_read_raw`); :mod:`catalog.access.serving`
asks it for every read of record and annotation text.
"""

import uuid
from enum import StrEnum

from sqlalchemy import Select, false

from catalog.core.errors import Forbidden, InvalidInput
from catalog.core.principal import Principal, Role


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
    READ_RAW = "text:read_raw"
    AUDIT_READ = "audit:read"
    PRINCIPAL_MANAGE = "principal:manage"
    SUBJECT_ERASE = "subject:erase"
    RELEASE_CREATE = "release:create"
    RELEASE_OVERRIDE = "release:override"
    LINEAGE_WRITE = "lineage:write"
    LINEAGE_READ = "lineage:read"


class Reach(StrEnum):
    """How far a grant goes: any resource, or only the ones the principal made."""

    ANY = "any"
    OWN = "own"


# Actions about the catalog as a whole: only roles granted globally count for them.
# Erasure reaches a data subject's records in every dataset, so it is granted catalog-wide only.
GLOBAL_ACTIONS = frozenset({
    Action.DATASET_CREATE, Action.AUDIT_READ, Action.PRINCIPAL_MANAGE, Action.SUBJECT_ERASE,
    Action.LINEAGE_WRITE, Action.LINEAGE_READ,
})  # fmt: skip
# Roles that are only ever granted on a dataset: annotators and reviewers see what they are assigned.
DATASET_ONLY_ROLES = frozenset({Role.ANNOTATOR, Role.REVIEWER})

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
        Action.READ_RAW: _ANY,
        Action.SUBJECT_ERASE: _ANY,
        Action.RELEASE_CREATE: _ANY,
        Action.LINEAGE_READ: _ANY,
    },
    Role.ANNOTATOR: {
        Action.DATASET_READ: _ANY,
        Action.ANNOTATION_CREATE: _ANY,
        Action.ANNOTATION_EDIT: Reach.OWN,
    },
    Role.REVIEWER: {Action.DATASET_READ: _ANY, Action.ANNOTATION_REVIEW: _ANY},
    Role.ML_ENGINEER: {Action.DATASET_READ: _ANY, Action.LINEAGE_WRITE: _ANY, Action.LINEAGE_READ: _ANY},
    Role.COMPLIANCE_OFFICER: {Action.DATASET_READ: _ANY, Action.AUDIT_READ: _ANY, Action.LINEAGE_READ: _ANY},
    # A training pipeline's service principal: it reports runs and reads nothing.
    Role.PIPELINE: {Action.LINEAGE_WRITE: _ANY},
}


def can(
    principal: Principal,
    action: Action,
    *,
    dataset_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> bool:
    roles = principal.roles if action in GLOBAL_ACTIONS else principal.roles_on(dataset_id)
    for role in roles:
        reach = POLICY.get(role, {}).get(action)
        if reach is Reach.ANY or (reach is Reach.OWN and owner_id is not None and owner_id == principal.id):
            return True
    return False


def require(
    principal: Principal,
    action: Action,
    *,
    dataset_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> None:
    if not can(principal, action, dataset_id=dataset_id, owner_id=owner_id):
        raise Forbidden(f"{_held(principal, dataset_id)} not permitted '{action.value}'", {"action": action.value})


def _held(principal: Principal, dataset_id: uuid.UUID | None) -> str:
    """The roles that counted, said so that a role held on some other dataset is not called "none"."""
    held = sorted(principal.roles_on(dataset_id))
    if held:
        return f"roles [{', '.join(held)}] are"
    if principal.dataset_roles and dataset_id is None:
        return "roles held on single datasets are"
    if principal.dataset_roles:
        return "no role on this dataset is"
    return "no role is"


def require_review(principal: Principal, *, dataset_id: uuid.UUID, annotator_id: uuid.UUID) -> None:
    """Reviewing is a second pair of eyes: nobody reviews their own annotation."""
    require(principal, Action.ANNOTATION_REVIEW, dataset_id=dataset_id)
    if annotator_id == principal.id:
        raise Forbidden("nobody may review their own annotation", {"action": Action.ANNOTATION_REVIEW.value})


def may_read_raw(principal: Principal, dataset_id: uuid.UUID) -> bool:
    return can(principal, Action.READ_RAW, dataset_id=dataset_id)


def reads_are_audited(principal: Principal) -> bool:
    """Whether a read by ``principal`` may write an audit entry: it may be served raw text
    (globally or on some dataset), or may export the audit log. Known from the principal alone,
    before the request's first statement, so that such a read can begin as a writer."""
    datasets = [None, *principal.dataset_roles]
    return can(principal, Action.AUDIT_READ) or any(can(principal, Action.READ_RAW, dataset_id=d) for d in datasets)


def readable_dataset_ids(principal: Principal) -> frozenset[uuid.UUID] | None:
    """The datasets the principal may see, or None when a global role lets it see them all."""
    if can(principal, Action.DATASET_READ):
        return None
    return frozenset(
        dataset_id
        for dataset_id in principal.dataset_roles
        if can(principal, Action.DATASET_READ, dataset_id=dataset_id)
    )


def scope_datasets(stmt: Select, principal: Principal, dataset_id_column) -> Select:
    """Filter any query that reaches datasets down to the ones the principal may see."""
    readable = readable_dataset_ids(principal)
    if readable is None:
        return stmt
    if not readable:
        return stmt.where(false())
    return stmt.where(dataset_id_column.in_(readable))


def in_scope(principal: Principal, dataset_id: uuid.UUID) -> bool:
    """Whether :func:`scope_datasets` keeps rows of ``dataset_id`` for the principal: the roles
    alone decide, so no query is needed (whether the dataset exists is another question)."""
    readable = readable_dataset_ids(principal)
    return readable is None or dataset_id in readable


def check_grant(role: Role, dataset_id: uuid.UUID | None) -> None:
    """Refuse bindings the model does not allow: annotators and reviewers work on assigned datasets."""
    if dataset_id is None and role in DATASET_ONLY_ROLES:
        raise InvalidInput(f"role '{role}' is granted per dataset only: name the dataset", {"role": role.value})
