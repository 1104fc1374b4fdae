"""The policy denies by default and is the only place that grants."""

import uuid

import pytest

from catalog.authz import POLICY, Action, Principal, Reach, Role, can, require
from catalog.errors import Forbidden


def _principal(role: Role) -> Principal:
    return Principal(id=uuid.uuid4(), name=role.value, role=role)


def test_every_role_has_an_entry_and_admin_has_every_action():
    assert set(POLICY) == set(Role)
    assert set(POLICY[Role.ADMIN]) == set(Action)


def test_what_the_table_does_not_grant_is_denied():
    for role in Role:
        for action in Action:
            granted = action in POLICY[role]
            assert can(_principal(role), action, owner_id=None) == (granted and POLICY[role][action] is Reach.ANY)


def test_own_reach_only_covers_the_principal_own_resources():
    annotator = _principal(Role.ANNOTATOR)
    assert can(annotator, Action.ANNOTATION_EDIT, owner_id=annotator.id)
    assert not can(annotator, Action.ANNOTATION_EDIT, owner_id=uuid.uuid4())
    with pytest.raises(Forbidden, match="not permitted .annotation:edit."):
        require(annotator, Action.ANNOTATION_EDIT, owner_id=uuid.uuid4())
