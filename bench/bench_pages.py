#!/usr/bin/env python3
"""Benchmark: patient question page throughput against a plain Flask route, side by side.

    .venv/bin/python bench/bench_pages.py            # full run (about two minutes)
    .venv/bin/python bench/bench_pages.py --quick    # smoke run (a few seconds)
    .venv/bin/python bench/bench_pages.py --profile  # also profile the two requests in process (cProfile)

Two gunicorn servers on loopback ports, each with ONE sync worker and the production settings of
questionnaire/gunicorn_conf.py (access log included), both with --max-requests 0 so that no worker
is recycled in the middle of a round:
  - the questionnaire (wsgi:app, SQLite file, rate limits off as in the live-server tests);
  - bench/hello_app.py, a plain Flask route returning a short string, and a plain Flask route that
    updates one 2 KB row in SQLite (WAL, default synchronous) with a durable commit and redirects.
Four loads are measured in alternating rounds (the order reverses every round) with wrk when it is
installed (scripts/install-bench-tools), else with a bounded Python load generator:
  hello   GET /                       -> 200
  write   POST /save (plain route)    -> 302, after one durable commit: the POST's own limit
  GET     GET /questions/urgent       -> 200, with a patient's session cookie
  POST    POST /questions/urgent      -> 302, all "No" and a valid CSRF token: validates, saves the
                                         draft (a database write) and redirects to the next page
Every response's status is checked; any other status or socket error is an error (exit 1).
Ratios (median rate of the page / median rate of the plain route) are printed last; the POST is
also given as a share of the plain route that writes.
Targets (issues 9 and 20): GET >= 0.35, POST >= 0.25 of the plain route.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import _common as c

from tests.helpers import NO_FLAGS, form_data  # noqa: E402
from tests.servers import HttpClient, app_config, start_together  # noqa: E402

TARGETS = {"GET": 0.35, "POST": 0.25}
PAGE = "urgent"


def patient_session(server: c.BenchServer, failures: c.Failures) -> tuple[str, str, str]:
    """A patient who started the form: (cookie header, POST body for the page, next page's path)."""
    client = HttpClient(server)
    client.get("/")
    started = client.post("/start")
    failures.check(
        started.status == 302 and started.location == f"/questions/{PAGE}",
        f"POST /start gave {started.status} -> {started.location!r}, not /questions/{PAGE}",
    )
    page = client.get(f"/questions/{PAGE}")
    failures.check(page.status == 200 and 'name="csrf_token"' in page.text, f"GET /questions/{PAGE} gave {page.status}")
    fields = {"csrf_token": client.token, **form_data(PAGE, NO_FLAGS)}
    body = urllib.parse.urlencode(fields, doseq=True)
    sent = client.post(f"/questions/{PAGE}", form_data(PAGE, NO_FLAGS))
    failures.check(
        sent.status == 302 and sent.location.startswith("/questions/") and PAGE not in sent.location,
        f"POST /questions/{PAGE} gave {sent.status} -> {sent.location!r}, not the next page",
    )
    cookie = "; ".join(f"{k.name}={k.value}" for k in client.jar)
    return cookie, body, sent.location


def profile(server: c.BenchServer, cookie: str, body: str, requests: int) -> str:
    """cProfile of the GET and the POST through the app's WSGI callable in this process (same database,
    same keys, same session cookie): the functions with the most time of their own, and cumulative."""
    from questionnaire import create_app

    app = create_app(app_config(server.database_uri, server.extra_env))
    client = app.test_client()
    name, value = cookie.split(";")[0].split("=", 1)
    client.set_cookie(name, value)
    headers = {"Accept-Language": "en"}
    with contextlib.redirect_stderr(open(os.devnull, "w")):
        for _ in range(20):  # warm up: templates compiled, form classes built
            client.get(f"/questions/{PAGE}", headers=headers)
            client.post(
                f"/questions/{PAGE}", data=body, content_type="application/x-www-form-urlencoded", headers=headers
            )
    out = io.StringIO()
    quiet = contextlib.redirect_stderr(open(os.devnull, "w"))  # the app's one JSON log line per request
    with quiet:
        _profile_both(client, body, headers, requests, out)
    return out.getvalue()


def _profile_both(client: Any, body: str, headers: dict[str, str], requests: int, out: io.StringIO) -> None:
    for method in ("GET", "POST"):
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(requests):
            if method == "GET":
                response = client.get(f"/questions/{PAGE}", headers=headers)
                assert response.status_code == 200, response.status_code
            else:
                response = client.post(
                    f"/questions/{PAGE}", data=body, content_type="application/x-www-form-urlencoded", headers=headers
                )
                assert response.status_code == 302, response.status_code
        prof.disable()
        stats = pstats.Stats(prof, stream=out).strip_dirs()
        out.write(f"\n=== {method} /questions/{PAGE}: {requests} requests in process, by own time\n")
        stats.sort_stats("tottime").print_stats(14)
        out.write(f"=== {method} /questions/{PAGE}: by cumulative time\n")
        stats.sort_stats("cumulative").print_stats(28)


def main(argv: list[str] | None = None) -> int:
    parser = c.parser(__doc__)
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 7; 1 with --quick)")
    parser.add_argument("--seconds", type=float, help="seconds per load per round (default 4; 1 with --quick)")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk is there")
    parser.add_argument("--profile", action="store_true", help="profile GET and POST in process (cProfile)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 7)
    seconds = args.seconds or (1.0 if args.quick else 4.0)
    use_wrk = c.wrk_available() and not args.python_load
    load = c.wrk_load if use_wrk else c.python_load
    failures = c.Failures()

    print(c.machine_summary())
    print(
        "load generator: "
        + ("wrk (Debian), 1 thread, 2 connections" if use_wrk else "Python threads, 2 connections (wrk not installed)")
        + "; "
        f"{rounds} alternating round(s) of {seconds:g} s per load; gunicorn 1 sync worker each, --max-requests 0"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    extra = ["--max-requests", "0"]
    (workdir / "app").mkdir(parents=True)
    uri = f"sqlite:///{workdir / 'app' / 'pages.db'}"
    c.migrate_in_process(uri)
    app = c.BenchServer(workdir / "app", database_uri=uri, workers=1, gunicorn_args=extra, name="app", migrate=False)
    hello = c.BenchServer(
        workdir / "hello",
        app_module="bench.hello_app:app",
        workers=1,
        migrate=False,
        gunicorn_args=extra,
        name="hello",
        env={"HELLO_DATABASE": str(workdir / "hello.db")},
    )
    keys = ("hello", "write", "GET", "POST")
    rates: dict[str, list[float]] = {k: [] for k in keys}
    latency: dict[str, list[float]] = {k: [] for k in keys}
    per_cpu: dict[str, list[float]] = {k: [] for k in keys}  # requests per worker CPU second
    try:
        start_together(app, hello)
        cookie, body, _next = patient_session(app, failures)
        if failures.errors:
            return failures.exit_code()
        loads: dict[str, dict[str, Any]] = {
            "hello": {"url": hello.url("/"), "expect": 200},
            "write": {"url": hello.url("/save"), "expect": 302, "method": "POST", "body": "value=z"},
            "GET": {"url": app.url(f"/questions/{PAGE}"), "expect": 200, "cookie": cookie},
            "POST": {
                "url": app.url(f"/questions/{PAGE}"),
                "expect": 302,
                "cookie": cookie,
                "method": "POST",
                "body": body,
            },
        }
        if not args.quick:
            for spec in loads.values():  # warm-up, not recorded
                load(seconds=1, **spec)
        order = list(loads)
        owner = {"hello": hello, "write": hello, "GET": app, "POST": app}
        for i in range(rounds):
            for key in order if i % 2 == 0 else order[::-1]:
                cpu_before = owner[key].cpu_seconds()
                result = load(seconds=seconds, **loads[key])
                cpu = owner[key].cpu_seconds() - cpu_before
                rates[key].append(result.rps)
                per_cpu[key].append(result.requests / cpu if cpu > 0 else float("nan"))
                latency[key].append(result.latency_ms.get("p50", float("nan")))
                failures.check(
                    result.errors == 0 and result.requests > 0,
                    f"{key}: {result.bad} unexpected status(es) {result.statuses}, "
                    f"{result.socket_errors} socket error(s) in {result.requests} requests",
                )
            print(f"round {i + 1}: " + ", ".join(f"{k} {rates[k][-1]:,.0f}/s" for k in order), flush=True)
        problems = app.log_problems() + hello.log_problems()
        failures.check(not problems, f"server log shows {len(problems)} error line(s): {problems[:3]}")
        med = {k: c.median(v) for k, v in rates.items()}
        ratios = {k: med[k] / med["hello"] for k in ("GET", "POST")}
        per_round = {k: [a / b for a, b in zip(rates[k], rates["hello"])] for k in ("GET", "POST")}
        profiled = args.profile or (not args.quick and any(ratios[k] < TARGETS[k] for k in TARGETS))
        if profiled and not failures.errors:
            print(profile(app, cookie, body, 100 if args.quick else 400))
        cpu_med = {k: c.median(v) for k, v in per_cpu.items()}
        print("median requests per second (median p50 latency; requests per CPU second of the worker):")
        print(
            f"  plain Flask route        {med['hello']:>9,.0f}/s  ({c.median(latency['hello']):5.1f} ms; "
            f"{cpu_med['hello']:>7,.0f} per CPU s)"
        )
        print(
            f"  plain route that writes  {med['write']:>9,.0f}/s  ({c.median(latency['write']):5.1f} ms; "
            f"{cpu_med['write']:>7,.0f} per CPU s)"
        )
        print(
            f"  GET  /questions/{PAGE}   {med['GET']:>9,.0f}/s  ({c.median(latency['GET']):5.1f} ms; "
            f"{cpu_med['GET']:>7,.0f} per CPU s)"
        )
        print(
            f"  POST /questions/{PAGE}   {med['POST']:>9,.0f}/s  ({c.median(latency['POST']):5.1f} ms; "
            f"{cpu_med['POST']:>7,.0f} per CPU s)"
        )
        print(
            f"  by worker CPU time (insensitive to other load on the machine): GET/plain "
            f"{cpu_med['GET'] / cpu_med['hello']:.2f}, POST/plain {cpu_med['POST'] / cpu_med['hello']:.2f}"
        )
        write = med["write"] / med["hello"]
        print(
            f"ratio plain route that writes/plain route: {write:.2f} (by worker CPU time "
            f"{cpu_med['write'] / cpu_med['hello']:.2f}): the most a page that saves can reach"
        )
        for key in ("GET", "POST"):
            verdict = failures.target(ratios[key] >= TARGETS[key], f"pages {key} ratio")
            print(
                f"ratio page {key}/plain route: {ratios[key]:.2f} (per round {min(per_round[key]):.2f}-"
                f"{max(per_round[key]):.2f}; target >= {TARGETS[key]}: {verdict}; by worker CPU time "
                f"{cpu_med[key] / cpu_med['hello']:.2f})"
            )
        print(
            f"ratio page POST/plain route that writes: {med['POST'] / med['write']:.2f} (by worker CPU time "
            f"{cpu_med['POST'] / cpu_med['write']:.2f})"
        )
    except Exception as exc:  # noqa: BLE001 - any failure is an error of the run, reported loudly
        failures.error(f"{type(exc).__name__}: {exc}")
    finally:
        app.stop()
        hello.stop()
        if not failures.errors:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"server logs kept in {workdir}")
    return failures.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
