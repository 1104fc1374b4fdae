"""OIDC bearer tokens: a token is accepted only when everything checks out, and every refusal looks the same."""

import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError
from structlog.testing import LogCapture

from catalog.access import oidc
from catalog.access.oidc import OidcIdentity, OidcVerifier
from catalog.core.config import OidcSettings
from catalog.core.errors import Unauthenticated
from catalog.core.principal import Role

ISSUER = "https://idp.example.test/realms/labeltrail"
AUDIENCE = "labeltrail-api"


@pytest.fixture(autouse=True)
def _no_oidc_environment(monkeypatch) -> None:
    """Settings here come from arguments only, whatever the machine running the tests exports."""
    for name in [n for n in os.environ if n.upper().startswith("LABELTRAIL_OIDC_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def jwks(rsa_key, ec_key) -> dict:
    return {
        "keys": [
            {**jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "rsa-1", "use": "sig"},
            {**jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"},
        ]
    }


@pytest.fixture
def jwks_file(tmp_path, jwks) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    return path


@pytest.fixture
def logs(monkeypatch) -> list[dict]:
    """Records what this module logs, at every level, whatever the rest of the suite configured."""
    capture = LogCapture()
    logger = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    monkeypatch.setattr(oidc, "log", logger)
    return capture.entries


def _settings(jwks_file: Path | None = None, **overrides) -> OidcSettings:
    values = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": jwks_file, **overrides}
    return OidcSettings(_env_file=None, **values)


@pytest.fixture
def verifier(jwks_file) -> OidcVerifier:
    return OidcVerifier(_settings(jwks_file))


@dataclass(frozen=True)
class FromNow:
    """A time claim ``seconds`` after the moment the token is made (parameters are built at collection)."""

    seconds: int


def _claims(**overrides) -> dict:
    now = int(time.time())
    overrides = {name: now + v.seconds if isinstance(v, FromNow) else v for name, v in overrides.items()}
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-42",
        "iat": now,
        "exp": now + 300,
        "preferred_username": "ada",
        "roles": ["admin", "data_steward"],
        **overrides,
    }
    return {name: value for name, value in claims.items() if value is not None}


def _token(key, kid: str = "rsa-1", algorithm: str = "RS256", **claims) -> str:
    return jwt.encode(_claims(**claims), key, algorithm=algorithm, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _refused(verifier: OidcVerifier, token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    return caught.value


# --- accepted tokens ---


def test_a_valid_token_names_the_subject_and_its_roles(verifier, rsa_key):
    identity = verifier.verify(_token(rsa_key))

    assert identity == OidcIdentity(
        subject="user-42", issuer=ISSUER, name="ada", roles=frozenset({Role.ADMIN, Role.DATA_STEWARD})
    )


def test_an_es256_token_is_verified_with_the_ec_key(verifier, ec_key):
    identity = verifier.verify(_token(ec_key, kid="ec-1", algorithm="ES256", roles=["ml_engineer"]))

    assert identity.roles == {Role.ML_ENGINEER}


def test_the_audience_may_be_one_of_several(verifier, rsa_key):
    assert verifier.verify(_token(rsa_key, aud=["another-api", AUDIENCE])).subject == "user-42"


def test_the_name_falls_back_to_the_subject(verifier, rsa_key):
    assert verifier.verify(_token(rsa_key, preferred_username=None)).name == "user-42"


def test_role_map_turns_group_names_into_roles_and_ignores_unknown_groups(jwks_file, rsa_key):
    settings = _settings(
        jwks_file,
        roles_claim="groups",
        role_map={"catalog-admins": "admin", "ml-team": "ml_engineer"},
    )
    token = _token(rsa_key, roles=None, groups=["catalog-admins", "ml-team", "payroll"])

    assert OidcVerifier(settings).verify(token).roles == {Role.ADMIN, Role.ML_ENGINEER}


def test_annotator_and_reviewer_are_never_granted_from_a_token(verifier, rsa_key):
    token = _token(rsa_key, roles=["annotator", "reviewer", "compliance_officer"])

    assert verifier.verify(token).roles == {Role.COMPLIANCE_OFFICER}


def test_a_space_separated_roles_string_is_split(verifier, rsa_key):
    token = _token(rsa_key, roles="admin  compliance_officer superuser")

    assert verifier.verify(token).roles == {Role.ADMIN, Role.COMPLIANCE_OFFICER}


@pytest.mark.parametrize("roles", [None, 42, {"admin": True}, ["Admin", 7, None, "root"]])
def test_a_missing_or_unusable_roles_claim_grants_nothing(verifier, rsa_key, roles):
    assert verifier.verify(_token(rsa_key, roles=roles)).roles == frozenset()


def test_leeway_accepts_a_token_that_expired_a_moment_ago(verifier, rsa_key):
    assert verifier.verify(_token(rsa_key, exp=int(time.time()) - 5)).subject == "user-42"


# --- refused tokens ---


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": FromNow(-120)}, id="expired"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iss": "https://evil.example.test"}, id="wrong-issuer"),
        pytest.param({"iss": None}, id="no-issuer"),
        pytest.param({"aud": "another-api"}, id="wrong-audience"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"sub": None}, id="no-subject"),
        pytest.param({"sub": ""}, id="empty-subject"),
        pytest.param({"nbf": FromNow(600)}, id="not-yet-valid"),
        pytest.param({"iat": FromNow(600)}, id="issued-in-the-future"),
    ],
)
def test_claims_that_do_not_check_out_are_refused(verifier, rsa_key, claims):
    _refused(verifier, _token(rsa_key, **claims))


