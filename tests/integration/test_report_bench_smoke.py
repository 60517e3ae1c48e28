"""bench/bench_report.py runs (--quick: 5,000 rows, PostgreSQL when it answers, else SQLite); its figure
at 1,000,000 rows belongs in docs/performance.md, not in a test. Not in bench/run_all.py's default
list: its full run generates a million rows (about two minutes) before timing."""

from __future__ import annotations

import pytest

from .test_bench_smoke import run_quick

pytestmark = pytest.mark.any_database  # PostgreSQL when it answers, whatever the pass


@pytest.mark.slow
def test_the_report_benchmark_runs() -> None:
    lines = run_quick("bench_report.py")
    assert any("5,000 rows generated" in line for line in lines), lines
    assert lines[-1].startswith("report ") and "smoke run" in lines[-1]
