"""Settings, read from the environment with the ``LABELTRAIL_`` prefix."""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from catalog.audit import Sealer
from catalog.oidc import OidcSettings


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

    def sealer(self) -> Sealer | None:
        """Seals the audit chain when a key is configured (it is never stored in the database)."""
        if self.audit_seal_key is None:
            return None
        return Sealer(key=self.audit_seal_key.get_secret_value().encode(), every=self.audit_seal_every)


@lru_cache
def get_settings() -> Settings:
    return Settings()
