"""Authentication: every /api/v1 route needs a valid bearer key; /health does not."""

import re

import pytest

from catalog.core.principal import Role


def test_health_needs_no_key(client):
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer lt_0000000000000000_nope"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-key"},
    ],
    ids=["missing", "empty", "unknown", "basic", "malformed"],
)
def test_missing_or_bad_key_is_401_with_error_body(client, headers):
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


def test_me_names_the_principal_and_role(actors):
    steward = actors(Role.DATA_STEWARD, "dana")
    me = steward.ok(steward.get("/api/v1/me"))
    assert (me["name"], me["roles"], me["dataset_roles"]) == ("dana", ["data_steward"], {})


def test_a_tampered_key_is_refused(actors, client):
    steward = actors(Role.DATA_STEWARD)
    tampered = steward.key[:-1] + ("A" if steward.key[-1] != "A" else "B")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401


def test_keys_are_stored_hashed(actors, session):
    from sqlalchemy import select

    from catalog.core.models import ApiKeyRow

    steward = actors(Role.DATA_STEWARD)
    stored = session.scalars(select(ApiKeyRow.key_sha256)).all()
    assert stored and all(steward.key not in value for value in stored)
    assert all(len(value) == 64 for value in stored)


def api_operations(app) -> list[tuple[str, str]]:
    """Every (method, path) the app documents under /api/v1."""
    paths = app.openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() if path.startswith("/api/v1") for method in ops]


def test_every_api_route_requires_authentication(client):
    operations = api_operations(client.app)
    assert len(operations) >= 12
    for method, path in operations:
        concrete = re.sub(r"\{[a-z_]+\}", "01a201c3-1130-71c9-83b9-f34b2d41811d", path)
        response = client.request(method, concrete)
        assert response.status_code == 401, (method, path, response.text)
