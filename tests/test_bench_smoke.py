"""The rules benchmark runs (as a smoke test: its figures belong in docs/performance.md, not in a test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_rules_benchmark_runs_and_agrees_with_the_hand_written_rules() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_rules.py"), "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert " 0 difference(s)" in lines[0]
    assert lines[-1].startswith("ratio compiled/hand: ")
