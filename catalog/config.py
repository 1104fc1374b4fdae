"""Settings, read from the environment with the ``LABELTRAIL_`` prefix."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.audit import Sealer
from catalog.oidc import OidcSettings
from catalog.releases.gates import ReleasePolicy
from pii import ScannerConfig


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
    oidc: OidcSettings = Field(default_factory=OidcSettings, description="LABELTRAIL_OIDC_* variables")
    audit_seal_key: SecretStr | None = None
    audit_seal_every: int = Field(default=100, ge=1)
    pii_config: Path | None = Field(default=None, description="a YAML scanner configuration (docs/pii.md)")
    pii_mode: Literal["ner", "pattern"] | None = Field(default=None, description="overrides the configuration's mode")
    pii_batch_size: int = Field(default=500, ge=1)
    pii_interval_seconds: float = Field(default=2.0, gt=0)
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

    def scanner_config(self) -> ScannerConfig:
        """The PII scanner's configuration: the file's (or the defaults), with the mode override."""
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
