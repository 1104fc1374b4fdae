"""The test suite's own wall time, against the suite of an earlier commit, in one run.

What is measured: pytest's own wall time (the ``in N s`` of its summary line, not the install)
for the whole suite, on SQLite and on PostgreSQL when one answers, run as ``make test`` runs it.

- baseline: the suite at ``--baseline`` (default: the commit the domain layout started from),
  checked out into a temporary git worktree and run there with the same virtualenv, with that
  commit's own pytest options.
- current: the suite of this checkout, with its own options (xdist on every core, coverage).

The two run one after the other (``--order`` decides which first), so they meet the machine in
the same hour; run it on an otherwise idle machine. Both must pass, or the figure means nothing:
a failing arm is reported and the run exits 1. The goal is a ratio (current / baseline) of at
most 0.5. The last line of output is one JSON object with baseline_s, current_s, ratio and the
passed counts of both.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASELINE = "8e465e4"  # the last commit before catalog/ became one folder per domain
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_SUMMARY = re.compile(r"(?P<passed>\d+) passed.* in (?P<seconds>[\d.]+)s")


def run_suite(tree: Path, postgres_url: str | None) -> dict:
    """Run pytest in ``tree`` with this interpreter; its pass count and its own wall time."""
    env = {**os.environ, "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    env.pop("LABELTRAIL_TEST_POSTGRES_URL", None)
    if postgres_url:
        env["LABELTRAIL_TEST_POSTGRES_URL"] = postgres_url
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tree, env=env,
        capture_output=True, text=True,
    )
    lines = [line for line in result.stdout.splitlines() if _SUMMARY.search(line)]
    if result.returncode != 0 or not lines:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
        return {"ok": False, "passed": None, "seconds": None}
    found = _SUMMARY.search(lines[-1])
    return {"ok": True, "passed": int(found["passed"]), "seconds": float(found["seconds"])}


def postgres_answers(url: str) -> bool:
    probe = subprocess.run([sys.executable, "-m", "tests.support.pg_probe", url], cwd=ROOT)
    return probe.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the commit whose suite is the baseline")
    parser.add_argument("--postgres-url", default=os.environ.get("LABELTRAIL_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--order", choices=("baseline-first", "current-first"), default="baseline-first")
    args = parser.parse_args()
    postgres_url = args.postgres_url if postgres_answers(args.postgres_url) else None
    print(f"PostgreSQL: {'on ' + postgres_url if postgres_url else 'does not answer; SQLite only'}")
    with tempfile.TemporaryDirectory(prefix="labeltrail-baseline-") as scratch:
        baseline_tree = Path(scratch) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(baseline_tree), args.baseline], cwd=ROOT,
                       check=True)
        try:
            arms = [("baseline", baseline_tree), ("current", ROOT)]
            if args.order == "current-first":
                arms.reverse()
            results = {}
            for name, tree in arms:
                results[name] = run_suite(tree, postgres_url)
                print(f"{name}: {results[name]}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline_tree)], cwd=ROOT, check=True)
    baseline, current = results["baseline"], results["current"]
    ratio = round(current["seconds"] / baseline["seconds"], 3) if baseline["ok"] and current["ok"] else None
    print(f"current / baseline: {ratio} (goal: at most 0.5)")
    print(json.dumps({"baseline_s": baseline["seconds"], "current_s": current["seconds"], "ratio": ratio,
                      "baseline_passed": baseline["passed"], "current_passed": current["passed"],
                      "postgresql": postgres_url is not None}))
    return 0 if ratio is not None else 1


if __name__ == "__main__":
    sys.exit(main())
