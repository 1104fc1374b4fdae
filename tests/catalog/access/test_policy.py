"""The policy denies by default and is the only place that grants, globally or per dataset."""

import uuid

import pytest

from catalog.access.policy import (
    GLOBAL_ACTIONS,
    POLICY,
    Action,
    Reach,
    can,
    check_grant,
    may_read_raw,
    readable_dataset_ids,
    require,
)
from catalog.core.errors import Forbidden, InvalidInput
from catalog.core.principal import Principal, Role

DATASET_A, DATASET_B = uuid.uuid4(), uuid.uuid4()


def _global(role: Role) -> Principal:
    return Principal(id=uuid.uuid4(), name=role.value, roles=frozenset({role}))


def _on_a(role: Role) -> Principal:
    return Principal(id=uuid.uuid4(), name=role.value, dataset_roles={DATASET_A: frozenset({role})})


def test_every_role_has_an_entry_and_admin_has_every_action():
    assert set(POLICY) == set(Role)
    assert set(POLICY[Role.ADMIN]) == set(Action)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_what_the_table_does_not_grant_is_denied(role, action):
    granted = POLICY[role].get(action) is Reach.ANY
    assert can(_global(role), action, dataset_id=DATASET_A) == granted


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", sorted(set(Action) - GLOBAL_ACTIONS))
def test_a_dataset_role_grants_on_that_dataset_only(role, action):
    principal = _on_a(role)
    granted = POLICY[role].get(action) is Reach.ANY
    assert can(principal, action, dataset_id=DATASET_A) == granted
    assert not can(principal, action, dataset_id=DATASET_B)
    assert not can(principal, action)


@pytest.mark.parametrize("action", sorted(GLOBAL_ACTIONS))
def test_catalog_wide_actions_need_a_global_role(action):
    assert not can(_on_a(Role.ADMIN), action, dataset_id=DATASET_A)
    assert can(_global(Role.ADMIN), action)


def test_own_reach_only_covers_the_principal_own_resources():
    annotator = _on_a(Role.ANNOTATOR)
    assert can(annotator, Action.ANNOTATION_EDIT, dataset_id=DATASET_A, owner_id=annotator.id)
    assert not can(annotator, Action.ANNOTATION_EDIT, dataset_id=DATASET_A, owner_id=uuid.uuid4())
    with pytest.raises(Forbidden, match="not permitted .annotation:edit."):
        require(annotator, Action.ANNOTATION_EDIT, dataset_id=DATASET_A, owner_id=uuid.uuid4())


@pytest.mark.parametrize(
    "principal, dataset_id, said",
    [(_on_a(Role.ANNOTATOR), None, "roles held on single datasets are"),
     (_on_a(Role.ANNOTATOR), DATASET_B, "no role on this dataset is"),
     (Principal(id=uuid.uuid4(), name="nobody"), DATASET_A, "no role is"),
     (_global(Role.REVIEWER), DATASET_A, "roles [reviewer] are")],
    ids=["dataset-roles-on-a-catalog-wide-action", "roles-elsewhere", "no-roles", "global-role"],
)  # fmt: skip
def test_a_refusal_says_which_roles_counted(principal, dataset_id, said):
    with pytest.raises(Forbidden) as refused:
        require(principal, Action.DATASET_CREATE, dataset_id=dataset_id)
    assert str(refused.value) == f"{said} not permitted 'dataset:create'"


def test_only_admins_and_stewards_read_raw_text_by_default():
    allowed = {role for role in Role if may_read_raw(_global(role), DATASET_A)}
    assert allowed == {Role.ADMIN, Role.DATA_STEWARD}


def test_readable_datasets_are_all_for_global_readers_and_the_assigned_ones_otherwise():
    assert readable_dataset_ids(_global(Role.COMPLIANCE_OFFICER)) is None
    assert readable_dataset_ids(_on_a(Role.ANNOTATOR)) == {DATASET_A}
    assert readable_dataset_ids(Principal(id=uuid.uuid4(), name="nobody")) == frozenset()


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.REVIEWER])
def test_annotators_and_reviewers_are_granted_per_dataset_only(role):
    with pytest.raises(InvalidInput, match="per dataset only"):
        check_grant(role, None)
    check_grant(role, DATASET_A)
