"""Run the app for real: gunicorn from the venv, on a loopback port, in a subprocess.

    server = LiveServer(tmp_path)           # SQLite file in tmp_path, a free port, 2 workers
    server.start()                          # flask db upgrade, then gunicorn, then wait for /healthz
    ... server.url("/questions/urgent") ...
    server.restart()                        # SIGTERM, wait, start again: same port, database, key
    server.stop()

Two servers can share one database (multi-instance tests):

    first = LiveServer(tmp_path / "a", database_uri=uri)
    second = LiveServer(tmp_path / "b", database_uri=uri, migrate=False)

Everything is bounded in time: a server that does not come up, or does not stop, is killed and
the error carries the end of its log. Only loopback addresses are used.
"""

from __future__ import annotations

import glob
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"

TEST_SECRET_KEY = "live-server-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
# Fixed encryption keys, so that a restarted server, a second instance and the test process
# itself (through app_config()) all read what another one stored.
TEST_ENCRYPTION_KEYS = {"live1": "bGl2ZS1zZXJ2ZXItdGVzdC1rZXktMzItYnl0ZXMhISE="}
TEST_SETTINGS: dict[str, str] = {
    "FLASK_SECRET_KEY": TEST_SECRET_KEY,
    "FLASK_CLINIC_NAME": "Test Clinic",
    "FLASK_CLINIC_PHONE": "0161 496 0000",
    "FLASK_BOOKING_URL": "https://booking.example.test/book",
    # The live pages carry the regulatory notice, so the browser checks (axe, layout) cover it too.
    "FLASK_REGULATORY_MARKET": "US",
    "FLASK_RATELIMIT_ENABLED": "false",
    "FLASK_ENCRYPTION_KEYS": json.dumps(TEST_ENCRYPTION_KEYS),
    "FLASK_ENCRYPTION_KEY_ID": "live1",
}
# The production gunicorn settings, when the project has them; the command line overrides them.
GUNICORN_CONF = ROOT / "questionnaire" / "gunicorn_conf.py"


class ServerError(RuntimeError):
    """The server (or its migration) failed, did not come up or did not stop in time."""


def venv_tool(name: str) -> str:
    """A console script of the project's venv (falling back to the running interpreter's bin)."""
    for folder in (VENV_BIN, Path(sys.executable).parent):
        if (folder / name).exists():
            return str(folder / name)
    raise ServerError(f"{name} is not installed in {VENV_BIN}: run `make install`")


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def sqlite_uri(folder: Path, name: str = "live.db") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / name}"


@contextmanager
def fresh_database(folder: Path, base_url: str | None = None) -> Iterator[str]:
    """A new, empty database for servers: a SQLite file in `folder`, or with `base_url` (for example
    TEST_DATABASE_URL) a new PostgreSQL database on that server, dropped afterwards.

    Several servers may share it (multi-instance tests); migrate it once (the first LiveServer).
    ServiceMissing (below) when the PostgreSQL server does not answer.
    """
    if not base_url:
        yield sqlite_uri(folder)
        return
    with fresh_postgres_database(base_url) as uri:
        yield uri


def server_environment(database_uri: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without any FLASK_ setting or DATABASE_URL, plus the test settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLASK_") and k not in ("DATABASE_URL", "PYTHONWARNINGS")
    }
    env.update(TEST_SETTINGS)
    env["FLASK_SQLALCHEMY_DATABASE_URI"] = database_uri
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def app_config(database_uri: str, extra: Mapping[str, str] | None = None) -> dict[str, object]:
    """The settings a server gets, as a create_app() test_config: to read what it stored in-process."""
    config: dict[str, object] = {}
    for key, raw in {**TEST_SETTINGS, **(extra or {})}.items():
        if key.startswith("FLASK_"):
            try:  # as Flask's from_prefixed_env() reads them
                config[key[len("FLASK_") :]] = json.loads(raw)
            except json.JSONDecodeError:
                config[key[len("FLASK_") :]] = raw
    config["SQLALCHEMY_DATABASE_URI"] = database_uri
    return config


