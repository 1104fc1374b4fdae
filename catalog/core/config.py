"""Settings, read from the environment with the ``LABELTRAIL_`` prefix."""

import os
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.core.audit_log import Sealer
from catalog.core.principal import Role

if TYPE_CHECKING:  # the scanner's configuration (and PyJWT) load when they are used, not with the settings
    from pii import ScannerConfig


@cache
def _asymmetric_algorithms() -> frozenset[str]:
    """Only public-key algorithms: ``none`` and the HS* family would let anyone holding the JWKS mint tokens."""
    import jwt

    return frozenset(jwt.algorithms.requires_cryptography)


_DEFAULT_ALGORITHMS = frozenset({"RS256", "ES256"})  # both in _asymmetric_algorithms(); a test holds it

# Roles a token may carry: annotators and reviewers are granted per dataset, in labeltrail.
TOKEN_ROLES = frozenset(Role) - {Role.ANNOTATOR, Role.REVIEWER}


class OidcSettings(BaseSettings):
    """``LABELTRAIL_OIDC_*``. Lists and maps are JSON in the environment, for example
    ``LABELTRAIL_OIDC_ROLE_MAP='{"catalog-admins": "admin"}'``."""

    model_config = SettingsConfigDict(env_prefix="LABELTRAIL_OIDC_", env_file=".env", extra="ignore")

    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    jwks_file: Path | None = None
    roles_claim: str = "roles"
    role_map: dict[str, str] = {}
    name_claim: str = "preferred_username"
    algorithms: list[str] = ["RS256", "ES256"]  # _DEFAULT_ALGORITHMS
    leeway_seconds: int = Field(default=30, ge=0)

    @property
    def enabled(self) -> bool:
        return self.issuer is not None

    @field_validator("issuer", "audience", "jwks_url", "jwks_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """An empty ``KEY=`` line in an env file means "not set", not an empty issuer or a path to ``.``."""
        return None if value == "" else value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        """Only public-key algorithms: ``none`` and the HS* family would let anyone holding the
        published JWKS mint tokens."""
        if value and set(value) <= _DEFAULT_ALGORITHMS:  # the defaults are public-key ones; no need to ask PyJWT
            return value
        refused = [name for name in value if name not in _asymmetric_algorithms()]
        if not value or refused:
            allowed = ", ".join(sorted(_asymmetric_algorithms()))
            raise ValueError(f"algorithms must be a non-empty subset of {allowed}; refused: {refused}")
        return value

    @field_validator("role_map")
    @classmethod
    def _maps_to_token_roles(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = sorted(TOKEN_ROLES)
        for claim_value, role in value.items():
            if role not in TOKEN_ROLES:
                raise ValueError(
                    f"role_map[{claim_value!r}] = {role!r} is not one of {allowed} "
                    "(annotator and reviewer are granted per dataset, never from a token)"
                )
        return value

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> "OidcSettings":
        if not self.enabled:
            return self
        if not self.audience:
            raise ValueError("LABELTRAIL_OIDC_AUDIENCE is required when LABELTRAIL_OIDC_ISSUER is set")
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError(
                "set exactly one of LABELTRAIL_OIDC_JWKS_URL or LABELTRAIL_OIDC_JWKS_FILE "
                "when LABELTRAIL_OIDC_ISSUER is set"
            )
        return self


class ReleasePolicy(BaseSettings):
    """``LABELTRAIL_RELEASE_*``: which gates every release passes, and the contamination check's settings."""

    model_config = SettingsConfigDict(env_prefix="LABELTRAIL_RELEASE_", env_file=".env", extra="ignore")

    require_masked: bool = Field(default=True, description="no released record or label text still awaits the PII gate")
    require_guideline_version: bool = Field(default=False, description="every released label names its guideline")
    max_contamination: float | None = Field(
        default=None, ge=0, le=1, description="largest share of test records overlapping train (exact or near)"
    )
    near_duplicate_threshold: float = Field(default=0.8, gt=0, le=1, description="MinHash Jaccard for near-duplicates")


def default_pii_workers() -> int:
    """Two scanning processes where there are two CPUs or more: NER is the slow part of masking,
    and one more process leaves CPU to the server itself on a small machine."""
    return min(2, os.cpu_count() or 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABELTRAIL_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./labeltrail.db"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True
    page_size_default: int = 50
    page_size_max: int = 500
    import_batch_size: int = 1000
    import_max_bytes: int = 2 * 1024**3
    import_max_line_bytes: int = Field(
        default=16 * 1024**2, ge=1, description="largest line (JSON lines) or item (JSON array) of an import file"
    )
    max_body_bytes: int = Field(
        default=8 * 1024**2, ge=1, description="largest JSON request body, REST and GraphQL (imports have their own)"
    )
    max_json_depth: int = Field(
        default=64, ge=1, le=500, description="deepest nesting of arrays and objects in a JSON body or import item"
    )
    oidc: OidcSettings = Field(default_factory=OidcSettings, description="LABELTRAIL_OIDC_* variables")
    audit_seal_key: SecretStr | None = None
    audit_seal_every: int = Field(default=100, ge=1)
    pii_config: Path | None = Field(default=None, description="a YAML scanner configuration (docs/pii.md)")
    pii_mode: Literal["ner", "pattern"] | None = Field(default=None, description="overrides the configuration's mode")
    pii_batch_size: int = Field(default=500, ge=1)
    pii_interval_seconds: float = Field(default=2.0, gt=0)
    pii_workers: int = Field(
        default_factory=default_pii_workers, ge=1,
        description="processes that scan for serve's masking loop (as pii mask --workers); 2, or 1 on one CPU",
    )  # fmt: skip
    release: ReleasePolicy = Field(default_factory=ReleasePolicy, description="LABELTRAIL_RELEASE_* variables")
    lineage_namespace: str = Field(
        default="labeltrail://localhost", description="OpenLineage namespace of the catalog's datasets (scheme://authority)"
    )
    lineage_model_job_types: list[str] = Field(
        default=["TRAINING", "FINE_TUNING"], description="jobType facet values whose outputs are models"
    )
    lineage_model_name_pattern: str | None = Field(
        default=None, description="a regular expression: output datasets whose name matches are models"
    )
    lineage_max_depth: int = Field(default=20, ge=1, le=100, description="deepest walk from a model to its releases")
    lineage_interval_seconds: float = Field(default=5.0, gt=0, description="between passes over the outbox")
    lineage_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="longest wait before a failed delivery is retried"
    )
    graphql_max_depth: int = Field(default=12, ge=1, description="deepest nesting of fields in a GraphQL operation")
    graphql_max_tokens: int = Field(default=2000, ge=1, description="largest GraphQL document, in lexer tokens")
    graphql_max_aliases: int = Field(default=15, ge=0, description="most aliased fields in a GraphQL operation")

    def scanner_config(self) -> "ScannerConfig":
        """The PII scanner's configuration: the file's (or the defaults), with the mode override."""
        from pii import ScannerConfig

        config = ScannerConfig.load(self.pii_config) if self.pii_config else ScannerConfig()
        return ScannerConfig.model_validate({**config.model_dump(), "mode": self.pii_mode}) if self.pii_mode else config

    def sealer(self) -> Sealer | None:
        """Seals the audit chain when a key is configured (it is never stored in the database)."""
        if self.audit_seal_key is None:
            return None
        return Sealer(key=self.audit_seal_key.get_secret_value().encode(), every=self.audit_seal_every)


@lru_cache
def get_settings() -> Settings:
    return Settings()
