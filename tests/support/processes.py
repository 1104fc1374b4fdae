"""Processes of their own on a test's database: Python snippets and ``labeltrail`` commands started
together, so that they really run at once, and conditions waited for with a generous deadline."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from catalog.core.config import Settings
from tests.support.live import ROOT

DEADLINE = 300.0  # a loaded machine is slow; nothing asserts on time


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """What ``labeltrail`` reads, pointed at the test's database (as :func:`tests.support.live.run_cli`)."""
    seal_key = settings.audit_seal_key.get_secret_value() if settings.audit_seal_key else ""
    return {
        **os.environ, "PYTHONPATH": str(ROOT), "LABELTRAIL_DATABASE_URL": settings.database_url,
        "LABELTRAIL_PII_MODE": "pattern", "LABELTRAIL_LOG_LEVEL": "WARNING",
        "LABELTRAIL_AUDIT_SEAL_KEY": seal_key, "LABELTRAIL_AUDIT_SEAL_EVERY": str(settings.audit_seal_every), **extra,
    }  # fmt: skip


def start_cli(settings: Settings, *args: str, **extra_env: str) -> subprocess.Popen:
    """``labeltrail ARGS`` started in a process of its own; the caller waits for it."""
    command = [sys.executable, "-c", "from api.cli.main import app; app()", *args]
    return subprocess.Popen(
        command, env=environment(settings, **extra_env), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def start_python(settings: Settings, code: str, *args: str) -> subprocess.Popen:
    """``python -c CODE ARGS`` with the test's settings in its environment."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=environment(settings), cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen, timeout: float = DEADLINE) -> tuple[int, str, str]:
    """Wait for ``process``: its exit code, stdout and stderr (killed if it outlives ``timeout``)."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE, every: float = 0.05):
    """Poll ``condition`` until it is truthy (and return it), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (children, theirs, ...), read from /proc."""
    children: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (parent := _parent_of(int(entry.name))) is not None:
            children.setdefault(parent, set()).add(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        below = children.get(todo.pop(), set()) - found
        found |= below
        todo += below
    return found


def living(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie, dead but not reaped, is not)."""
    return {pid for pid in pids if _state_of(pid) not in (None, "Z")}


def _stat(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces and ')'


def _parent_of(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def _state_of(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[0] if fields else None


def release_together(go: Path) -> None:
    """Let every process waiting on ``go`` (see :data:`WAIT_FOR_GO`) start at once."""
    go.write_text("go")


# A snippet's first lines: wait until the file named by argv[1] exists, so processes begin together.
WAIT_FOR_GO = """
import pathlib, sys, time
while not pathlib.Path(sys.argv[1]).exists():
    time.sleep(0.01)
"""