def migrate(database_uri: str, log_path: Path, extra_env: Mapping[str, str] | None = None, timeout: float = 60) -> None:
    """`flask --app wsgi db upgrade` on this database; ServerError with the output if it fails."""
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n=== {time.strftime('%H:%M:%S')} flask db upgrade\n")
        log.flush()
        try:
            done = subprocess.run(
                [venv_tool("flask"), "--app", "wsgi", "db", "upgrade"],
                cwd=ROOT,
                env=server_environment(database_uri, extra_env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServerError(f"flask db upgrade took more than {timeout} s; see {log_path}") from exc
    if done.returncode != 0:
        raise ServerError(f"flask db upgrade failed with exit code {done.returncode}:\n{tail(log_path)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


class LiveServer:
    """gunicorn serving wsgi:app on 127.0.0.1:<port>, restartable on the same port and database."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_uri: str | None = None,
        port: int | None = None,
        workers: int = 2,
        threads: int = 1,
        env: Mapping[str, str] | None = None,
        migrate: bool = True,
        start_timeout: float = 30,
        stop_timeout: float = 15,
        name: str = "server",
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database_uri = database_uri or sqlite_uri(self.workdir)
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.extra_env = dict(env or {})
        self.needs_migration = migrate
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.name = name
        self.log_path = self.workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None
        self.starts = 0

    # --- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def app_config(self) -> dict[str, object]:
        """create_app(server.app_config()) reads and writes the same database with the same keys."""
        return app_config(self.database_uri, self.extra_env)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- life cycle --------------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [venv_tool("gunicorn"), "wsgi:app"]
        if GUNICORN_CONF.exists():
            cmd += ["--config", "python:questionnaire.gunicorn_conf"]
        cmd += [
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
            "--log-level",
            "info",
        ]
        if self.threads > 1:
            cmd += ["--worker-class", "gthread", "--threads", str(self.threads)]
        return cmd

    def start(self) -> LiveServer:
        """Migrate (first start only), start gunicorn and wait until /healthz answers 200."""
        if self.running:
            raise ServerError(f"{self.name} is already running on {self.base_url}")
        if self.needs_migration:
            migrate(self.database_uri, self.log_path, self.extra_env, timeout=self.start_timeout * 2)
            self.needs_migration = False
        self._wait_for_port_free()
        self._log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._log.write(f"\n=== {time.strftime('%H:%M:%S')} start {' '.join(self.command())}\n")
        self._log.flush()
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=server_environment(self.database_uri, self.extra_env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # its own process group: stop() can end the workers too
        self.starts += 1
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM the master (graceful), wait; kill its process group if it does not stop in time."""
        process, self.process = self.process, None
        try:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self._kill_group(process)
                    process.wait(timeout=5)
        finally:
            if self._log is not None:
                self._log.write(f"=== {time.strftime('%H:%M:%S')} stopped\n")
                self._log.close()
                self._log = None

    def restart(self) -> LiveServer:
        """Stop, then start again on the same port, database, secret key and settings."""
        self.stop()
        return self.start()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _wait_for_port_free(self) -> None:
        deadline = time.monotonic() + self.stop_timeout
        while not port_is_free(self.port):
            if time.monotonic() > deadline:
                raise ServerError(f"port {self.port} is still in use; cannot start {self.name}")
            time.sleep(0.1)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {self.process.returncode} before it was "
                    f"healthy:\n{tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                exc.close()
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise ServerError(
            f"{self.name} was not healthy on {self.base_url} within {self.start_timeout} s "
            f"({last}):\n{tail(self.log_path)}"
        )

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveServer {self.name} {self.base_url} {state} db={self.database_uri}>"


def start_together(*servers: LiveServer) -> None:
    """Start several servers at once (each waits for its own /healthz); all stopped if one fails."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        futures = [pool.submit(server.start) for server in servers]
        errors = [f.exception() for f in futures]
    failed = [e for e in errors if e is not None]
    if failed:
        for server in servers:
            server.stop()
        raise failed[0]


def run_flask(
    server: LiveServer, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`flask --app wsgi ARGS` with exactly the settings (database, keys) this server runs with."""
    try:
        done = subprocess.run(
            [venv_tool("flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=server_environment(server.database_uri, server.extra_env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"flask {' '.join(args)} took more than {timeout} s") from exc
    if done.returncode != 0:
        raise ServerError(
            f"flask {' '.join(args)} failed with exit code {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done


def wait_until(predicate: Any, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    """Call predicate() until it returns something true; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


# --- an HTTP client like a browser without JavaScript ------------------------------------------

TOKEN_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Reply:
    """One HTTP response, read completely."""

    method: str
    url: str
    status: int
    headers: Message = field(repr=False)
    text: str = field(repr=False)
    server: LiveServer | None = field(default=None, repr=False)

    @property
    def location(self) -> str:
        """The redirect target as a local path and query ('' when there is none)."""
        parts = urllib.parse.urlsplit(self.headers.get("Location") or "")
        return parts.path + (f"?{parts.query}" if parts.query else "")


class _HandBack(urllib.request.HTTPErrorProcessor):
    """Hand every response back as it is: no redirect followed, no exception for 4xx or 5xx."""

    def http_response(self, request: urllib.request.Request, response: Any) -> Any:
        return response

    https_response = http_response


class HttpClient:
    """One browser over loopback: one cookie jar (shared by every port, as a browser shares it
    by host), no redirects followed, the newest CSRF token on any page remembered. Requests go to
    the given servers in turn, or to the one named by `on=` (a LiveServer or an index).

        client = HttpClient(a, b, forwarded_for="203.0.113.7")   # as seen through one proxy
        client.get("/")              # on a
        client.post("/start")        # on b, with the token from the page a rendered
    """

    def __init__(self, *servers: LiveServer, forwarded_for: str | None = None, timeout: float = 20) -> None:
        self.servers = list(servers)
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar), _HandBack()
        )
        self.forwarded_for = forwarded_for
        self.timeout = timeout
        self.token = ""
        self.turn = 0
        self.history: list[Reply] = []

    def server(self, on: LiveServer | int | None = None) -> LiveServer:
        if isinstance(on, LiveServer):
            return on
        if isinstance(on, int):
            return self.servers[on]
        chosen = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        return chosen

    def request(
        self, method: str, path: str, data: Mapping[str, Any] | None = None, on: LiveServer | int | None = None
    ) -> Reply:
        server = self.server(on)
        headers = {"Accept-Language": "en"}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(server.url(path), data=body, method=method, headers=headers)
        with self.opener.open(req, timeout=self.timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
            reply = Reply(method, req.full_url, response.status, response.headers, text, server)
        found = TOKEN_FIELD.search(text)
        if found:
            self.token = found.group(1)
        self.history.append(reply)
        return reply

    def get(self, path: str, on: LiveServer | int | None = None) -> Reply:
        return self.request("GET", path, on=on)

    def post(
        self, path: str, data: Mapping[str, Any] | None = None, on: LiveServer | int | None = None, token: bool = True
    ) -> Reply:
        payload = dict(data or {})
        if token:
            payload.setdefault("csrf_token", self.token)
        return self.request("POST", path, payload, on=on)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


# --- services a test starts, stops and restarts itself -------------------------------------------


class ServiceMissing(RuntimeError):
    """A service or program the test needs is not on this machine (the test is skipped, or fails in CI)."""


SHARED_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


def shared_postgres_url() -> str:
    """The PostgreSQL server to make throw-away databases on: TEST_DATABASE_URL, else the local one."""
    return os.environ.get("TEST_DATABASE_URL") or SHARED_POSTGRES_URL


def shared_redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or SHARED_REDIS_URL


@contextmanager
def fresh_postgres_database(server_url: str | None = None, prefix: str = "oq_live") -> Iterator[str]:
    """A new, empty database on a PostgreSQL server, dropped afterwards; ServiceMissing if unreachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from questionnaire.config import normalise_database_uri

    admin = make_url(normalise_database_uri(server_url or shared_postgres_url()))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the server is not there
        engine.dispose()
        raise ServiceMissing(
            f"PostgreSQL at {admin.render_as_string(hide_password=True)} is not reachable: {exc}"
        ) from exc
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers PING at this redis:// URL."""
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or 6379), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def delete_redis_keys(url: str, pattern: str) -> int:
    """Delete the keys matching a pattern (a test's own key prefix) on a Redis server."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=pattern, count=500))
        deleted: Any = client.delete(*keys) if keys else 0
        return int(deleted)
    finally:
        client.close()


class RedisServer:
    """A private redis-server on a free loopback port, without persistence, stopped by process id.

    redis = RedisServer(tmp_path).start()
    ... redis.url() ...
    redis.kill()        # SIGKILL by pid: Redis is gone
    redis.start()       # again, on the same port
    """

    def __init__(self, workdir: Path, port: int | None = None, start_timeout: float = 15) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.log_path = self.workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceMissing("redis-server is not installed")
        deadline = time.monotonic() + self.start_timeout
        while not port_is_free(self.port):
            if time.monotonic() > deadline:
                raise ServerError(f"port {self.port} is still in use; cannot start redis-server")
            time.sleep(0.1)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    HOST,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while not redis_answers(self.url(), timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"redis-server did not answer on port {self.port}:\n{tail(self.log_path)}")
            time.sleep(0.05)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop it by its process id (SIGKILL: gone at once, as in a crash) and wait for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def postgres_tool(name: str) -> str | None:
    """A PostgreSQL server program (initdb, postgres): on PATH, else the newest /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> int:
        part = Path(path).parts[-3]
        return int(part) if part.isdigit() else 0

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True)
    return candidates[0] if candidates else None


class PostgresCluster:
    """A private PostgreSQL server in its own temporary data folder on a free loopback port, so that
    a test can stop and restart "the database" (by process id) without touching the shared server.
    Run as the `postgres` user when the tests run as root (initdb and postgres refuse root).

        cluster = PostgresCluster().init().start()
        uri = cluster.create_database("app")
        cluster.stop()          # SIGINT: a fast shutdown, as in a restart
        cluster.start()
        cluster.destroy()       # stop and remove the data folder
    """

    def __init__(self, port: int | None = None, start_timeout: float = 30) -> None:
        self.initdb, self.postgres = postgres_tool("initdb"), postgres_tool("postgres")
        if self.initdb is None or self.postgres is None:
            raise ServiceMissing("the PostgreSQL server programs (initdb, postgres) are not installed")
        self.user: str | None = None
        owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            import pwd

            try:
                entry = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ServiceMissing("running as root, and there is no postgres user to run PostgreSQL as") from exc
            self.user, owner = "postgres", (entry.pw_uid, entry.pw_gid)
        self.port = port or free_port()
        self.start_timeout = start_timeout
        # Not under pytest's tmp_path: that is private to the user running the tests.
        self.folder = Path(tempfile.mkdtemp(prefix="oq-pg-"))
        if owner is not None:
            os.chown(self.folder, *owner)
        self.data = self.folder / "data"
        self.log_path = self.folder / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _as_owner(self) -> dict[str, Any]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        options: dict[str, Any] = {"cwd": self.folder, "env": env, "stdin": subprocess.DEVNULL}
        if self.user is not None:
            options.update(user=self.user, group=self.user, extra_groups=[])
        return options

    def init(self) -> PostgresCluster:
        assert self.initdb is not None
        with open(self.log_path, "ab") as log:
            done = subprocess.run(
                [
                    self.initdb,
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
                **self._as_owner(),
            )
        if done.returncode != 0:
            raise ServerError(f"initdb failed with exit code {done.returncode}:\n{tail(self.log_path)}")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{database}"

    def _connect(self, database: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host=HOST, port=self.port, user="postgres", dbname=database, autocommit=True, connect_timeout=3
        )

    def answers(self) -> bool:
        try:
            with self._connect() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - starting up, shutting down or not there
            return False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> PostgresCluster:
        assert self.postgres is not None
        deadline = time.monotonic() + self.start_timeout
        while not port_is_free(self.port):
            if time.monotonic() > deadline:
                raise ServerError(f"port {self.port} is still in use; cannot start PostgreSQL")
            time.sleep(0.1)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    self.postgres,
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    f"listen_addresses={HOST}",
                    "-c",
                    f"unix_socket_directories={self.folder}",
                    "-c",
                    "max_connections=40",
                    "-c",
                    "shared_buffers=16MB",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._as_owner(),
            )
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"PostgreSQL did not come up on port {self.port}:\n{tail(self.log_path)}")
            time.sleep(0.1)
        return self

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> None:
        """SIGINT by process id: a fast shutdown (sessions are ended, as in a restart); then wait."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGQUIT)  # immediate shutdown
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def create_database(self, name: str) -> str:
        from psycopg import sql

        with self._connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the patient form and staff sign-in over HTTP ---------------------------------------------

STAFF_PASSWORD = "correct horse battery staple 42"
REFERENCE = re.compile(r'class="reference">([^<]+)<')
OTP_SECRET = re.compile(r'data-testid="otp-secret">([A-Z2-7]+)<')
_USED_OTP_STEPS: dict[str, int] = {}


def fill_in(
    client: HttpClient, answers: Mapping[str, Any], *, until: str | None = None, get_pages: bool = True
) -> list[str]:
    """Start a form and answer each page shown for these answers, in order, stopping before `until`
    (or at the declaration). Each page is fetched, then sent (so with two servers in turn, one renders
    the form and the other takes it); get_pages=False sends every page with the first page's token."""
    from questionnaire.core import flow
    from questionnaire.core.definition import QUESTIONNAIRE
    from questionnaire.core.questions import Page

    from .helpers import form_data

    client.get("/")
    started = client.post("/start", token=False)  # beginning or continuing needs no token
    assert started.status == 302, (started, started.text[:1000])
    if not get_pages:
        client.get(started.location)
    page: Page | None = QUESTIONNAIRE.pages[0]
    answered: list[str] = []
    while page is not None and page.id not in ("declaration", until):
        url = f"/questions/{page.id}"
        if len(answered) % 2 == 1:
            client.turn += 1  # with two servers: a renders and b takes one page, then the other way round
        if get_pages:
            shown = client.get(url)
            assert shown.status == 200, (shown, shown.text[:1000])
        sent = client.post(url, form_data(page.id, dict(answers)))
        following = flow.next_page(page.id, dict(answers))
        expected = (
            "/check-answers" if following is None or following.id == "declaration" else f"/questions/{following.id}"
        )
        assert (sent.status, sent.location) == (302, expected), (page.id, sent, sent.text[:1000])
        answered.append(page.id)
        page = following
    return answered


def send_answers(client: HttpClient) -> str:
    """Check your answers, send them, and return the reference number the patient is shown."""
    check = client.get("/check-answers")
    assert check.status == 200, (check, check.text[:1000])
    sent = client.post("/check-answers", {"declaration": "yes"})
    assert (sent.status, sent.location) == (302, "/sent"), (sent, sent.text[:1000])
    outcome = client.get("/sent")
    found = REFERENCE.search(outcome.text)
    assert outcome.status == 200 and found, (outcome, outcome.text[:1000])
    return found.group(1)


def fresh_otp_code(secret: str) -> str:
    """A one-time code the server accepts now and has not seen (each time step is accepted once)."""
    import pyotp

    totp = pyotp.TOTP(secret)

    def unused_step() -> int | None:
        # This step or the next, never the previous: the server accepts one step either side of
        # its own clock, which may pass a step boundary before the code arrives.
        now = int(time.time()) // 30
        last = _USED_OTP_STEPS.get(secret, -1)
        return next((step for step in (now, now + 1) if step > last), None)

    step = wait_until(unused_step, timeout=65, interval=0.5, what="an unused one-time code step")
    _USED_OTP_STEPS[secret] = step
    return str(totp.at(step * 30))


def staff_sign_in(client: HttpClient, email: str, password: str = STAFF_PASSWORD, secret: str | None = None) -> str:
    """Sign in over HTTP: password, then a one-time code (set up on /staff/enrol at the first
    sign-in). Returns the account's code secret, needed for later sign-ins."""
    client.get("/staff/sign-in")
    first = client.post("/staff/sign-in", {"email": email, "password": password})
    assert first.status == 302, (first, first.text[:1000])
    step_url = first.location
    page = client.get(step_url)
    assert page.status == 200, (page, page.text[:1000])
    if step_url.startswith("/staff/enrol"):
        found = OTP_SECRET.search(page.text)
        assert found, page.text[:1000]
        secret = found.group(1)
    assert secret, "this account has set up its code already: pass its secret"
    done = client.post(step_url, {"code": fresh_otp_code(secret)})
    assert done.status == 302 and done.location.startswith("/staff/"), (done, done.text[:1000])
    return secret


def create_staff_account(
    server: LiveServer, email: str, role: str = "front_desk", password: str = STAFF_PASSWORD
) -> None:
    """`flask staff create EMAIL --role ROLE --password-stdin` with the server's settings."""
    run_flask(server, "staff", "create", email, "--role", role, "--password-stdin", stdin=password + "\n")


@contextmanager
def in_process(server: LiveServer) -> Iterator[Any]:
    """An app context in the test process on the server's database, with its keys: yields `db`, to
    read what the server stored (decrypted) or to add rows directly."""
    from questionnaire import create_app
    from questionnaire.extensions import db

    config = server.app_config()
    # No rate limits in here: nothing to count, and the shared Limiter keeps some settings (its key
    # prefix) from the first app that sets them.
    config.update(RATELIMIT_ENABLED=False, RATELIMIT_STORAGE_URI="memory://")
    config.pop("RATELIMIT_KEY_PREFIX", None)
    app = create_app(config)
    try:
        with app.app_context():
            yield db
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def submission_answers(server: LiveServer, reference: str) -> dict[str, Any]:
    """The answers of one submission, decrypted with the server's keys."""
    from sqlalchemy import select

    from questionnaire.data.models import Submission

    with in_process(server) as db:
        sub = db.session.scalar(select(Submission).where(Submission.reference == reference))
        assert sub is not None, f"no submission {reference}"
        return dict(sub.answers)


def expected_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """What a submission holds after this patient answered every shown page and the declaration
    (numbers as the form sends them: compare with as_sent())."""
    from questionnaire.core import flow

    return as_sent({**flow.visible_answers(dict(answers)), "declaration": "yes"})


def as_sent(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in answers.items()}


def add_staff(server: LiveServer, *emails: str, role: str = "front_desk", password: str = STAFF_PASSWORD) -> None:
    """Accounts as `flask staff create` makes them (one-time code not set up yet), without a
    process each; create_staff_account() is the command itself."""
    from questionnaire.data import store
    from questionnaire.web import auth

    with in_process(server):
        for email in emails:
            store.create_staff(email, role, auth.hash_password(password))
