"""Optional OIDC bearer tokens: verify a JWT from one configured issuer and read who it names.

Nothing here is active unless ``LABELTRAIL_OIDC_ISSUER`` is set. The token must be signed by a key
from the issuer's JWKS (selected by ``kid``) with an allowed asymmetric algorithm, carry ``exp``,
``iss``, ``aud`` and ``sub``, name the configured issuer and include the configured audience.
``nbf`` and ``iat`` are checked when present.

Every rejected token raises the same ``Unauthenticated("invalid bearer token")``: the caller never
learns why. The reason is logged at debug level (a JWKS endpoint that cannot be reached at warning
level, since that is an outage, not a bad token); the token itself is never logged.

Roles: the claim named by ``roles_claim`` holds a list of names, or one space-separated string. Each
value goes through ``role_map``; values that are already labeltrail role names stand for themselves,
and anything else is ignored. ``annotator`` and ``reviewer`` are never granted from a token, because
labeltrail grants them per dataset: a token naming them is treated as if it did not (they are dropped
silently), and ``role_map`` refuses them as targets.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from catalog.core.config import TOKEN_ROLES, OidcSettings
from catalog.core.errors import Unauthenticated
from catalog.core.logging import get_logger
from catalog.core.principal import Role

log = get_logger(__name__)

_INVALID = "invalid bearer token"
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
_JWKS_CACHE_SECONDS = 300
_JWKS_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class OidcIdentity:
    """Who a verified token names. ``(issuer, subject)`` is the stable key; ``name`` is for display
    and may change at the identity provider."""

    subject: str
    issuer: str
    name: str
    roles: frozenset[Role]


class OidcVerifier:
    """Verifies bearer tokens against one issuer. Build it once: it holds the JWKS cache."""

    def __init__(self, settings: OidcSettings) -> None:
        if not settings.enabled:
            raise ValueError("OIDC is not configured: LABELTRAIL_OIDC_ISSUER is not set")
        self._settings = settings
        if settings.jwks_url is not None:
            self._signing_key = _remote_keys(settings.jwks_url)
        else:
            self._signing_key = _file_keys(settings.jwks_file)

    def verify(self, token: str) -> OidcIdentity:
        try:
            claims = self._verified_claims(token)
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("oidc.jwks_unreachable", error=str(exc))
            raise Unauthenticated(_INVALID) from None
        except jwt.PyJWTError as exc:
            log.debug("oidc.token_rejected", reason=f"{type(exc).__name__}: {exc}")
            raise Unauthenticated(_INVALID) from None
        return self._identity(claims)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        kid = jwt.get_unverified_header(token).get("kid")
        claims = jwt.decode(
            token,
            key=self._signing_key(kid),
            algorithms=self._settings.algorithms,
            audience=self._settings.audience,
            issuer=self._settings.issuer,
            leeway=self._settings.leeway_seconds,
            options={"require": _REQUIRED_CLAIMS},
        )
        if not claims["sub"]:
            raise jwt.InvalidTokenError("sub is empty")
        return claims

    def _identity(self, claims: dict[str, Any]) -> OidcIdentity:
        subject = claims["sub"]
        name = claims.get(self._settings.name_claim)
        return OidcIdentity(
            subject=subject,
            issuer=claims["iss"],
            name=name if isinstance(name, str) and name else subject,
            roles=_granted_roles(claims.get(self._settings.roles_claim), self._settings.role_map),
        )


def _remote_keys(url: str) -> Callable[[str | None], jwt.PyJWK]:
    """The JWKS is cached; an unknown ``kid`` refetches it, at most once per PyJWT's cooldown, so
    key rotation is picked up without letting forged kids hammer the identity provider."""
    client = jwt.PyJWKClient(url, lifespan=_JWKS_CACHE_SECONDS, timeout=_JWKS_TIMEOUT_SECONDS)
    return client.get_signing_key


def _file_keys(path: Path) -> Callable[[str | None], jwt.PyJWK]:
    """Read once at startup, so a broken file fails the start, not every request."""
    jwk_set = jwt.PyJWKSet.from_json(path.read_text(encoding="utf-8"))
    keys = {key.key_id: key for key in jwk_set.keys if key.key_id and key.public_key_use in ("sig", None)}
    if not keys:
        raise ValueError(f"{path}: the JWKS has no signing key with a kid")

    def signing_key(kid: str | None) -> jwt.PyJWK:
        try:
            return keys[kid]
        except KeyError:
            raise jwt.PyJWKError("no signing key matches the token's kid") from None

    return signing_key


def _claim_values(value: Any) -> list[str]:
    """A list of names, or one space-separated string as in the OAuth ``scope`` claim."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _granted_roles(value: Any, role_map: dict[str, str]) -> frozenset[Role]:
    names = (role_map.get(item, item) for item in _claim_values(value))
    return frozenset(Role(name) for name in names if name in TOKEN_ROLES)
