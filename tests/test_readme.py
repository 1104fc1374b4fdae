"""The README is a test: its walk-through runs here as a user runs it, and prints what it shows.

The walk-through is every fenced ``sh`` block right after a ``<!-- readme-test -->`` line in
README.md. The blocks run in order in one bash (``set -euo pipefail``), in a scratch clone
directory with its own SQLite database and ``../shared/data`` linked to the public data, and
``.venv/bin/labeltrail`` a shim running this interpreter's CLI, so no ``make`` is needed. The
README's ``serve`` runs in the background as it says; the only change to the text is the port
(``localhost:8000`` becomes a free one). A whole line ``# …`` in a block is what the block prints:
its pieces between ``…`` must appear in the block's output, in order (whitespace runs count as one
space). Nothing waits on time: the README waits for the server with curl's retries, and masks with
``pii mask``, which returns when nothing is pending."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet
import pytest

from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- readme-test -->"
DONE = "@@readme-test block {} done@@"  # then the seconds since the start, for a slow run's report
DATA = ("instruct/gpteacher_roleplay_v1.json", "instruct/gpteacher_roleplay_v2.json")
RUN_TIMEOUT = 1800  # a deadline for a hung run, far above what it takes; nothing asserts on time
STOP_TIMEOUT = 60


@dataclass
class Block:
    line: int  # where it starts in README.md
    source: str
    expected: list[str]  # the "# …" lines: what the block prints


def walkthrough(text: str) -> list[Block]:
    blocks = []
    for found in re.finditer(rf"^{re.escape(MARKER)}\n```sh\n(.*?)^```$", text, re.S | re.M):
        source = found.group(1)
        expected = [line[2:] for line in source.splitlines() if line.startswith("# ")]
        blocks.append(Block(text.count("\n", 0, found.start()) + 2, source, expected))
    return blocks


def normalised(text: str) -> str:
    return " ".join(text.split())


def missing_output(block: Block, output: str) -> str | None:
    """The first piece of the block's ``# …`` lines not found in its output (in order), or None."""
    printed, at = normalised(output), 0
    for line in block.expected:
        for piece in normalised(line).split("…"):
            piece = piece.strip()
            if not piece:
                continue
            found = printed.find(piece, at)
            if found < 0:
                return piece
            at = found + len(piece)
    return None


def test_walkthrough_blocks_are_marked_and_call_the_installed_cli() -> None:
    text = README.read_text()
    blocks = walkthrough(text)
    assert text.count(MARKER) == len(blocks) >= 10, "each marker is followed by a ```sh block"
    for block in blocks:
        for line in block.source.splitlines():
            if not line.startswith("#"):
                bare = re.search(r"(?<![/\w`-])labeltrail\b(?![.:])", line)
                assert not bare, f"README.md:{block.line}: call .venv/bin/labeltrail, not bare labeltrail: {line}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scratch_clone(base: Path) -> Path:
    """``base/clone`` with ``.venv/bin/labeltrail`` running this interpreter, beside ``base/shared/data``."""
    clone = base / "clone"
    (clone / ".venv" / "bin").mkdir(parents=True)
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(SHARED_DATA)
    shims = base / "bin"
    shims.mkdir()
    for path, body in (
        (clone / ".venv" / "bin" / "labeltrail", f'exec "{sys.executable}" -c "from api.cli.main import app; app()" "$@"'),
        (shims / "python3", f'exec "{sys.executable}" "$@"'),  # the README parses JSON with python3
    ):
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return clone


