"""The ``labeltrail`` program itself: what it loads to start, how it fails, what its help says.

Start-up is guarded by what is imported, not by a clock: ``--help`` and ``users list`` must not
load the libraries only other commands need (benchmarks/cli.py times it).
"""

import json
import os
import subprocess
import sys

import pytest

from api.cli.main import app
from catalog.core import migrate
from tests.support.live import ROOT

HEAVY = ("presidio_analyzer", "presidio_anonymizer", "spacy", "pandas", "pyarrow", "datasketch", "scipy")
# Runs ARGS as the installed `labeltrail` script does, then prints which heavy modules were loaded.
PROBE = """
import json, sys
from api.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def labeltrail(tmp_path, *args: str, env: dict[str, str] | None = None, probe: bool = False):
    """``labeltrail ARGS`` in a process of its own, on a SQLite file in ``tmp_path``."""
    environment = {
        **os.environ, "PYTHONPATH": str(ROOT), "LABELTRAIL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "LABELTRAIL_LOG_LEVEL": "WARNING", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", **(env or {}),
    }  # fmt: skip
    for name in ("LABELTRAIL_DEBUG", "LABELTRAIL_PII_CONFIG", "LABELTRAIL_PII_MODE"):
        if env is None or name not in env:
            environment.pop(name, None)
    code = PROBE.format(heavy=HEAVY) if probe else "import sys; from api.cli.main import app; sys.exit(app())"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=environment, cwd=tmp_path, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def loaded(result) -> list[str]:
    return json.loads(result.stdout.strip().splitlines()[-1])


def one_error_line(result) -> str:
    """The one line a failed command printed on stderr; it exits 2 and shows no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


# --- start-up -------------------------------------------------------------------------------


def test_help_loads_none_of_the_heavy_libraries(tmp_path):
    result = labeltrail(tmp_path, "--help", probe=True)
    assert "Usage" in result.stdout
    assert loaded(result) == []


def test_users_list_on_a_migrated_database_loads_none_of_the_heavy_libraries(tmp_path):
    migrate.upgrade(f"sqlite:///{tmp_path / 'cli.db'}")
    result = labeltrail(tmp_path, "users", "list", probe=True)
    assert "system\tadmin@*" in result.stdout, result.stderr
    assert loaded(result) == []


# --- failing in one line ----------------------------------------------------------------------


def test_a_database_never_migrated_says_to_run_db_upgrade(tmp_path):
    line = one_error_line(labeltrail(tmp_path, "users", "list"))
    assert "no such table: principals" in line and "run `labeltrail db upgrade`" in line


def test_a_missing_pii_configuration_file_is_named_in_one_line(tmp_path):
    migrate.upgrade(f"sqlite:///{tmp_path / 'cli.db'}")
    line = one_error_line(labeltrail(tmp_path, "pii", "rescan", "sft", env={"LABELTRAIL_PII_CONFIG": "pii.yaml"}))
    assert "pii.yaml: no such scanner configuration file" in line and "LABELTRAIL_PII_CONFIG" in line


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path):
    broken = {"LABELTRAIL_DATABASE_URL": "nosuchdriver://nowhere/db"}
    line = one_error_line(labeltrail(tmp_path, "users", "list", env=broken))
    assert "NoSuchModuleError" in line and "--debug" in line
    for debugged in (labeltrail(tmp_path, "--debug", "users", "list", env=broken),
                     labeltrail(tmp_path, "users", "list", env={**broken, "LABELTRAIL_DEBUG": "1"})):  # fmt: skip
        assert debugged.returncode != 0
        assert "Traceback" in debugged.stderr and "NoSuchModuleError" in debugged.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["users", "create", "dana", "--role", "wizard"], "Invalid value for '--role': 'wizard' is not one of"),
        (["release"], "Missing argument"),
        (["users", "list", "--bogus"], "No such option: --bogus"),
        (["import", "missing.jsonl", "--dataset", "d", "--format", "alpaca"], "does not exist"),
    ],
    ids=["choice", "missing-argument", "unknown-option", "missing-file"],
)
def test_usage_errors_are_one_plain_line_with_exit_code_2(cli, args, expected):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and expected in line and "--help" in line
    assert "Value error" not in line


def test_invalid_input_reads_plainly_without_pydantic_noise(cli):
    result = cli("users", "create", "bad name")
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: name: String should match pattern")
    assert "pydantic" not in line and "Value error" not in line


def test_a_domain_error_is_still_its_message(cli):
    result = cli("users", "grant", "ghost", "ml_engineer")
    assert (result.exit_code, result.stderr.strip()) == (2, "error: no principal named 'ghost'")


# --- the host's operator ------------------------------------------------------------------------


def test_names_of_host_operators_are_reserved(cli):
    result = cli("users", "create", "os:someone")
    assert result.exit_code == 2 and "are the host's operators" in result.stderr


def test_the_host_operators_principal_cannot_be_given_keys_or_lose_its_role(cli):
    from api.cli.support import operator_name

    assert cli("users", "list").exit_code == 0  # the first command made it
    operator = f"os:{operator_name()}"
    assert "cannot be changed" in cli("keys", "create", operator).stderr
    assert "cannot be changed" in cli("users", "revoke", operator, "admin").stderr


# --- help pages ---------------------------------------------------------------------------------


def every_command(group, path=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_option_and_argument_has_help_and_flags_show_no_type():
    import typer.main

    root = typer.main.get_command(app)
    commands = list(every_command(root))
    assert len(commands) > 20
    for path, command in commands:
        for param in command.params:
            assert param.help, f"labeltrail {' '.join(path)}: {param.name} has no help text"
    for args in (["--help"], ["import", "--help"], ["users", "create", "--help"]):
        from typer.testing import CliRunner

        shown = CliRunner().invoke(app, args, terminal_width=200)
        assert shown.exit_code == 0 and "<bool>" not in shown.stdout, shown.stdout
    assert "--debug" in CliRunner().invoke(app, ["--help"]).stdout
