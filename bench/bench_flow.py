#!/usr/bin/env python3
"""Benchmark: 32 concurrent simulated patients complete the whole questionnaire, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_flow.py            # full run: 32 patients x 3 questionnaires per database
    .venv/bin/python bench/bench_flow.py --quick    # smoke run: 4 patients x 1 questionnaire

gunicorn with TWO sync workers (production settings of questionnaire/gunicorn_conf.py, rate limits
off as in the live-server tests) on a loopback port, first on a fresh SQLite file, then on a fresh
PostgreSQL database (127.0.0.1:5432, user postgres, or TEST_DATABASE_URL; created and dropped here).
Each simulated patient is a thread with its own cookie jar that behaves like a browser without
JavaScript: start page, Start, every shown page (GET, then POST of its answers, following the
persona's answers), check your answers, Send, the outcome page. Personas cycle through no flags,
mention at consultation, discuss before booking, urgent (the form stops on the first page) and
one that shows every page.

An error is any unexpected status or redirect, a transport error, or a 5xx/traceback in the server
log; any error exits 1. Afterwards the database is read directly: every completed questionnaire must
be stored exactly once (submissions = completed, one per draft, each with its expected level, rule
rows and queue counters in step). Reported: requests, throughput, p50 / p99 latency per request
overall and per kind of request. Ratios are printed last.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import _common as c

from questionnaire.core import flow  # noqa: E402
from questionnaire.core.definition import QUESTIONNAIRE  # noqa: E402
from questionnaire.core.rules import load_ruleset  # noqa: E402
from tests.helpers import EVERY_PAGE, PERSONAS, form_data  # noqa: E402
from tests.servers import HttpClient, Reply, start_together  # noqa: E402

PERSONA_CYCLE: list[tuple[str, dict[str, Any]]] = [*PERSONAS.items(), ("every_page", EVERY_PAGE)]


class TimedClient(HttpClient):
    """HttpClient that records (kind, milliseconds) of every request, and counts failures."""

    def __init__(self, *args: Any, samples: list[tuple[str, float]], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.samples = samples
        self.history_limit = 0

    def timed(self, kind: str, method: str, path: str, data: dict[str, Any] | None = None) -> Reply:
        start = time.perf_counter()
        reply = self.post(path, data) if method == "POST" else self.get(path)
        self.samples.append((kind, (time.perf_counter() - start) * 1000))
        self.history.clear()
        return reply


class Patient:
    """One simulated patient: complete the questionnaire once with one persona's answers."""

    def __init__(self, server: c.BenchServer, samples: list[tuple[str, float]], errors: list[str]) -> None:
        self.server = server
        self.samples = samples
        self.errors = errors

    def expect(self, reply: Reply, status: int, location: str | None = None, what: str = "") -> bool:
        ok = reply.status == status and (location is None or reply.location == location)
        if not ok:
            self.errors.append(
                f"{what or reply.method + ' ' + reply.url}: {reply.status} -> {reply.location!r} "
                f"(expected {status}{' -> ' + location if location else ''})"
            )
        return ok

    def complete(self, answers: dict[str, Any]) -> bool:
        """True when the questionnaire was sent (or stopped as urgent) and its outcome page shown."""
        client = TimedClient(self.server, samples=self.samples, timeout=60)
        if not self.expect(client.timed("start page", "GET", "/"), 200):
            return False
        if not self.expect(client.timed("start", "POST", "/start"), 302, "/questions/urgent"):
            return False
        page = QUESTIONNAIRE.pages[0]
        while page is not None and page.id != "declaration":
            url = f"/questions/{page.id}"
            if not self.expect(client.timed("question page GET", "GET", url), 200):
                return False
            reply = client.timed("question page POST", "POST", url, form_data(page.id, answers))
            if reply.status == 302 and reply.location == "/get-help-now":
                return self.expect(client.timed("outcome", "GET", "/get-help-now"), 200)
            following = flow.next_page(page.id, answers)
            expected = (
                "/check-answers" if following is None or following.id == "declaration" else f"/questions/{following.id}"
            )
            if not self.expect(reply, 302, expected, f"POST {url}"):
                return False
            page = following
        if not self.expect(client.timed("check answers", "GET", "/check-answers"), 200):
            return False
        if not self.expect(client.timed("send", "POST", "/check-answers", {"declaration": "yes"}), 302, "/sent"):
            return False
        return self.expect(client.timed("outcome", "GET", "/sent"), 200)


