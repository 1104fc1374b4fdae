"""The ``labeltrail`` program: an interface like REST and GraphQL, composed here of one module per area.

Every command runs in :func:`api.cli.support.command` (its transaction, audited as the CLI; the
principal ``--as`` names; a domain error as ``error: <message>`` and exit code 2) and calls the
same services as the API.
"""

import typer

from api.cli.access import audit_app, keys_app, users_app
from api.cli.database import db_app, verify_command
from api.cli.imports import import_file
from api.cli.lineage import lineage_app, worker
from api.cli.models import trace
from api.cli.pii import erase, pii_app
from api.cli.releases import diff, export, release
from api.cli.server import serve

app = typer.Typer(help="labeltrail: provenance and governance for LLM fine-tuning data.", no_args_is_help=True)

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
