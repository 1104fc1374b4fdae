"""What every CLI command shares: sessions that audit as the CLI, :func:`command`, the one
context each command runs in (its transaction, the principal it acts as, and how it fails), and
:class:`Program`, which turns any error into one line and exit code 2.

Nothing heavy is imported here at module level: ``labeltrail --help`` imports every command
module, so the catalog, SQLAlchemy and the libraries behind them load when a command runs.
"""

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from catalog.core.config import Settings
    from catalog.core.principal import Principal

SYSTEM_NAME = "system"  # catalog.access.service.SYSTEM_NAME, without importing the catalog
DEBUG_VARIABLE = "LABELTRAIL_DEBUG"

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--as", metavar="NAME", show_default=False,
        help="Principal the command acts as (default: os:<your user name>, the host's operator).",
    ),
]  # fmt: skip


def current_settings() -> "Settings":
    """The settings every command reads (one place, so tests can substitute them)."""
    from catalog.core.config import get_settings

    return get_settings()


def sessions() -> "sessionmaker[Session]":
    """Sessions that audit as the CLI; tests substitute their own."""
    from catalog.core import audit_log
    from catalog.core.db import make_engine, make_sessionmaker

    configured = current_settings()
    context = audit_log.AuditContext(request_id=None, client="cli")
    return make_sessionmaker(make_engine(configured.database_url), info=audit_log.session_info(context, configured.sealer()))