def run_load(
    server: c.BenchServer, patients: int, rounds: int, deadline_s: float
) -> tuple[Counter[str], list[tuple[str, float]], list[str], float]:
    """`patients` threads, each completing `rounds` questionnaires; bounded by `deadline_s` seconds."""
    completed: Counter[str] = Counter()
    samples: list[tuple[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s
    barrier = threading.Barrier(patients)

    def one(index: int) -> None:
        barrier.wait(timeout=30)
        for r in range(rounds):
            if time.monotonic() > stop_at:
                with lock:
                    errors.append(f"patient {index}: stopped at the time bound ({deadline_s:.0f} s)")
                return
            name, answers = PERSONA_CYCLE[(index + r) % len(PERSONA_CYCLE)]
            local_samples: list[tuple[str, float]] = []
            local_errors: list[str] = []
            try:
                done = Patient(server, local_samples, local_errors).complete(answers)
            except Exception as exc:  # noqa: BLE001 - a transport error is an error of the run
                done = False
                local_errors.append(f"patient {index} ({name}): {type(exc).__name__}: {exc}")
            with lock:
                samples.extend(local_samples)
                errors.extend(local_errors)
                if done and not local_errors:
                    completed[name] += 1
                elif not local_errors:
                    errors.append(f"patient {index} ({name}) did not finish")

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(patients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, stop_at - time.monotonic() + 60))
    elapsed = time.perf_counter() - started
    if any(t.is_alive() for t in threads):
        errors.append("some patients were still running after the time bound")
    return completed, samples, errors, elapsed


def check_stored(uri: str, completed: Counter[str], failures: c.Failures, label: str) -> None:
    """Every completed questionnaire stored exactly once, with its level, rule rows and counters."""
    from sqlalchemy import create_engine, text

    from questionnaire.config import normalise_database_uri

    rs = load_ruleset()
    expected_levels: Counter[str] = Counter()
    expected_rules = 0
    for name, answers in PERSONA_CYCLE:
        if completed[name]:
            upto = "urgent" if name == "urgent" else None
            assessment = rs.evaluate(answers, upto=upto)
            expected_levels[assessment.level] += completed[name]
            expected_rules += len(assessment.fired) * completed[name]
    total = sum(completed.values())
    engine = create_engine(normalise_database_uri(uri))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT COUNT(*), COUNT(DISTINCT draft_token_hash), COUNT(DISTINCT reference) FROM submissions")
            ).one()
            levels = Counter(
                {lv: n for lv, n in conn.execute(text("SELECT level, COUNT(*) FROM submissions GROUP BY level"))}
            )
            rule_rows = conn.execute(text("SELECT COUNT(*) FROM submission_rules")).scalar()
            counters = Counter(
                {lv: n for lv, n in conn.execute(text("SELECT level, SUM(n) FROM queue_counts GROUP BY level")) if n}
            )
    finally:
        engine.dispose()
    failures.check(rows[0] == total, f"{label}: {rows[0]} submissions stored for {total} completed questionnaires")
    failures.check(rows[1] == rows[0] == rows[2], f"{label}: submissions not one per draft / per reference: {rows}")
    failures.check(
        levels == expected_levels, f"{label}: levels stored {dict(levels)} != expected {dict(expected_levels)}"
    )
    failures.check(rule_rows == expected_rules, f"{label}: {rule_rows} rule rows, expected {expected_rules}")
    failures.check(counters == levels, f"{label}: queue_counts {dict(counters)} != rows {dict(levels)}")
    print(
        f"  stored: {rows[0]} submissions for {total} completed ({rows[1]} distinct drafts), levels "
        f"{dict(sorted(levels.items()))}, {rule_rows} rule rows, queue_counts in step: {counters == levels}"
    )


