"""What every CLI command shares: sessions that audit as the CLI, and :func:`command`, the one
context each command runs in (its transaction, the principal it acts as, and how it fails)."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cached_property
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from catalog.access import service as principals
from catalog.core import audit_log
from catalog.core.config import Settings, get_settings
from catalog.core.db import make_engine, make_sessionmaker, transaction, unavailable
from catalog.core.errors import DomainError
from catalog.core.principal import Principal

CLI_CONTEXT = audit_log.AuditContext(request_id=None, client="cli")

ActorOption = Annotated[str, typer.Option("--as", help="Principal the command acts as.")]


def current_settings() -> Settings:
    """The settings every command reads (one place, so tests can substitute them)."""
    return get_settings()


def sessions() -> sessionmaker[Session]:
    """Sessions that audit as the CLI; tests substitute their own."""
    configured = current_settings()
    return make_sessionmaker(
        make_engine(configured.database_url), info=audit_log.session_info(CLI_CONTEXT, configured.sealer())
    )


class Invocation:
    """One run of a command. Its transaction opens when the command first uses :attr:`session`,
    and commits when the command's block ends (or rolls back when it raises).

    It is a writer (on SQLite it begins with the write lock and waits for it) unless the command
    said it only reads: a long read such as ``verify`` must not hold the lock ``serve`` writes
    under. A command that commits as it goes (an import's batches) holds the lock one batch at
    a time.
    """

    def __init__(self, stack: ExitStack, actor_name: str, *, write: bool = True) -> None:
        self._stack, self._actor_name, self._write = stack, actor_name, write

    @cached_property
    def settings(self) -> Settings:
        return current_settings()

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """For commands that run units of work of their own (masking, delivery)."""
        return sessions()

    @cached_property
    def session(self) -> Session:
        return self._stack.enter_context(transaction(self.sessions, write=self._write))

    @cached_property
    def principal(self) -> Principal:
        """The principal named by ``--as``; the host's operator (``system``) by default."""
        return actor(self.session, self._actor_name)

    @cached_property
    def system(self) -> Principal:
        """The host's operator, whatever ``--as`` says (administration commands act as it)."""
        return principals.system_principal(self.session)


@contextmanager
def command(actor_name: str = principals.SYSTEM_NAME, *, write: bool = True) -> Iterator[Invocation]:
    """Run a command's work: one transaction, audited as the CLI, as ``actor_name`` (``--as``);
    ``write=False`` for a command that only reads.

    A :class:`~catalog.core.errors.DomainError` ends the command with ``error: <message>`` on
    stderr, after any note it carries, and exit code 2; so does a database that is down,
    unreachable or out of space (the command's open transaction rolled back).
    """
    try:
        with ExitStack() as stack:
            yield Invocation(stack, actor_name, write=write)
    except DomainError as error:
        for note in getattr(error, "__notes__", ()):  # a traceback shows any other error's notes
            typer.secho(note, err=True)
        fail(error)
    except DBAPIError as error:
        reason = unavailable(error)
        if reason is None:
            raise
        for note in getattr(error, "__notes__", ()):  # what an import committed before it
            typer.secho(note, err=True)
        typer.secho(f"error: {reason}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


def fail(error: DomainError) -> None:
    typer.secho(f"error: {error.message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def actor(session: Session, name: str, option: str = "--as") -> Principal:
    """The principal a command acts as: the host's operator (``system``) unless another is named."""
    if name == principals.SYSTEM_NAME:
        return principals.system_principal(session)
    found = principals.find_principal(session, name)
    if found is None:
        raise typer.BadParameter(f"no principal named '{name}'", param_hint=option)
    return found