def operator_name() -> str:
    """The operating-system user running the command (``os:<name>`` is the principal it acts as)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return f"uid-{os.getuid()}"


class Invocation:
    """One run of a command. Its transaction opens when the command first uses :attr:`session`,
    and commits when the command's block ends (or rolls back when it raises).

    It is a writer (on SQLite it begins with the write lock and waits for it) unless the command
    said it only reads: a long read such as ``verify`` must not hold the lock ``serve`` writes
    under. A command that commits as it goes (an import's batches) holds the lock one batch at
    a time.
    """

    def __init__(self, stack: ExitStack, actor_name: str | None, *, write: bool = True) -> None:
        self._stack, self._actor_name, self._write = stack, actor_name, write

    @cached_property
    def settings(self) -> "Settings":
        return current_settings()

    @cached_property
    def sessions(self) -> "sessionmaker[Session]":
        """For commands that run units of work of their own (masking, delivery)."""
        return sessions()

    @cached_property
    def session(self) -> "Session":
        from catalog.core.db import transaction

        return self._stack.enter_context(transaction(self.sessions, write=self._write))

    @cached_property
    def principal(self) -> "Principal":
        """The principal named by ``--as``; the host's operator (``os:<user>``) by default."""
        return actor(self.session, self._actor_name) if self._actor_name else self.operator

    @cached_property
    def operator(self) -> "Principal":
        """The host's operator, ``os:<user>``, whatever ``--as`` says (administration commands act as it)."""
        from catalog.access import service as principals

        return principals.host_operator(self.session, operator_name())


@contextmanager
def command(actor_name: str | None = None, *, write: bool = True) -> Iterator[Invocation]:
    """Run a command's work: one transaction, audited as the CLI, as ``actor_name`` (``--as``;
    the host's operator when None); ``write=False`` for a command that only reads.

    A :class:`~catalog.core.errors.DomainError` ends the command with ``error: <message>`` on
    stderr, after any note it carries, and exit code 2; so does a database that is down,
    unreachable or out of space (the command's open transaction rolled back). :class:`Program`
    handles any other error.
    """
    from sqlalchemy.exc import DBAPIError

    from catalog.core.db import unavailable
    from catalog.core.errors import DomainError

    try:
        with ExitStack() as stack:
            yield Invocation(stack, actor_name, write=write)
    except DomainError as error:
        for note in getattr(error, "__notes__", ()):  # a traceback shows any other error's notes
            typer.secho(note, err=True)
        fail(error.message)
    except DBAPIError as error:
        reason = unavailable(error)
        if reason is None:
            raise
        for note in getattr(error, "__notes__", ()):  # what an import committed before it
            typer.secho(note, err=True)
        fail(reason)


def fail(message: str) -> None:
    """End the command with ``error: <message>`` on stderr and exit code 2."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def actor(session: "Session", name: str, option: str = "--as") -> "Principal":
    """The principal called ``name`` (``system`` is the built-in admin)."""
    from catalog.access import service as principals

    if name == principals.SYSTEM_NAME:
        return principals.system_principal(session)
    found = principals.find_principal(session, name)
    if found is None:
        raise typer.BadParameter(f"no principal named '{name}'", param_hint=option)
    return found


# --- failing in one line ----------------------------------------------------------------------


def debugging(argv: list[str] | None = None) -> bool:
    """``--debug`` before the command, or ``LABELTRAIL_DEBUG=1``: errors raise with their traceback."""
    if os.environ.get(DEBUG_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    for arg in sys.argv[1:] if argv is None else argv:
        if arg == "--debug":
            return True
        if not arg.startswith("-"):  # the command's name: what follows is the command's own
            return False
    return False


def one_line(error: BaseException) -> str:
    """What ``error`` means to the person at the terminal, in one line."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from catalog.core.errors import DomainError
    from pii import ScannerConfigError

    if isinstance(error, DomainError):  # one raised outside a command's block
        return error.message
    if isinstance(error, DBAPIError) and _missing_schema(error):
        return (
            f"the database has no labeltrail schema, or an older one ({_first_line(error.orig)}): "
            "run `labeltrail db upgrade` first"
        )
    if isinstance(error, ScannerConfigError):
        return f"PII scanner configuration (LABELTRAIL_PII_CONFIG): {_first_line(error)}"
    if isinstance(error, ValidationError):
        return plain_validation(error)
    return f"{type(error).__name__}: {_first_line(error)} (run with --debug for the traceback)"


def plain_validation(error: Any) -> str:
    """A pydantic ValidationError as ``where: what`` pairs, without pydantic's ``Value error,``."""
    problems = []
    for each in error.errors():
        message = each["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        where = ".".join(str(part) for part in each["loc"])
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems) or str(error)


_MISSING_SCHEMA = ("no such table", "no such column")
_UNDEFINED_TABLE, _UNDEFINED_COLUMN = "42P01", "42703"  # PostgreSQL's SQLSTATEs


def _missing_schema(error: Any) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return sqlstate in {_UNDEFINED_TABLE, _UNDEFINED_COLUMN} or any(
        phrase in str(error.orig) for phrase in _MISSING_SCHEMA
    )


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


class Program(TyperGroup):
    """The ``labeltrail`` group: every error ends the program with one line on stderr and exit
    code 2 (a usage error included); with ``--debug`` an unexpected error raises, traceback and all.

    It also drops the ``<bool>`` typer prints after flags in help pages: a flag takes no value.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _hide_flag_types(self)

    def get_params(self, ctx: Any) -> list:
        params = super().get_params(ctx)  # typer adds the completion flags after __init__
        for param in params:
            if isinstance(param, TyperOption) and param.is_flag:
                param.metavar = ""
        return params

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            typer.secho("error: aborted", err=True, fg=typer.colors.RED)
            code = 2
        except typer.TyperException as error:  # typer's (click's) usage errors
            if type(error).__name__ == "NoArgsIsHelpError":  # the help page, which is no error
                error.show()
                return _exit(2, standalone_mode)
            hint = f" (see `{error.ctx.command_path} --help`)" if getattr(error, "ctx", None) else ""
            message = " ".join(error.format_message().replace("Value error, ", "").splitlines())  # typer's choices speak pydantic
            typer.secho(f"error: {message}{hint}", err=True, fg=typer.colors.RED)
            code = 2
        except Exception as error:
            if debugging(argv):
                raise
            typer.secho(f"error: {one_line(error)}", err=True, fg=typer.colors.RED)
            code = 2
        return _exit(code, standalone_mode)


def _exit(code: Any, standalone_mode: bool) -> Any:
    if not standalone_mode:
        return code
    sys.exit(code if isinstance(code, int) else 0)


def _hide_flag_types(group: TyperGroup) -> None:
    """Flags take no value, so their help shows no type (typer would print ``<bool>``)."""
    for command in [group, *group.commands.values()]:
        if isinstance(command, TyperGroup) and command is not group:
            _hide_flag_types(command)
            continue
        help_option = command.get_help_option(typer.Context(command))
        for param in [*command.params, *([help_option] if help_option else [])]:
            if isinstance(param, TyperOption) and param.is_flag:
                param.metavar = ""
