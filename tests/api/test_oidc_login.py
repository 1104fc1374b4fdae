"""Signing in with an identity provider's token: the same API, the same policy, the same audit."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.core.config import OidcSettings
from catalog.core.principal import Role
from tests.support.builders import TEXT_SCHEMA

ISSUER, AUDIENCE = "https://idp.example.test", "labeltrail"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def oidc_client(tmp_path, key, sessions, settings) -> TestClient:
    jwks = {"keys": [{**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}]}
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    oidc = OidcSettings(
        _env_file=None, issuer=ISSUER, audience=AUDIENCE, jwks_file=tmp_path / "jwks.json",
        role_map={"auditors": "compliance_officer"},
    )
    return TestClient(create_app(settings.model_copy(update={"oidc": oidc}), sessions=sessions))


def _bearer(key, subject: str, groups: list[str], **claims) -> dict[str, str]:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 300, "roles": groups, **claims}
    return {"Authorization": "Bearer " + jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})}


def test_a_token_signs_in_with_the_roles_its_groups_map_to(oidc_client, key):
    me = oidc_client.get("/api/v1/me", headers=_bearer(key, "u-1", ["auditors"]))
    assert me.status_code == 200, me.text
    assert (me.json()["name"], me.json()["roles"]) == ("oidc:u-1", ["compliance_officer"])
    assert oidc_client.get("/api/v1/audit", headers=_bearer(key, "u-1", ["auditors"])).status_code == 200


def test_dataset_roles_are_granted_in_labeltrail_to_the_provisioned_principal(oidc_client, key, actors):
    steward = actors(Role.DATA_STEWARD)
    dataset = steward.dataset("oidc-ds", TEXT_SCHEMA)
    headers = _bearer(key, "u-2", ["annotator"])  # annotator from a token is ignored: it is per dataset
    first = oidc_client.get("/api/v1/me", headers=headers).json()
    assert first["roles"] == [] and first["dataset_roles"] == {}
    assert oidc_client.get(f"/api/v1/datasets/{dataset['id']}", headers=headers).status_code == 404
    admin = actors(Role.ADMIN)
    grant = {"role": "annotator", "dataset_id": dataset["id"]}
    admin.ok(admin.post(f"/api/v1/principals/{first['id']}/roles", grant), 201)
    assert oidc_client.get(f"/api/v1/datasets/{dataset['id']}", headers=headers).status_code == 200


def test_a_chosen_username_never_takes_over_a_local_principal(oidc_client, key, actors):
    actors(Role.ADMIN, "root")
    me = oidc_client.get("/api/v1/me", headers=_bearer(key, "u-3", [], preferred_username="root")).json()
    assert me["name"] == "oidc:u-3" and me["roles"] == []


def test_a_bad_token_is_401_and_audited_and_api_keys_still_work(oidc_client, key, actors):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = oidc_client.get("/api/v1/me", headers=_bearer(other, "u-4", ["auditors"]))
    assert refused.status_code == 401 and refused.json()["error"]["message"] == "invalid bearer token"
    admin = actors(Role.ADMIN)
    assert oidc_client.get("/api/v1/me", headers=admin.headers).status_code == 200
    entries = oidc_client.get("/api/v1/audit", headers=admin.headers, params={"action": "auth:authenticate"}).json()
    assert [entry["outcome"] for entry in entries["items"]] == ["unauthenticated"]
