from alembic import context
from sqlalchemy import pool

from catalog.core.config import get_settings
from catalog.core.db import make_engine
from catalog.core.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            _run_without_foreign_keys(connection)
        else:
            _run(connection)
    engine.dispose()


def _run_without_foreign_keys(connection) -> None:
    """SQLite alters a table by copying it; rows that point at it would block dropping the original.
    The pragma only takes effect outside a transaction, so it goes straight to the driver; the
    whole database is checked before the connection is let go."""
    driver = connection.connection.dbapi_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    _run(connection)
    violations = driver.execute("PRAGMA foreign_key_check").fetchall()
    driver.execute("PRAGMA foreign_keys=ON")
    if violations:
        raise RuntimeError(f"the migration left rows pointing at nothing: {violations[:5]}")


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
