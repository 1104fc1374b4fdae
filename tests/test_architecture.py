"""The one-way rule (docs/architecture.md), as the import contract in pyproject.toml states it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "lineage", "catalog", "pii")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` over the packages in ``tree``, with the project's contract."""
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
    )


def test_the_code_keeps_the_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "forbidden"), [
    ("catalog/core/db.py", "catalog.releases.service"),  # core imports no domain
    ("catalog/records/service.py", "catalog.annotations.service"),  # a domain imports only those below it
    ("catalog/releases/service.py", "lineage.events_out"),  # the catalog never imports lineage
    ("pii/masking.py", "catalog.core.db"),  # pii is a leaf
])  # fmt: skip
def test_a_forbidden_import_breaks_the_contract(tmp_path, module, forbidden):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    with (tmp_path / module).open("a") as source:
        source.write(f"\nimport {forbidden}  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and forbidden in result.stdout
