"""What every CLI command shares: sessions that audit as the CLI, and one way to fail."""

import typer

from catalog.access import service as principals
from catalog.core import audit_log
from catalog.core.config import get_settings
from catalog.core.db import make_engine, make_sessionmaker
from catalog.core.errors import DomainError

CLI_CONTEXT = audit_log.AuditContext(request_id=None, client="cli")


def current_settings():
    """The settings every command reads (one place, so tests can substitute them)."""
    return get_settings()


def sessions():
    """Sessions that audit as the CLI; tests substitute their own."""
    configured = current_settings()
    return make_sessionmaker(
        make_engine(configured.database_url), info=audit_log.session_info(CLI_CONTEXT, configured.sealer())
    )


def fail(error: DomainError) -> None:
    typer.secho(f"error: {error.message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def actor(session, name: str, option: str = "--as"):
    """The principal a command acts as: the host's operator (``system``) unless another is named."""
    if name == principals.SYSTEM_NAME:
        return principals.system_principal(session)
    found = principals.find_principal(session, name)
    if found is None:
        raise typer.BadParameter(f"no principal named '{name}'", param_hint=option)
    return found
