"""Administration of principals, role bindings and API keys through REST (``/api/v1/principals``).

Everything here is done as a global admin: a key is shown once and stored only as its sha256;
role bindings change what a principal can see on its very next request; keys can be added,
expired, rotated (with or without a grace period) and revoked; every change is audited as
``principal:manage``; and every other role is refused (403), as is a request without a key (401).
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from catalog.access import service as principals
from catalog.core.models import ApiKeyRow, AuditEntryRow, PrincipalRow, RoleBindingRow, utcnow
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA, Caller, chat_record, undone

PRINCIPALS = "/api/v1/principals"
KEY_FIELDS = {"key_id", "created_at", "expires_at", "revoked_at", "last_used_at"}
NON_ADMIN_ROLES = [Role.DATA_STEWARD, Role.ANNOTATOR, Role.REVIEWER, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER]


# --- helpers ------------------------------------------------------------------------------


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def me_status(client, key: str) -> int:
    return client.get("/api/v1/me", headers=bearer(key)).status_code


def secret_of(key: str) -> str:
    """The part of ``lt_<key id>_<secret>`` that is never shown again."""
    prefix, key_id, secret = key.split("_", 2)
    assert prefix == "lt" and len(secret) >= 32
    return secret


def create(admin: Caller, name: str, *roles: dict, status: int = 201, **fields):
    response = admin.post(PRINCIPALS, {"name": name, "roles": list(roles), **fields})
    assert response.status_code == status, response.text
    return response.json()


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def keys_of(admin: Caller, principal_id: str) -> dict[str, dict]:
    return {key["key_id"]: key for key in admin.ok(admin.get(f"{PRINCIPALS}/{principal_id}/keys"))}


def delete(caller: Caller, path: str):
    return caller.client.request("DELETE", path, headers=caller.headers)


def audit_manage(admin: Caller) -> list[dict]:
    page = admin.ok(admin.get("/api/v1/audit", params={"action": "principal:manage", "actor": "admin", "limit": 500}))
    assert page["next_cursor"] is None
    return page["items"]


@dataclass
class Administered:
    """The admin and two datasets, each with one record: built once per module and backend."""

    admin: Caller
    two_datasets: tuple[str, str, str, str]


@pytest.fixture(scope="module")
def administered(module_actors) -> Administered:
    admin = module_actors(Role.ADMIN)
    # Not named alpha and beta: some tests create a dataset named alpha of their own.
    dataset_a = admin.dataset("dataset-a", TEXT_SCHEMA)
    dataset_b = admin.dataset("dataset-b", TEXT_SCHEMA)
    (record_a,) = admin.records(dataset_a["id"], chat_record("in A"))
    (record_b,) = admin.records(dataset_b["id"], chat_record("in B"))
    return Administered(admin, (dataset_a["id"], record_a, dataset_b["id"], record_b))


@pytest.fixture
def sessions(module_sessions, administered):
    """The module's sessions, in a savepoint rolled back after the test. ``admin`` and ``two_datasets``
    take it too: a test that only asks for them still has its writes undone."""
    with undone(module_sessions):
        yield module_sessions


@pytest.fixture
def admin(administered, sessions) -> Caller:
    return administered.admin


@pytest.fixture
def two_datasets(administered, sessions) -> tuple[str, str, str, str]:
    """Datasets A and B, each with one record: ``(dataset_a, record_a, dataset_b, record_b)``."""
    return administered.two_datasets


@pytest.fixture
def target(admin) -> dict:
    """A principal the tests manage, with one global role and its first key."""
    return create(admin, "target", {"role": "ml_engineer"})


# --- creating principals ------------------------------------------------------------------


def test_create_returns_a_key_once_that_authenticates_with_the_granted_roles(admin, client, two_datasets):
    dataset_a, _, _, _ = two_datasets
    created = create(admin, "mia", {"role": "ml_engineer"}, {"role": "annotator", "dataset_id": dataset_a})
    key = created["api_key"]
    assert key.startswith(f"lt_{created['key']['key_id']}_")
    assert set(created["key"]) == KEY_FIELDS
    assert created["key"]["expires_at"] is None and created["key"]["revoked_at"] is None
    principal = created["principal"]
    assert principal["name"] == "mia" and principal["disabled_at"] is None
    assert sorted((b["role"], b["dataset_id"], b["granted_by"]) for b in principal["roles"]) == [
        ("annotator", dataset_a, "admin"),
        ("ml_engineer", None, "admin"),
    ]

    me = client.get("/api/v1/me", headers=bearer(key))
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": principal["id"], "name": "mia", "roles": ["ml_engineer"], "dataset_roles": {dataset_a: ["annotator"]},
    }


def test_a_key_with_an_expiry_given_at_creation_stops_working_then(admin, client):
    created = create(admin, "old-timer", {"role": "ml_engineer"}, key_expires_at="2000-01-01T00:00:00+00:00")
    assert at(created["key"]["expires_at"]) == datetime.fromisoformat("2000-01-01T00:00:00+00:00")
    assert me_status(client, created["api_key"]) == 401


def test_the_key_is_never_shown_again(admin, target, client):
    key = target["api_key"]
    second = admin.ok(admin.post(f"{PRINCIPALS}/{target['principal']['id']}/keys", {}), 201)
    pid = target["principal"]["id"]
    assert me_status(client, key) == 200 and me_status(client, second["api_key"]) == 200  # used, so stamped
    key_id = target["key"]["key_id"]
    responses = [
        admin.get(PRINCIPALS),
        admin.get(f"{PRINCIPALS}/{pid}"),
        admin.get(f"{PRINCIPALS}/{pid}/keys"),
        client.get("/api/v1/me", headers=bearer(key)),
        admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/expire", {"expires_at": "2999-01-01T00:00:00+00:00"}),
        admin.get("/api/v1/audit", params={"limit": 500}),
        admin.get("/api/v1/audit/export"),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        for shown_once in (key, second["api_key"]):
            assert secret_of(shown_once) not in response.text, response.request.url
        assert "api_key" not in response.text, response.request.url
    listed = keys_of(admin, pid)
    assert set(listed) == {key_id, second["key"]["key_id"]}
    assert all(set(entry) == KEY_FIELDS for entry in listed.values())


def test_the_database_keeps_only_the_sha256_of_a_key(admin, target, sessions):
    key = target["api_key"]
    with sessions() as session:
        row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == target["key"]["key_id"]))
        assert row is not None
        assert row.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
        stored = [str(getattr(row, column.key)) for column in ApiKeyRow.__table__.columns]
        assert not [value for value in stored if secret_of(key) in value]
        details = session.scalars(select(AuditEntryRow.details)).all()
        assert details and not [d for d in details if secret_of(key) in str(d)]


def test_a_name_already_taken_is_409_and_changes_nothing(admin, target, client):
    again = admin.post(PRINCIPALS, {"name": "target", "roles": [{"role": "compliance_officer"}]})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"
    assert "target" in again.json()["error"]["message"]
    assert "lt_" not in again.text
    assert [p["name"] for p in admin.ok(admin.get(PRINCIPALS))].count("target") == 1
    me = client.get("/api/v1/me", headers=bearer(target["api_key"])).json()
    assert me["roles"] == ["ml_engineer"]  # the first one kept its roles


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.REVIEWER])
def test_dataset_only_roles_granted_globally_are_422_and_nothing_is_created(admin, role):
    refused = admin.post(PRINCIPALS, {"name": "nobody", "roles": [{"role": role.value}]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "INVALID_INPUT"
    assert "per dataset only" in refused.json()["error"]["message"]
    assert "nobody" not in [p["name"] for p in admin.ok(admin.get(PRINCIPALS))]


def test_a_role_on_an_unknown_dataset_is_404_and_nothing_is_created(admin, two_datasets):
    unknown = str(uuid.uuid4())
    refused = admin.post(PRINCIPALS, {"name": "nobody", "roles": [{"role": "annotator", "dataset_id": unknown}]})
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "NOT_FOUND"
    assert "nobody" not in [p["name"] for p in admin.ok(admin.get(PRINCIPALS))]


def test_get_lists_and_unknown_principals(admin, target):
    pid = target["principal"]["id"]
    listed = {p["name"]: p for p in admin.ok(admin.get(PRINCIPALS))}
    assert {"admin", "target"} <= set(listed)
    assert listed["target"] == admin.ok(admin.get(f"{PRINCIPALS}/{pid}")) == target["principal"]
    unknown = uuid.uuid4()
    for response in (
        admin.get(f"{PRINCIPALS}/{unknown}"),
        admin.post(f"{PRINCIPALS}/{unknown}/roles", {"role": "ml_engineer"}),
        admin.post(f"{PRINCIPALS}/{unknown}/keys", {}),
        admin.get(f"{PRINCIPALS}/{unknown}/keys"),
    ):
        assert response.status_code == 404, response.text


# --- granting and revoking roles ----------------------------------------------------------


def test_grant_and_revoke_change_what_the_principal_sees_at_once(admin, client, two_datasets):
    dataset_a, record_a, dataset_b, record_b = two_datasets
    created = create(admin, "ann")
    pid, headers = created["principal"]["id"], bearer(created["api_key"])

    def sees() -> dict[str, int]:
        return {
            "list": [d["id"] for d in client.get("/api/v1/datasets", headers=headers).json()["items"]],
            "A": client.get(f"/api/v1/datasets/{dataset_a}", headers=headers).status_code,
            "A records": client.get(f"/api/v1/datasets/{dataset_a}/records", headers=headers).status_code,
            "A record": client.get(f"/api/v1/records/{record_a}", headers=headers).status_code,
            "B": client.get(f"/api/v1/datasets/{dataset_b}", headers=headers).status_code,
            "B records": client.get(f"/api/v1/datasets/{dataset_b}/records", headers=headers).status_code,
            "B record": client.get(f"/api/v1/records/{record_b}", headers=headers).status_code,
        }

    nothing = {"list": [], "A": 404, "A records": 404, "A record": 404, "B": 404, "B records": 404, "B record": 404}
    assert sees() == nothing

    binding = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/roles", {"role": "annotator", "dataset_id": dataset_a}), 201)
    assert (binding["role"], binding["dataset_id"], binding["granted_by"]) == ("annotator", dataset_a, "admin")
    assert sees() == {**nothing, "list": [dataset_a], "A": 200, "A records": 200, "A record": 200}
    assert client.get("/api/v1/me", headers=headers).json()["dataset_roles"] == {dataset_a: ["annotator"]}

    revoked = delete(admin, f"{PRINCIPALS}/{pid}/roles/{binding['id']}")
    assert revoked.status_code == 204, revoked.text
    assert sees() == nothing
    assert client.get("/api/v1/me", headers=headers).json()["dataset_roles"] == {}
    assert admin.ok(admin.get(f"{PRINCIPALS}/{pid}"))["roles"] == []


def test_revoking_keeps_the_binding_stamped_rather_than_deleted(admin, target, sessions):
    pid = target["principal"]["id"]
    (binding,) = target["principal"]["roles"]
    assert delete(admin, f"{PRINCIPALS}/{pid}/roles/{binding['id']}").status_code == 204
    with sessions() as session:
        row = session.get(RoleBindingRow, uuid.UUID(binding["id"]))
        admin_id = session.scalar(select(PrincipalRow.id).where(PrincipalRow.name == "admin"))
        assert row is not None and row.revoked_at is not None and row.revoked_by == admin_id


def test_a_global_grant_takes_effect_on_the_next_request(admin, target, client):
    pid, headers = target["principal"]["id"], bearer(target["api_key"])
    assert client.get("/api/v1/audit", headers=headers).status_code == 403
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/roles", {"role": "compliance_officer"}), 201)
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=headers).json()["roles"] == ["compliance_officer", "ml_engineer"]


def test_granting_a_role_already_held_is_409(admin, target, two_datasets):
    dataset_a, _, dataset_b, _ = two_datasets
    pid = target["principal"]["id"]
    again = admin.post(f"{PRINCIPALS}/{pid}/roles", {"role": "ml_engineer"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    on_a = {"role": "reviewer", "dataset_id": dataset_a}
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/roles", on_a), 201)
    assert admin.post(f"{PRINCIPALS}/{pid}/roles", on_a).status_code == 409
    # The same role elsewhere is a different binding.
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/roles", {"role": "reviewer", "dataset_id": dataset_b}), 201)
    roles = admin.ok(admin.get(f"{PRINCIPALS}/{pid}"))["roles"]
    assert sorted((b["role"], b["dataset_id"] or "") for b in roles) == sorted(
        [("ml_engineer", ""), ("reviewer", dataset_a), ("reviewer", dataset_b)]
    )


def test_a_revoked_role_can_be_granted_again(admin, target):
    pid = target["principal"]["id"]
    (binding,) = target["principal"]["roles"]
    assert delete(admin, f"{PRINCIPALS}/{pid}/roles/{binding['id']}").status_code == 204
    regranted = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/roles", {"role": "ml_engineer"}), 201)
    assert regranted["id"] != binding["id"]


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.REVIEWER])
def test_granting_a_dataset_only_role_globally_is_422(admin, target, role):
    refused = admin.post(f"{PRINCIPALS}/{target['principal']['id']}/roles", {"role": role.value})
    assert refused.status_code == 422 and "per dataset only" in refused.json()["error"]["message"]


def test_granting_on_an_unknown_dataset_is_404(admin, target):
    body = {"role": "annotator", "dataset_id": str(uuid.uuid4())}
    assert admin.post(f"{PRINCIPALS}/{target['principal']['id']}/roles", body).status_code == 404


def test_revoking_twice_or_through_another_principal_is_404(admin, target):
    pid = target["principal"]["id"]
    (binding,) = target["principal"]["roles"]
    other = create(admin, "other")["principal"]["id"]
    wrong_owner = delete(admin, f"{PRINCIPALS}/{other}/roles/{binding['id']}")
    assert wrong_owner.status_code == 404, wrong_owner.text
    assert delete(admin, f"{PRINCIPALS}/{pid}/roles/{binding['id']}").status_code == 204
    twice = delete(admin, f"{PRINCIPALS}/{pid}/roles/{binding['id']}")
    assert twice.status_code == 404 and twice.json()["error"]["code"] == "NOT_FOUND"
    assert delete(admin, f"{PRINCIPALS}/{pid}/roles/{uuid.uuid4()}").status_code == 404


# --- API keys -----------------------------------------------------------------------------


def test_a_second_key_works_and_the_list_shows_every_key_without_secrets(admin, target, client):
    pid, first = target["principal"]["id"], target["key"]["key_id"]
    before = utcnow() - timedelta(seconds=1)
    second = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys", {}), 201)
    assert set(second) == {"api_key", "key"} and second["key"]["key_id"] != first
    assert second["api_key"].startswith(f"lt_{second['key']['key_id']}_")

    listed = keys_of(admin, pid)
    assert set(listed) == {first, second["key"]["key_id"]}
    for entry in listed.values():
        assert set(entry) == KEY_FIELDS
        assert entry["expires_at"] is None and entry["revoked_at"] is None and entry["last_used_at"] is None
    assert at(listed[second["key"]["key_id"]]["created_at"]) >= before

    assert me_status(client, second["api_key"]) == 200
    after = utcnow() + timedelta(seconds=1)
    listed = keys_of(admin, pid)
    used = at(listed[second["key"]["key_id"]]["last_used_at"])
    assert used is not None and before <= used <= after
    assert listed[first]["last_used_at"] is None  # only the key that was used is stamped
    assert me_status(client, target["api_key"]) == 200
    assert keys_of(admin, pid)[first]["last_used_at"] is not None


def test_a_key_used_on_a_request_that_fails_is_still_stamped_as_used(admin, target, client):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    refused = client.get(f"/api/v1/datasets/{uuid.uuid4()}", headers=bearer(target["api_key"]))
    assert refused.status_code == 404, refused.text
    assert keys_of(admin, pid)[key_id]["last_used_at"] is not None


def test_a_key_created_with_an_expiry_in_the_past_does_not_work(admin, target, client):
    issued = admin.ok(
        admin.post(f"{PRINCIPALS}/{target['principal']['id']}/keys", {"expires_at": "2000-01-01T00:00:00Z"}), 201
    )
    assert me_status(client, issued["api_key"]) == 401
    assert me_status(client, target["api_key"]) == 200


def test_expiring_a_key_in_the_past_stops_it_and_leaves_the_others(admin, target, client):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    spare = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys", {}), 201)
    assert me_status(client, target["api_key"]) == 200
    expired = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/expire", {"expires_at": "2000-01-01T00:00:00+00:00"}))
    assert at(expired["expires_at"]) == datetime.fromisoformat("2000-01-01T00:00:00+00:00")
    assert me_status(client, target["api_key"]) == 401
    assert me_status(client, spare["api_key"]) == 200
    assert at(keys_of(admin, pid)[key_id]["expires_at"]) == datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def test_expiring_a_key_in_the_future_keeps_it_working_until_then(admin, target, client):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/expire", {"expires_at": "2999-01-01T00:00:00+00:00"}))
    assert me_status(client, target["api_key"]) == 200


@pytest.mark.parametrize("body", [{"expires_at": "2000-01-01T00:00:00"}, {}], ids=["naive", "missing"])
def test_expiring_without_a_time_zone_is_422_and_the_key_still_works(admin, target, client, body):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    refused = admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/expire", body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "INVALID_INPUT"
    assert me_status(client, target["api_key"]) == 200
    assert keys_of(admin, pid)[key_id]["expires_at"] is None


def test_rotating_without_grace_replaces_the_key_at_once(admin, target, client):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    rotated = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/rotate", {"grace_seconds": 0}), 201)
    new_key = rotated["api_key"]
    assert rotated["key"]["key_id"] != key_id and new_key.startswith(f"lt_{rotated['key']['key_id']}_")
    assert me_status(client, target["api_key"]) == 401
    me = client.get("/api/v1/me", headers=bearer(new_key))
    assert me.status_code == 200 and me.json()["name"] == "target"
    listed = keys_of(admin, pid)
    assert set(listed) == {key_id, rotated["key"]["key_id"]}
    assert at(listed[key_id]["expires_at"]) <= utcnow()
    assert listed[rotated["key"]["key_id"]]["expires_at"] is None


def test_rotating_with_grace_keeps_both_keys_working_for_that_long(admin, target, client):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    before = utcnow()
    rotated = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/rotate", {"grace_seconds": 3600}), 201)
    after = utcnow()
    assert me_status(client, target["api_key"]) == 200
    assert me_status(client, rotated["api_key"]) == 200
    old_end = at(keys_of(admin, pid)[key_id]["expires_at"])
    assert before + timedelta(seconds=3600) - timedelta(seconds=1) <= old_end <= after + timedelta(seconds=3601)


def test_rotating_never_extends_an_earlier_expiry(admin, target):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    soon = (utcnow() + timedelta(minutes=5)).isoformat()
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/expire", {"expires_at": soon}))
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/rotate", {"grace_seconds": 3600}), 201)
    assert at(keys_of(admin, pid)[key_id]["expires_at"]) == datetime.fromisoformat(soon)


@pytest.mark.parametrize("grace", [-1, 30 * 24 * 3600 + 1])
def test_rotating_with_a_grace_out_of_range_is_422(admin, target, grace):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    refused = admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/rotate", {"grace_seconds": grace})
    assert refused.status_code == 422
    assert set(keys_of(admin, pid)) == {key_id}


def test_a_revoked_key_is_401_and_cannot_be_revoked_expired_or_rotated_again(admin, target, client):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    assert me_status(client, target["api_key"]) == 200
    revoked = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/revoke"))
    assert revoked["key_id"] == key_id and revoked["revoked_at"] is not None
    assert me_status(client, target["api_key"]) == 401
    assert keys_of(admin, pid)[key_id]["revoked_at"] is not None
    for path, body in [
        ("revoke", None),
        ("expire", {"expires_at": "2999-01-01T00:00:00+00:00"}),
        ("rotate", {"grace_seconds": 0}),
    ]:
        again = admin.post(f"{PRINCIPALS}/{pid}/keys/{key_id}/{path}", body)
        assert again.status_code == 409, (path, again.text)
        assert again.json()["error"]["code"] == "CONFLICT"
    assert me_status(client, target["api_key"]) == 401  # expiring into the future did not revive it
    assert set(keys_of(admin, pid)) == {key_id}  # rotating did not issue a new key


def test_an_unknown_key_or_another_principals_key_is_404(admin, target, client):
    pid, key_id = target["principal"]["id"], target["key"]["key_id"]
    other = create(admin, "other")["principal"]["id"]
    for principal_id, wanted in [(pid, "0123456789abcdef"), (other, key_id)]:
        for path, body in [
            ("expire", {"expires_at": "2000-01-01T00:00:00+00:00"}),
            ("rotate", {"grace_seconds": 0}),
            ("revoke", None),
        ]:
            response = admin.post(f"{PRINCIPALS}/{principal_id}/keys/{wanted}/{path}", body)
            assert response.status_code == 404, (principal_id, path, response.text)
            assert response.json()["error"]["code"] == "NOT_FOUND"
    assert me_status(client, target["api_key"]) == 200
    assert keys_of(admin, other) != {} and key_id not in keys_of(admin, other)


# --- who may administer -------------------------------------------------------------------


def operations(target: dict, binding_id: str, key_id: str) -> list[tuple[str, str, dict | None]]:
    pid = target["principal"]["id"]
    return [
        ("POST", PRINCIPALS, {"name": "intruder", "roles": [{"role": "admin"}]}),
        ("GET", PRINCIPALS, None),
        ("GET", f"{PRINCIPALS}/{pid}", None),
        ("POST", f"{PRINCIPALS}/{pid}/roles", {"role": "admin"}),
        ("DELETE", f"{PRINCIPALS}/{pid}/roles/{binding_id}", None),
        ("POST", f"{PRINCIPALS}/{pid}/keys", {}),
        ("GET", f"{PRINCIPALS}/{pid}/keys", None),
        ("POST", f"{PRINCIPALS}/{pid}/keys/{key_id}/expire", {"expires_at": "2000-01-01T00:00:00+00:00"}),
        ("POST", f"{PRINCIPALS}/{pid}/keys/{key_id}/rotate", {"grace_seconds": 0}),
        ("POST", f"{PRINCIPALS}/{pid}/keys/{key_id}/revoke", None),
    ]


def assert_untouched(admin: Caller, client, target: dict) -> None:
    pid = target["principal"]["id"]
    assert admin.ok(admin.get(f"{PRINCIPALS}/{pid}")) == target["principal"]
    listed = keys_of(admin, pid)
    assert set(listed) == {target["key"]["key_id"]}
    assert listed[target["key"]["key_id"]]["expires_at"] is None
    assert me_status(client, target["api_key"]) == 200
    assert "intruder" not in [p["name"] for p in admin.ok(admin.get(PRINCIPALS))]


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_every_operation_is_403_for_every_other_role(actors, admin, target, client, role):
    dataset = admin.dataset("alpha", TEXT_SCHEMA)
    caller = actors(role, on=[dataset["id"]])  # annotators and reviewers hold their role on a dataset
    assert client.get("/api/v1/me", headers=caller.headers).status_code == 200
    ops = operations(target, target["principal"]["roles"][0]["id"], target["key"]["key_id"])
    for method, path, body in ops:
        response = client.request(method, path, json=body, headers=caller.headers)
        assert response.status_code == 403, (role, method, path, response.text)
        assert response.json()["error"]["code"] == "FORBIDDEN"
        assert "principal:manage" in response.json()["error"]["message"]
    assert_untouched(admin, client, target)


def test_admin_held_on_one_dataset_only_is_not_enough(admin, target, client):
    dataset = admin.dataset("alpha", TEXT_SCHEMA)
    local = create(admin, "local-admin", {"role": "admin", "dataset_id": dataset["id"]})
    headers = bearer(local["api_key"])
    ops = operations(target, target["principal"]["roles"][0]["id"], target["key"]["key_id"])
    for method, path, body in ops:
        assert client.request(method, path, json=body, headers=headers).status_code == 403, (method, path)
    assert_untouched(admin, client, target)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer lt_0123456789abcdef_nope"}, {"Authorization": "Bearer not-a-key"}],
    ids=["missing", "unknown", "malformed"],
)
def test_every_operation_is_401_without_a_valid_key(admin, target, client, headers):
    ops = operations(target, target["principal"]["roles"][0]["id"], target["key"]["key_id"])
    for method, path, body in ops:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert_untouched(admin, client, target)


def test_a_revoked_admin_key_can_no_longer_administer(admin, client):
    second = create(admin, "second-admin", {"role": "admin"})
    headers = bearer(second["api_key"])
    assert client.get(PRINCIPALS, headers=headers).status_code == 200
    pid = second["principal"]["id"]
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{second['key']['key_id']}/revoke"))
    assert client.get(PRINCIPALS, headers=headers).status_code == 401


def test_an_admin_whose_role_is_revoked_is_refused_on_the_next_request(admin, client):
    second = create(admin, "second-admin", {"role": "admin"})
    headers, pid = bearer(second["api_key"]), second["principal"]["id"]
    assert client.get(PRINCIPALS, headers=headers).status_code == 200
    (binding,) = second["principal"]["roles"]
    assert delete(admin, f"{PRINCIPALS}/{pid}/roles/{binding['id']}").status_code == 204
    assert client.get(PRINCIPALS, headers=headers).status_code == 403


# --- the audit trail ----------------------------------------------------------------------


def test_every_change_is_audited_as_principal_manage_naming_the_operation(admin, client, two_datasets):
    dataset_a = two_datasets[0]
    created = create(admin, "audited", {"role": "ml_engineer"})
    pid = created["principal"]["id"]
    first_key = created["key"]["key_id"]
    binding = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/roles", {"role": "annotator", "dataset_id": dataset_a}), 201)
    assert delete(admin, f"{PRINCIPALS}/{pid}/roles/{binding['id']}").status_code == 204
    second = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys", {}), 201)["key"]["key_id"]
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{first_key}/expire", {"expires_at": "2999-01-01T00:00:00+00:00"}))
    rotated = admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{first_key}/rotate", {"grace_seconds": 0}), 201)
    admin.ok(admin.post(f"{PRINCIPALS}/{pid}/keys/{second}/revoke"))
    # Reads change nothing and are not entries of their own.
    admin.ok(admin.get(PRINCIPALS))
    admin.ok(admin.get(f"{PRINCIPALS}/{pid}/keys"))

    entries = audit_manage(admin)
    assert all(
        (e["action"], e["actor_name"], e["resource"], e["outcome"]) == ("principal:manage", "admin", f"principal:{pid}", "ok")
        for e in entries
    ), entries
    assert "admin" in entries[0]["roles"]
    assert [e["details"]["operation"] for e in entries] == [
        "create", "grant", "revoke", "key:create", "key:expire", "key:rotate", "key:revoke",
    ]
    create_entry, grant, revoke, key_create, expire, rotate, key_revoke = (e["details"] for e in entries)
    assert (create_entry["name"], create_entry["key_id"]) == ("audited", first_key)
    assert create_entry["roles"] == ["ml_engineer globally"]
    assert (grant["binding"], grant["role"], grant["dataset_id"]) == (binding["id"], "annotator", dataset_a)
    assert (revoke["binding"], revoke["role"], revoke["dataset_id"]) == (binding["id"], "annotator", dataset_a)
    assert key_create["key_id"] == second
    assert (expire["key_id"], at(expire["expires_at"])) == (first_key, datetime.fromisoformat("2999-01-01T00:00:00+00:00"))
    assert (rotate["key_id"], rotate["replaced"]) == (rotated["key"]["key_id"], first_key)
    assert key_revoke["key_id"] == second


def test_refused_and_failed_changes_leave_no_ok_entry(actors, admin, target, client):
    pid = target["principal"]["id"]
    steward = actors(Role.DATA_STEWARD)
    assert steward.post(f"{PRINCIPALS}/{pid}/roles", {"role": "admin"}).status_code == 403
    assert admin.post(f"{PRINCIPALS}/{pid}/roles", {"role": "ml_engineer"}).status_code == 409
    assert admin.post(PRINCIPALS, {"name": "target"}).status_code == 409
    page = admin.ok(admin.get("/api/v1/audit", params={"action": "principal:manage", "limit": 500}))
    ok = [e for e in page["items"] if e["outcome"] == "ok" and e["actor_name"] == "admin"]
    assert [e["details"]["operation"] for e in ok] == ["create"]  # the target's creation only
    denied = [e for e in page["items"] if e["outcome"] == "denied"]
    assert [e["actor_name"] for e in denied] == ["data_steward"]


def test_the_system_principal_keeps_its_admin_role_and_gets_no_key(admin, sessions):
    with sessions() as session:
        system = principals.system_principal(session)
        session.commit()
    [binding] = admin.ok(admin.get(f"{PRINCIPALS}/{system.id}"))["roles"]
    for method, path, body in [
        ("DELETE", f"{PRINCIPALS}/{system.id}/roles/{binding['id']}", None),
        ("POST", f"{PRINCIPALS}/{system.id}/roles", {"role": "ml_engineer"}),
        ("POST", f"{PRINCIPALS}/{system.id}/keys", {}),
    ]:
        refused = admin.client.request(method, path, json=body, headers=admin.headers)
        assert refused.status_code == 409, (path, refused.text)
        assert "system principal" in refused.json()["error"]["message"]
    with sessions() as session:
        assert principals.system_principal(session).roles == {Role.ADMIN}
    assert keys_of(admin, str(system.id)) == {}
