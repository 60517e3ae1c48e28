#!/usr/bin/env python3
"""Benchmark: time from process start to the first served request, against a plain Flask app.

    .venv/bin/python bench/bench_startup.py            # full run: 7 alternating starts of each
    .venv/bin/python bench/bench_startup.py --quick    # smoke run: 1 start of each, no import-only timing

gunicorn is started (production settings of questionnaire/gunicorn_conf.py, 2 sync workers as in
production, SQLite database migrated beforehand) and /healthz is polled every 10 ms over loopback;
the time is from just before the process is created to the first 200 answer. /healthz of the app
runs a query on the database, so the app's time includes its first database connection. The same
is measured for bench/hello_app.py on the same settings, alternately, and the time to import the
app and run create_app() in a fresh interpreter (most of the difference). Medians; the ratio
app/plain is printed last. No target in issue 9: the figure is for the record.
"""

from __future__ import annotations

import http.client
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

from tests.servers import server_environment  # noqa: E402

IMPORT_ONLY = """
import time
start = time.perf_counter()
from questionnaire import create_app
app = create_app()
print((time.perf_counter() - start) * 1000)
"""


def time_to_first_request(server: c.BenchServer, timeout: float = 90) -> float:
    """Seconds from Popen to the first 200 from /healthz; the server is stopped afterwards."""
    log = open(server.log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    env = server_environment(server.database_uri, server.extra_env)
    command = server.command()
    try:
        start = time.perf_counter()
        server.process = subprocess.Popen(
            command,
            cwd=c.ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
            try:
                conn = http.client.HTTPConnection(c.HOST, server.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"{server.name} did not answer within {timeout} s")
    finally:
        server.stop()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = c.parser(__doc__, targets=False)
    parser.add_argument("--rounds", type=int, help="alternating starts of each (default 7; 1 with --quick)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 7)
    failures = c.Failures()
    print(c.machine_summary())
    workdir = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    times: dict[str, list[float]] = {"app": [], "hello": [], "import": []}
    try:
        (workdir / "app").mkdir()
        uri = f"sqlite:///{workdir / 'app' / 'startup.db'}"
        c.migrate_in_process(uri)
        servers = {
            "app": c.BenchServer(workdir / "app", database_uri=uri, workers=2, migrate=False, name="app"),
            "hello": c.BenchServer(
                workdir / "hello", app_module="bench.hello_app:app", workers=2, migrate=False, name="hello"
            ),
        }
        env = server_environment(uri)
        for r in range(rounds):
            for name in ("app", "hello") if r % 2 == 0 else ("hello", "app"):
                times[name].append(time_to_first_request(servers[name]))
            if not args.quick:
                done = subprocess.run(
                    [sys.executable, "-c", IMPORT_ONLY],
                    cwd=c.ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                if failures.check(done.returncode == 0, f"import + create_app failed: {done.stderr[-500:]}"):
                    times["import"].append(float(done.stdout.strip().splitlines()[-1]) / 1000)
            print(f"round {r + 1}: app {times['app'][-1]:.2f} s, plain Flask {times['hello'][-1]:.2f} s", flush=True)
        for server in servers.values():
            problems = server.log_problems()
            failures.check(not problems, f"{server.name}: server log shows error line(s): {problems[:3]}")
    except Exception as exc:  # noqa: BLE001 - any failure is an error of the run, reported loudly
        failures.error(f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if times["app"] and times["hello"]:
        med = {k: statistics.median(v) for k, v in times.items() if v}
        print(f"process start to first served request (median of {rounds}, gunicorn 2 sync workers):")
        print(f"  questionnaire (wsgi:app)        {med['app']:.2f} s  (min {min(times['app']):.2f} s)")
        print(f"  plain Flask app                 {med['hello']:.2f} s  (min {min(times['hello']):.2f} s)")
        if "import" in med:
            print(f"  of which import + create_app() in a fresh interpreter: {med['import']:.2f} s")
        print(f"ratio start-up app/plain Flask: {med['app'] / med['hello']:.2f}")
    return failures.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