def walkthrough_env(clone: Path, port: int) -> dict[str, str]:
    """This process's environment without labeltrail's settings, and the scratch clone's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("LABELTRAIL_", "OPENLINEAGE"))}
    env.update({
        "PATH": f"{clone.parent / 'bin'}{os.pathsep}{env.get('PATH', '')}", "PYTHONPATH": str(ROOT),
        "LABELTRAIL_DATABASE_URL": f"sqlite:///{clone / 'labeltrail.db'}", "LABELTRAIL_PORT": str(port),
        "LABELTRAIL_PII_MODE": "pattern",  # the pattern recognizers: seconds, where spaCy's NER takes minutes
        "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    })  # fmt: skip
    return env


def labeltrail(clone: Path, *args: str) -> str:
    """``.venv/bin/labeltrail ARGS`` in the scratch clone, after the walk-through; its output."""
    done = subprocess.run(
        [str(clone / ".venv" / "bin" / "labeltrail"), *args], cwd=clone, env=walkthrough_env(clone, 0),
        capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_walkthrough(blocks: list[Block], base: Path) -> tuple[list[str], str, int]:
    """Runs the blocks in one bash; returns each finished block's output, stderr and the exit status."""
    clone, port = scratch_clone(base), free_port()
    script = ["set -euo pipefail"]
    for number, block in enumerate(blocks):
        script += [block.source.replace("localhost:8000", f"localhost:{port}"), f"printf '\\n{DONE}\\n%s\\n' $SECONDS".format(number)]
    env = walkthrough_env(clone, port)
    # A session of its own, so the server the README starts in the background is stopped with the shell.
    shell = subprocess.Popen(
        ["bash", "-c", "\n".join(script)], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = shell.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(shell.pid, signal.SIGKILL)
        out, err = shell.communicate()
    finally:
        stop(shell.pid)
    (base / "walkthrough.log").write_text(out + "\n--- stderr ---\n" + err)  # for a look after a failure
    serve_log = clone / "serve.log"
    if serve_log.exists():
        err += "\n--- serve.log ---\n" + serve_log.read_text()[-5000:]
    outputs = []
    for number, block in enumerate(blocks):
        done, found, out = out.partition(f"\n{DONE.format(number)}\n")
        if not found:
            break
        seconds, _, out = out.partition("\n")
        outputs.append(done)
        print(f"README.md:{block.line} done at {seconds} s")  # shown by pytest -s, or when the test fails
    return outputs, err + "\n--- unfinished block's output ---\n" + out[-5000:], shell.returncode


def stop(group: int) -> None:
    """Stops what the walk-through left running (its server) and waits until it has gone."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        subprocess.run(
            ["bash", "-c", f"while kill -0 -{group} 2>/dev/null; do sleep 0.2; done"], timeout=STOP_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)


def test_the_walkthrough_runs_and_prints_what_the_readme_shows(tmp_path: Path) -> None:
    for name in DATA:
        if not (SHARED_DATA / name).exists():
            pytest.skip(f"public test data not present: {SHARED_DATA / name} (it lives in ../shared/data beside the clone)")
    if shutil.which("curl") is None:
        pytest.skip("the walk-through calls the API with curl, which is not installed")
    blocks = walkthrough(README.read_text())
    outputs, errors, status = run_walkthrough(blocks, tmp_path)

    failed = blocks[len(outputs)] if len(outputs) < len(blocks) else None
    assert failed is None and status == 0, f"README.md:{failed.line if failed else '?'} failed ({status}):\n{errors}"
    wrong = [
        f"README.md:{block.line}: the output lacks {missing!r}; it printed:\n{output[-3000:]}"
        for block, output in zip(blocks, outputs)
        if (missing := missing_output(block, output)) is not None
    ]
    assert not wrong, "\n\n".join(wrong)

    # What the README's lines show, checked again in case a trimmed line stops saying it.
    clone = tmp_path / "clone"
    verified = next(output for block, output in zip(blocks, outputs) if "labeltrail verify" in block.source)
    assert re.search(r"^intact: .*, [1-9][0-9]* seals$", verified, re.M), verified
    diff = json.loads(labeltrail(clone, "diff", "roleplay", "v1", "v2"))
    assert (diff["records_added"], diff["records_removed"], diff["records_changed"]) == (2, 1225, 283)
    assert pyarrow.parquet.read_metadata(clone / "v2.parquet").num_rows == 1923
    assert len((clone / "v2.jsonl").read_text().splitlines()) == 1923
    assert (clone / "seals-2026-11.jsonl").read_text().strip()