def test_an_unknown_kid_is_refused(verifier, rsa_key):
    _refused(verifier, _token(rsa_key, kid="rsa-2"))


def test_a_token_without_a_kid_is_refused(verifier, rsa_key):
    _refused(verifier, jwt.encode(_claims(), rsa_key, algorithm="RS256"))


def test_a_token_signed_by_another_key_is_refused(verifier):
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    _refused(verifier, _token(intruder, kid="rsa-1"))


def test_a_tampered_payload_is_refused(verifier, rsa_key):
    header, _, signature = _token(rsa_key).split(".")
    forged = _b64(json.dumps(_claims(roles=["admin"], sub="someone-else")).encode())

    _refused(verifier, f"{header}.{forged}.{signature}")


def test_an_unsigned_token_is_refused(verifier):
    token = jwt.encode(_claims(), None, algorithm="none", headers={"kid": "rsa-1"})

    _refused(verifier, token)


def test_an_hs256_token_keyed_with_the_public_key_is_refused(verifier, rsa_key):
    """Algorithm confusion: the public key is published, so an HMAC over it proves nothing."""
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'}).encode())}." + _b64(
        json.dumps(_claims()).encode()
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    _refused(verifier, f"{signing_input}.{_b64(signature)}")


def test_a_token_with_an_algorithm_that_does_not_match_its_key_is_refused(verifier, ec_key):
    """The EC key is an ES256 key; a header claiming RS256 for it must not be tried another way."""
    token = _token(ec_key, kid="ec-1", algorithm="ES256")
    header, payload, signature = token.split(".")
    relabelled = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "ec-1"}).encode())

    _refused(verifier, f"{relabelled}.{payload}.{signature}")


def test_an_algorithm_outside_the_allowed_list_is_refused(jwks_file, ec_key):
    verifier = OidcVerifier(_settings(jwks_file, algorithms=["RS256"]))

    _refused(verifier, _token(ec_key, kid="ec-1", algorithm="ES256"))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "a.b.c.d",
        f"{_b64(b'[1, 2]')}.{_b64(b'{}')}.",
        f"{_b64(b'{not json')}.{_b64(b'{}')}.sig",
        f"{_b64(json.dumps({'alg': 'RS256', 'kid': 'rsa-1'}).encode())}.{_b64(b'[]')}.{_b64(b'x')}",
        f"{_b64(json.dumps({'alg': 'RS256', 'kid': 7}).encode())}.{_b64(b'{}')}.{_b64(b'x')}",
        f"{_b64(json.dumps({'alg': 'RS256', 'kid': ['rsa-1']}).encode())}.{_b64(b'{}')}.{_b64(b'x')}",
    ],
)
def test_a_malformed_token_is_refused(verifier, token):
    _refused(verifier, token)


def test_every_refusal_says_the_same_and_never_echoes_the_token(verifier, rsa_key, logs):
    tokens = [_token(rsa_key, exp=int(time.time()) - 600), _token(rsa_key, kid="nope"), "garbage"]

    errors = [_refused(verifier, token) for token in tokens]

    assert {(error.message, str(error), error.details) for error in errors} == {
        ("invalid bearer token", "invalid bearer token", None)
    }
    assert all(error.__cause__ is None and error.__suppress_context__ for error in errors)
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [("oidc.token_rejected", "debug")] * 3
    assert "ExpiredSignatureError" in logs[0]["reason"]
    for token in tokens:
        assert all(token not in str(entry) for entry in logs)


