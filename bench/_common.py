"""Shared pieces of the benchmark scripts: the machine, servers on loopback, load generators, timings.

Not a benchmark itself. Every server listens on 127.0.0.1 only; every load loop is bounded in
requests and in time; every server started here is stopped by its own process id.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers import HOST, LiveServer, ServiceMissing, fresh_postgres_database, shared_postgres_url  # noqa: E402

__all__ = [
    "BENCH",
    "HOST",
    "ROOT",
    "BenchServer",
    "Failures",
    "LoadResult",
    "ServiceMissing",
    "fresh_postgres_database",
    "machine_summary",
    "percentile",
    "postgres_or_none",
    "python_load",
    "shared_postgres_url",
    "wrk_load",
]


# --- the machine -----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_summary() -> str:
    """One line: date, CPU, cores, memory, load average, Python: printed first by every script."""
    try:
        mem_kb = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "? GiB"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M')} {platform.node() or 'host'}: {os.cpu_count()} cores "
        f"({_cpu_model()}), {mem}, load average {load}; Python {platform.python_version()}"
    )


# --- failures: a run that produced errors exits non-zero ----------------------------------------------


class Failures:
    """Errors seen during a run. Any error makes the script exit 1 (targets missed do not, unless --strict)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.missed: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)
        print(f"ERROR: {message}", flush=True)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.error(message)
        return ok

    def target(self, ok: bool, what: str) -> str:
        if not ok:
            self.missed.append(what)
        return "met" if ok else "MISSED"

    def exit_code(self, strict: bool = False) -> int:
        if self.errors:
            print(f"FAILED: {len(self.errors)} error(s); first: {self.errors[0]}", flush=True)
            return 1
        if strict and self.missed:
            print(f"FAILED (--strict): target(s) missed: {', '.join(self.missed)}", flush=True)
            return 1
        return 0


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by nearest rank; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(p / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- servers ---------------------------------------------------------------------------------------


class BenchServer(LiveServer):
    """tests/servers.py's LiveServer (production gunicorn settings from questionnaire/gunicorn_conf.py,
    loopback, bounded start and stop) for any WSGI module, with extra gunicorn arguments."""

    def __init__(
        self,
        workdir: Path,
        *,
        app_module: str = "wsgi:app",
        gunicorn_args: Sequence[str] = (),
        access_log: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(workdir, **kwargs)
        self.app_module = app_module
        self.gunicorn_args = list(gunicorn_args)
        self.access_log = access_log

    def command(self) -> list[str]:
        cmd = super().command()
        cmd[cmd.index("wsgi:app")] = self.app_module
        if not self.access_log:
            i = cmd.index("--access-logfile")
            del cmd[i : i + 2]
        return cmd + self.gunicorn_args

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children (read from /proc)."""
        if self.process is None:
            return []
        master = self.process.pid
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == master:
                pids.append(int(entry.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the workers so far (from /proc/PID/stat), in seconds."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15)
        return total

    def log_problems(self) -> list[str]:
        """Lines of the server log that show an error: tracebacks, 5xx responses, worker timeouts."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        bad = re.compile(r'Traceback|WORKER TIMEOUT|Worker \(pid:\d+\) was sent|" 5\d\d |"status": ?5\d\d')
        return [line for line in text.splitlines() if bad.search(line)]


def migrate_in_process(database_uri: str) -> None:
    """`flask db upgrade` (Alembic, the project's migrations) in this process: one interpreter start
    fewer than tests/servers.migrate(), which matters on a busy machine."""
    import contextlib
    import io
    import logging

    from flask_migrate import upgrade

    from questionnaire import create_app
    from tests.servers import app_config

    app = create_app(app_config(database_uri))
    with app.app_context(), contextlib.redirect_stderr(io.StringIO()):  # Alembic's INFO lines
        upgrade()
        from questionnaire.extensions import db

        db.engine.dispose()
    # Alembic's env.py runs logging.fileConfig, which disables the loggers that existed before.
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False


def postgres_or_none(failures: Failures, required: bool) -> str | None:
    """The PostgreSQL server to create databases on, or None (with a note) when it does not answer."""
    from sqlalchemy import create_engine, text

    from questionnaire.config import normalise_database_uri

    url = shared_postgres_url()
    try:
        engine = create_engine(normalise_database_uri(url), connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return url
    except Exception as exc:  # noqa: BLE001 - any failure means there is no server to use
        message = f"PostgreSQL at {url.split('@')[-1]} does not answer ({type(exc).__name__})"
        if required:
            failures.error(message)
        else:
            print(f"SKIPPED PostgreSQL: {message}", flush=True)
        return None


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    from questionnaire.config import normalise_database_uri

    engine = create_engine(normalise_database_uri(url))
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
    finally:
        engine.dispose()


# --- load generators -------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """One timed run of a load generator against one URL."""

    rps: float
    requests: int
    seconds: float
    bad: int = 0  # responses with another status than the expected one
    socket_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    tool: str = "wrk"

    @property
    def errors(self) -> int:
        return self.bad + self.socket_errors


WRK_SCRIPT = BENCH / "wrk_request.lua"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_load(
    url: str,
    *,
    seconds: float,
    expect: int,
    method: str = "GET",
    body: str = "",
    cookie: str = "",
    connections: int = 2,
    timeout_s: float = 10,
) -> LoadResult:
    """wrk (one thread) for `seconds` against url; every response's status is checked by the Lua script."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={int(timeout_s)}s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(expect),
        method,
        cookie,
        body,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr or out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s|m)\b", out)
    requests_done = int(total.group(1)) if total else 0
    good_bad = re.search(r"STATUS good=(\d+) bad=(\d+) statuses=(\S*)", out)
    statuses: dict[int, int] = {}
    if good_bad and good_bad.group(3):
        for pair in good_bad.group(3).split(","):
            if pair:
                code, n = pair.split(":")
                statuses[int(code)] = statuses.get(int(code), 0) + int(n)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in sock.groups()) if sock else 0
    latency = {}
    for p in ("50", "99"):
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found:
            value, unit = float(found.group(1)), found.group(2)
            latency[f"p{p}"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    bad = int(good_bad.group(2)) if good_bad else requests_done
    return LoadResult(rps, requests_done, seconds, bad, socket_errors, statuses, latency, "wrk")


def python_load(
    url: str,
    *,
    seconds: float,
    expect: int,
    method: str = "GET",
    body: str = "",
    cookie: str = "",
    connections: int = 2,
    max_requests: int = 200_000,
) -> LoadResult:
    """A bounded Python load generator (threads, one connection per request as gunicorn's sync worker
    closes them): used when wrk is not installed. Slower than wrk, so its ratios are lower bounds."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": parts.netloc, "Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    payload = body.encode() if body else None
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    counts = {"n": 0, "bad": 0, "sock": 0}
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if counts["n"] >= max_requests:
                    return
                counts["n"] += 1
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                conn.close()
            except OSError:
                with lock:
                    counts["sock"] += 1
                continue
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(elapsed)
                if status != expect:
                    counts["bad"] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 15)
    elapsed = time.monotonic() - started
    done = sum(statuses.values())
    return LoadResult(
        done / elapsed,
        done,
        elapsed,
        counts["bad"],
        counts["sock"],
        statuses,
        {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)},
        "python",
    )


# --- misc ------------------------------------------------------------------------------------------


@contextmanager
def timer() -> Iterator[list[float]]:
    """with timer() as t: ...; t[0] is the elapsed seconds afterwards."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def dump_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def parser(doc: str | None, *, targets: bool = True) -> argparse.ArgumentParser:
    """The command line every benchmark shares: --quick for a smoke run, --strict as run_all passes it."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a tiny smoke run")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a target is missed" if targets else "accepted for run_all; no target here",
    )
    return p
