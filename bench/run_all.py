#!/usr/bin/env python3
"""Run every benchmark of bench/ (`make bench`), then print the ratios last.

    .venv/bin/python bench/run_all.py                  # full runs (about 10 minutes; more on a busy machine)
    .venv/bin/python bench/run_all.py --quick          # smoke runs of every script
    .venv/bin/python bench/run_all.py --only pages,queue
    .venv/bin/python bench/run_all.py --strict         # a missed target fails the run too

Each script runs as its own process, its output shown as it comes. A script that exits non-zero
(a run that produced errors: a failed request, a disagreement, a wrong count; or, with --strict, a
missed target) makes this exit 1 after all the others have run. The last lines are every script's
ratio lines (lines starting with "ratio"), gathered here. Figures belong in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SCRIPTS = ["rules", "rules_libs", "pages", "startup", "weight", "flow", "queue"]


def run(name: str, extra: list[str], timeout: float) -> tuple[int, float, list[str]]:
    """Run bench_NAME.py, echo its output line by line; (exit code, seconds, ratio lines)."""
    script = BENCH / f"bench_{name}.py"
    print(f"\n===== {script.relative_to(ROOT)} {' '.join(extra)}", flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    ratios: list[str] = []
    process = subprocess.Popen(
        [sys.executable, str(script), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith("ratio"):
                ratios.append(line.rstrip())
            if time.monotonic() - start > timeout:
                raise subprocess.TimeoutExpired(process.args, timeout)
        code = process.wait(timeout=max(1.0, timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        process.kill()  # this script's own child, by its process id
        process.wait(timeout=30)
        print(f"ERROR: {script.name} ran longer than {timeout:.0f} s and was stopped", flush=True)
        code = 124
    return code, time.monotonic() - start, ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke runs (tiny sizes)")
    parser.add_argument("--strict", action="store_true", help="a missed target is a failure too")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SCRIPTS)}")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else SCRIPTS
    unknown = [n for n in chosen if n not in SCRIPTS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    extra = (["--quick"] if args.quick else []) + (["--strict"] if args.strict else [])
    timeout = 300 if args.quick else 3600
    results: list[tuple[str, int, float, list[str]]] = []
    for name in chosen:
        code, seconds, ratios = run(name, extra, timeout)
        results.append((name, code, seconds, ratios))

    print("\n===== summary")
    for name, code, seconds, _ in results:
        print(f"  bench_{name + '.py':<20} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:7.1f} s")
    failed = [name for name, code, _, _ in results if code != 0]
    if failed:
        print(f"FAILED: {', '.join(failed)} (see the ERROR lines above)")
    print("\n===== ratios")
    for name, _, _, ratios in results:
        for line in ratios or [f"(bench_{name}.py printed no ratio)"]:
            print(f"  {name:<11} {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
