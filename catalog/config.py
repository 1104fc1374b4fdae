"""Settings, read from the environment with the ``LABELTRAIL_`` prefix."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


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


@lru_cache
def get_settings() -> Settings:
    return Settings()
