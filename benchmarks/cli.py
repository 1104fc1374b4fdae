"""How long the ``labeltrail`` command line takes to start, against bare Python, in one run.

What is measured: the wall time of a whole process, started as the installed ``labeltrail``
script starts (``from api.cli.main import app; app()``) with this interpreter, for

- ``labeltrail --help``;
- ``labeltrail users list`` and ``labeltrail verify``, on an empty database migrated
  beforehand (a SQLite file in a temporary directory, ``LABELTRAIL_DATABASE_URL``; migrating is
  not timed);
- ``python -c pass``, the same interpreter starting and doing nothing: the floor.

The four alternate over ``--repeats`` rounds (after one warm-up round, so the files are in the
page cache) and each one's median counts, in wall time and in CPU time (user + system, which
other work on a shared machine inflates less). ``--tree`` times another checkout's command line with
the same interpreter (e.g. one extracted with ``git archive``), for a before-and-after. Goals:
``--help`` within 0.4 s of bare Python, ``users list`` within 1 s. The last line of output is one
JSON object with help_s, users_list_s, verify_s and python_s.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = "import sys; from api.cli.main import app; sys.exit(app())"  # what the installed script runs
GOALS = {"help": 0.4, "users_list": 1.0}  # seconds over bare Python


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds for ``command`` to run to its end, and the CPU seconds (user + system) it
    took, which a machine busy with other work inflates less; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[3:]) or 'python'} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (after one warm-up)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose command line is timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labeltrail-cli-") as scratch:
        work = Path(scratch)
        env = {
            **os.environ, "PYTHONPATH": str(args.tree.resolve()), "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
            "LABELTRAIL_DATABASE_URL": f"sqlite:///{work / 'labeltrail.db'}", "LABELTRAIL_LOG_LEVEL": "WARNING",
        }  # fmt: skip
        labeltrail = [sys.executable, "-c", LAUNCH]
        timed([*labeltrail, "db", "upgrade"], env, work)
        arms = {
            "python": [sys.executable, "-c", "pass"],
            "help": [*labeltrail, "--help"],
            "users_list": [*labeltrail, "users", "list"],
            "verify": [*labeltrail, "verify"],
        }
        runs: dict[str, list[float]] = {name: [] for name in arms}
        cpu: dict[str, list[float]] = {name: [] for name in arms}
        for round_number in range(args.repeats + 1):
            for name, command in arms.items():
                elapsed, used = timed(command, env, work)
                if round_number:  # the first round warms the page cache
                    runs[name].append(elapsed)
                    cpu[name].append(used)
    median = {name: statistics.median(times) for name, times in runs.items()}
    median_cpu = {name: statistics.median(times) for name, times in cpu.items()}
    python_s = median["python"]
    print(f"tree: {args.tree.resolve()}; interpreter: {sys.executable}; {args.repeats} rounds, medians")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'command':<24} {'median s':>9} {'best s':>8} {'minus python':>13} {'CPU s':>6}  goal (wall, minus python)")
    for name in arms:
        over = median[name] - python_s
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"within {goal} s: {'met' if over <= goal else 'NOT met'}"
        label = "python -c pass" if name == "python" else "labeltrail " + " ".join(arms[name][3:])
        print(f"{label:<24} {median[name]:>9.3f} {min(runs[name]):>8.3f} {over:>13.3f} {median_cpu[name]:>6.3f}  {verdict}")
    print(json.dumps({
        "help_s": round(median["help"], 3), "users_list_s": round(median["users_list"], 3),
        "verify_s": round(median["verify"], 3), "python_s": round(python_s, 3),
        "cpu_s": {name: round(each, 3) for name, each in median_cpu.items()},
        "runs_s": {name: [round(each, 3) for each in times] for name, times in runs.items()},
        "load_average": round(os.getloadavg()[0], 2),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