# --- JWKS from a URL ---


@pytest.fixture
def jwks_server(jwks, monkeypatch) -> Iterator[tuple[str, list[str]]]:
    """Serves the JWKS on 127.0.0.1 and records each request, so caching can be observed."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    body = json.dumps(jwks).encode()
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", requests
    server.shutdown()
    server.server_close()
    thread.join()


def test_keys_are_fetched_from_the_jwks_url_and_cached(jwks_server, rsa_key, ec_key):
    url, requests = jwks_server
    verifier = OidcVerifier(_settings(jwks_url=url))

    first = verifier.verify(_token(rsa_key))
    second = verifier.verify(_token(ec_key, kid="ec-1", algorithm="ES256"))

    assert (first.subject, second.subject) == ("user-42", "user-42")
    assert requests == ["/jwks.json"]


def test_an_unreachable_jwks_url_refuses_the_token(rsa_key, monkeypatch, logs):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verifier = OidcVerifier(_settings(jwks_url=f"http://127.0.0.1:{port}/jwks.json"))

    _refused(verifier, _token(rsa_key))

    assert [(entry["event"], entry["log_level"]) for entry in logs] == [("oidc.jwks_unreachable", "warning")]


# --- settings ---


def test_oidc_is_off_unless_an_issuer_is_set():
    assert not OidcSettings(_env_file=None).enabled
    assert not OidcSettings(_env_file=None, issuer="").enabled
    with pytest.raises(ValueError, match="not configured"):
        OidcVerifier(OidcSettings(_env_file=None))


def test_settings_are_read_from_the_environment(monkeypatch, jwks_file):
    monkeypatch.setenv("LABELTRAIL_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("LABELTRAIL_OIDC_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("LABELTRAIL_OIDC_JWKS_FILE", str(jwks_file))
    monkeypatch.setenv("LABELTRAIL_OIDC_ROLE_MAP", '{"catalog-admins": "admin"}')
    monkeypatch.setenv("LABELTRAIL_OIDC_ALGORITHMS", '["ES256"]')

    settings = OidcSettings(_env_file=None)

    assert settings.enabled
    assert (settings.jwks_file, settings.role_map, settings.algorithms) == (
        jwks_file,
        {"catalog-admins": "admin"},
        ["ES256"],
    )


def test_an_issuer_without_an_audience_is_refused(jwks_file):
    with pytest.raises(ValidationError, match="LABELTRAIL_OIDC_AUDIENCE is required"):
        _settings(jwks_file, audience=None)


@pytest.mark.parametrize(
    "sources",
    [
        pytest.param({"jwks_file": None}, id="neither"),
        pytest.param({"jwks_url": "https://idp.example.test/jwks"}, id="both"),
    ],
)
def test_exactly_one_jwks_source_is_required(jwks_file, sources):
    with pytest.raises(ValidationError, match="exactly one of LABELTRAIL_OIDC_JWKS_URL or LABELTRAIL_OIDC_JWKS_FILE"):
        _settings(**{"jwks_file": jwks_file, **sources})


@pytest.mark.parametrize("algorithms", [["none"], ["HS256"], ["RS256", "HS512"], []])
def test_only_asymmetric_algorithms_may_be_allowed(jwks_file, algorithms):
    with pytest.raises(ValidationError, match="algorithms must be a non-empty subset"):
        _settings(jwks_file, algorithms=algorithms)


def test_the_default_algorithms_accepted_without_asking_pyjwt_are_public_key_ones():
    from catalog.core.config import _DEFAULT_ALGORITHMS

    assert _DEFAULT_ALGORITHMS <= frozenset(jwt.algorithms.requires_cryptography)
    assert set(OidcSettings.model_fields["algorithms"].default) == _DEFAULT_ALGORITHMS


@pytest.mark.parametrize("role", ["annotator", "reviewer", "superuser"])
def test_role_map_targets_must_be_token_grantable_roles(jwks_file, role):
    with pytest.raises(ValidationError, match="never from a token"):
        _settings(jwks_file, role_map={"some-group": role})


def test_a_jwks_file_without_signing_keys_is_refused_at_startup(tmp_path, jwks):
    path = tmp_path / "enc-only.json"
    path.write_text(json.dumps({"keys": [{**key, "use": "enc"} for key in jwks["keys"]]}))

    with pytest.raises(ValueError, match="no signing key"):
        OidcVerifier(_settings(path))