def report(samples: list[tuple[str, float]], elapsed: float) -> dict[str, float]:
    all_ms = [ms for _, ms in samples]
    print(
        f"  {len(samples)} requests in {elapsed:.1f} s ({len(samples) / elapsed:,.0f} requests/s); "
        f"latency p50 {c.percentile(all_ms, 50):.0f} ms, p99 {c.percentile(all_ms, 99):.0f} ms, "
        f"max {max(all_ms):.0f} ms"
    )
    kinds: dict[str, list[float]] = {}
    for kind, ms in samples:
        kinds.setdefault(kind, []).append(ms)
    for kind, values in kinds.items():
        print(
            f"    {kind:<20} {len(values):>6} requests  p50 {c.percentile(values, 50):>6.0f} ms  "
            f"p99 {c.percentile(values, 99):>6.0f} ms"
        )
    return {"p50": c.percentile(all_ms, 50), "p99": c.percentile(all_ms, 99), "rps": len(samples) / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = c.parser(__doc__, targets=False)
    parser.add_argument("--patients", type=int, help="concurrent patients (default 32; 4 with --quick)")
    parser.add_argument("--rounds", type=int, help="questionnaires per patient (default 3; 1 with --quick)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args(argv)
    patients = args.patients or (4 if args.quick else 32)
    rounds = args.rounds or (1 if args.quick else 3)
    failures = c.Failures()
    print(c.machine_summary())
    print(
        f"{patients} concurrent patients x {rounds} questionnaire(s) each; gunicorn 2 sync workers; "
        f"SQLite {c.sqlite_version()}"
    )
    pg = None if args.sqlite_only else c.postgres_or_none(failures, required=not args.quick)
    databases = ["sqlite"] + (["postgresql"] if pg else [])
    results: dict[str, dict[str, float]] = {}
    workdir = Path(tempfile.mkdtemp(prefix="bench_flow_"))
    try:
        with ExitStack() as stack:
            servers: dict[str, tuple[str, str, c.BenchServer]] = {}
            for kind in databases:
                if kind == "sqlite":
                    uri, label = f"sqlite:///{workdir / 'flow.db'}", "SQLite"
                else:
                    assert pg is not None
                    uri = stack.enter_context(c.fresh_postgres_database(pg, prefix="oq_bench_flow"))
                    label = f"PostgreSQL {c.postgres_version(pg)}"
                c.migrate_in_process(uri)
                server = c.BenchServer(
                    workdir / kind, database_uri=uri, workers=2, name=kind, start_timeout=90, migrate=False
                )
                stack.callback(server.stop)
                servers[kind] = (uri, label, server)
            # Started together (the start-up is what takes longest on a busy machine); loaded one at a time.
            start_together(*(server for _, _, server in servers.values()))
            for kind, (uri, label, server) in servers.items():
                print(f"{label}:", flush=True)
                completed, samples, errors, elapsed = run_load(server, patients, rounds, deadline_s=600)
                for error in errors[:10]:
                    failures.error(f"{label}: {error}")
                if len(errors) > 10:
                    failures.error(f"{label}: ... and {len(errors) - 10} more")
                problems = server.log_problems()
                failures.check(not problems, f"{label}: server log shows {len(problems)} error line(s): {problems[:3]}")
                failures.check(
                    sum(completed.values()) == patients * rounds,
                    f"{label}: {sum(completed.values())} of {patients * rounds} questionnaires completed",
                )
                if samples:
                    results[kind] = report(samples, elapsed)
                server.stop()
                check_stored(uri, completed, failures, label)
                print(f"  errors: {len(errors) + len(problems)}", flush=True)
    except Exception as exc:  # noqa: BLE001 - any failure is an error of the run, reported loudly
        failures.error(f"{type(exc).__name__}: {exc}")
    finally:
        if not failures.errors:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"server logs kept in {workdir}")
    for kind, r in results.items():
        print(
            f"ratio p99/p50 latency {kind}: {r['p99'] / r['p50']:.1f} (p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms, "
            f"{r['rps']:,.0f} requests/s, {len(failures.errors)} error(s))"
        )
    if "sqlite" in results and "postgresql" in results:
        print(f"ratio PostgreSQL/SQLite throughput: {results['postgresql']['rps'] / results['sqlite']['rps']:.2f}")
    return failures.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
