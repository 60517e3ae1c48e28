"""Every benchmark runs (as a smoke test, with --quick: tiny sizes): their figures belong in
docs/performance.md, not in a test. Each script exits 0 only when its run produced no error, and
prints its ratios last."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The benchmarks choose their own databases, whatever the pass's: the SQLite pass only.
pytestmark = pytest.mark.any_database


def run_quick(script: str, *args: str, timeout: float = 300) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return result.stdout.strip().splitlines()


@pytest.mark.slow
def test_the_rules_benchmark_runs_and_agrees_with_the_hand_written_rules() -> None:
    lines = run_quick("bench_rules.py")
    assert " 0 difference(s)" in lines[0]
    assert lines[-1].startswith("ratio compiled/hand: ")


@pytest.mark.slow
def test_the_rule_libraries_benchmark_agrees_on_every_rule() -> None:
    lines = run_quick("bench_rules_libs.py")
    assert any(line.endswith(": 0 difference(s)") for line in lines)
    assert lines[-1].startswith("ratio json-logic/compiled (flag-heavy): ")


@pytest.mark.slow
def test_the_page_throughput_benchmark_runs() -> None:
    lines = run_quick("bench_pages.py")
    assert lines[-4].startswith("ratio plain route that writes/plain route: ")
    assert lines[-3].startswith("ratio page GET/plain route: ")
    assert lines[-2].startswith("ratio page POST/plain route: ")
    assert lines[-1].startswith("ratio page POST/plain route that writes: ")


def test_the_plain_route_that_writes_changes_the_row_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its baseline is a durable write: SQLite writes (and syncs) nothing for an UPDATE that leaves a
    row's bytes as they were, so the same request twice must store two different rows."""
    import sqlite3

    monkeypatch.setenv("HELLO_DATABASE", str(tmp_path / "hello.db"))
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.hello_app import app

    client = app.test_client()
    rows = []
    for _ in range(2):
        assert client.post("/save", data={"value": "z"}).status_code == 302
        with sqlite3.connect(tmp_path / "hello.db") as conn:
            rows.append(conn.execute("SELECT data FROM rows WHERE id = 1").fetchone()[0])
    assert rows[0] != rows[1] and len(rows[0]) == len(rows[1]) == 2048


@pytest.mark.slow
def test_the_flow_benchmark_stores_every_submission_once() -> None:
    lines = run_quick("bench_flow.py")
    assert any(line.startswith("  stored: 4 submissions for 4 completed") for line in lines)
    assert lines[-1].startswith("ratio ")
    assert not [line for line in lines if line.startswith("ERROR")]


@pytest.mark.slow
def test_the_queue_benchmark_generates_and_times_both_sizes() -> None:
    lines = run_quick("bench_queue.py")
    assert any(line.startswith("sqlite     5,000 rows generated") for line in lines)
    assert lines[-1].startswith("ratio queue ")


@pytest.mark.slow
def test_the_weight_benchmark_finds_no_third_party_request() -> None:
    lines = run_quick("bench_weight.py")
    assert any(line.startswith("requests to other hosts: 0;") for line in lines)
    assert lines[-1].startswith("ratio worker RSS after/before ")


@pytest.mark.slow
def test_the_startup_benchmark_runs() -> None:
    lines = run_quick("bench_startup.py")
    assert lines[-1].startswith("ratio start-up app/plain Flask: ")


@pytest.mark.slow
def test_run_all_runs_the_chosen_scripts_and_prints_the_ratios_last() -> None:
    lines = run_quick("run_all.py", "--only", "rules_libs")
    assert "===== ratios" in lines
    assert lines[-1].lstrip().startswith("rules_libs  ratio json-logic/compiled (flag-heavy): ")
