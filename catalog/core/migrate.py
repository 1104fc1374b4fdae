"""Running the Alembic migrations from code (the CLI, the tests, the benchmarks), and the cheap
check that a database's schema is the one the code was written for (``serve``, the app's start-up,
``/ready``)."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection

import migrations
from catalog.core.errors import DomainError

UPGRADE_HINT = "run `labeltrail db upgrade` (or `labeltrail serve --migrate`)"


def alembic_config(url: str, connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head", connection=None) -> None:
    command.upgrade(alembic_config(url, connection), revision)


@cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once per process (the history is one line: one head)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head() -> str:
    """The revision the code expects."""
    return _scripts().get_current_head()


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:  # not one of the scripts: written by newer code
        return False


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against the code's migrations."""

    current: str | None  # the ``alembic_version`` row; None when the database was never migrated
    head: str

    @property
    def matches(self) -> bool:
        return self.current == self.head

    @property
    def behind(self) -> bool:
        """Never migrated, or at an older revision: what an upgrade brings to the head."""
        return not self.matches and (self.current is None or _known(self.current))

    @property
    def problem(self) -> str | None:
        """Why the code cannot run on this schema, in one line (None when it can)."""
        if self.matches:
            return None
        if self.current is None:
            return f"the database has no labeltrail schema (the code expects revision {self.head}): {UPGRADE_HINT}"
        if self.behind:
            return (
                f"the database schema is at revision {self.current}, behind the code's {self.head}: {UPGRADE_HINT}"
            )
        return (
            f"the database schema is at revision {self.current}, which this code does not know "
            f"(its newest is {self.head}): the database was migrated by a newer labeltrail; run that version"
        )


class SchemaNotReady(DomainError):
    code = "SCHEMA_NOT_READY"


def schema_state(connection: Connection) -> SchemaState:
    """Read the ``alembic_version`` row (and whether its table exists): one or two small queries."""
    return SchemaState(current=MigrationContext.configure(connection).get_current_revision(), head=head())


def require_current(connection: Connection) -> SchemaState:
    """The schema's state; :class:`SchemaNotReady` unless it is the code's head."""
    state = schema_state(connection)
    if state.problem is not None:
        raise SchemaNotReady(state.problem)
    return state
