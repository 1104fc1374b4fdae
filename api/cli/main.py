"""The ``labeltrail`` program: an interface like REST and GraphQL, composed here of one module per area.

Every command runs in :func:`api.cli.support.command` (its transaction, audited as the CLI; the
principal it acts as, ``--as`` or the host's operator; a domain error as ``error: <message>``
and exit code 2) and calls the same services as the API. :class:`api.cli.support.Program` makes
any other error one line and exit code 2 as well, unless ``--debug`` asks for the traceback.

The command modules import the catalog inside their commands, so that ``--help`` and a small
command do not load what only another command needs (Presidio, spaCy, SciPy, pyarrow...).
"""

from typing import Annotated

import typer

from api.cli.access import audit_app, keys_app, users_app
from api.cli.database import db_app, verify_command
from api.cli.imports import import_file
from api.cli.lineage import lineage_app, worker
from api.cli.models import trace
from api.cli.pii import erase, pii_app
from api.cli.releases import diff, export, release
from api.cli.server import serve
from api.cli.support import Program

app = typer.Typer(
    cls=Program, help="labeltrail: provenance and governance for LLM fine-tuning data.", no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # --debug's traceback must not print keys and passwords
)  # fmt: skip


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="On an unexpected error, raise it with its traceback (or LABELTRAIL_DEBUG=1).")
    ] = False,
) -> None:
    """labeltrail: provenance and governance for LLM fine-tuning data."""
    # Program reads --debug from the arguments itself: an error may come before this runs.


app.command("serve")(serve)
app.command("worker")(worker)
app.command("erase")(erase)
app.command("release")(release)
app.command("diff")(diff)
app.command("export")(export)
app.command("trace")(trace)
app.command("import")(import_file)
app.command("verify")(verify_command)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(pii_app, name="pii")
app.add_typer(lineage_app, name="lineage")
