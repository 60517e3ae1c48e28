"""Services failing under a running app (R13, R14 of the security bar), as the README documents:

- Redis down: patients still answer and send (patient limits fail open, nothing is lost); staff
  sign-in answers a clean 503 (sign-in limits never fail open); staff already signed in keep
  working; when Redis is back, sign-in works again without restarting the app.
- PostgreSQL restarted: requests meanwhile get a clean 503 page; the draft is kept; the pool
  reconnects by itself (pre-ping) with no app restart; sending works again.

Each test starts the service it breaks itself (a private redis-server, a private PostgreSQL cluster
in a temporary folder) and stops it by process id; the shared servers are never touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import unavailable
from ..helpers import PERSONAS, form_data
from ..servers import (
    STAFF_PASSWORD,
    HttpClient,
    LiveServer,
    PostgresCluster,
    RedisServer,
    Reply,
    ServiceMissing,
    add_staff,
    as_sent,
    expected_answers,
    fill_in,
    fresh_postgres_database,
    redis_answers,
    send_answers,
    staff_sign_in,
    submission_answers,
    wait_until,
)

# PostgreSQL and Redis by design, whatever the pass: run once, in the PostgreSQL pass.
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ANSWERS = PERSONAS["discuss_before_booking"]
# What must never reach a browser: a traceback, driver or SQL text, connection details.
LEAKS = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "psycopg",
    "OperationalError",
    "redis",
    "Redis",
    "ConnectionError",
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "127.0.0.1",
    "Werkzeug",
)


def assert_clean_unavailable(reply: Reply) -> None:
    """A 503 with the app's own page: no traceback, no SQL, no driver or connection details."""
    assert reply.status == 503, (reply, reply.text[:2000])
    # The generic page, or (for a patient's page) the page again with what was typed.
    assert "unavailable for a moment" in reply.text or "We could not save this page just now" in reply.text, reply.text[
        :2000
    ]
    leaked = [word for word in LEAKS if word in reply.text]
    assert not leaked, (leaked, reply.text[:2000])


def assert_no_server_errors(*clients: HttpClient) -> None:
    failed = [(r.method, r.url, r.status) for c in clients for r in c.history if r.status >= 500 and r.status != 503]
    assert not failed, failed


@pytest.fixture
def database() -> Iterator[str]:
    try:
        with fresh_postgres_database(prefix="oq_faults") as uri:
            yield uri
    except ServiceMissing as exc:
        unavailable(str(exc))


# --- R13: Redis down -------------------------------------------------------------------------------


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path / "redis").start()
    except ServiceMissing as exc:
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


def test_with_redis_down_patients_still_send_and_staff_sign_in_fails_closed(
    tmp_path: Path, database: str, redis: RedisServer
) -> None:
    app = LiveServer(
        tmp_path / "app",
        database_uri=database,
        name="app",
        env={"FLASK_RATELIMIT_ENABLED": "true", "FLASK_RATELIMIT_STORAGE_URI": redis.url()},
    )
    with app:
        master = app.process.pid if app.process else None
        add_staff(app, "desk@clinic.example", "late@clinic.example")
        staff = HttpClient(app)
        secret = staff_sign_in(staff, "desk@clinic.example")
        patient = HttpClient(app)
        fill_in(patient, ANSWERS, until="injection-site")
        assert redis_answers(redis.url())

        redis.kill()  # SIGKILL by process id: Redis is gone
        assert not redis_answers(redis.url())

        # Patients: the remaining pages and sending still work, and nothing is lost.
        for page in ("injection-site", "other", "contact"):
            assert patient.get(f"/questions/{page}").status == 200
            sent = patient.post(f"/questions/{page}", form_data(page, ANSWERS))
            assert sent.status == 302, (page, sent, sent.text[:1000])
        reference = send_answers(patient)
        assert as_sent(submission_answers(app, reference)) == expected_answers(ANSWERS)

        # Staff sign-in fails closed, with a clean page, however often it is tried.
        late = HttpClient(app)
        assert late.get("/staff/sign-in").status == 200
        for _ in range(3):
            refused = late.post("/staff/sign-in", {"email": "late@clinic.example", "password": STAFF_PASSWORD})
            assert_clean_unavailable(refused)
        ready = late.get("/readyz")
        assert ready.status == 503 and '"rate_limits":"unavailable"' in ready.text.replace(" ", "")
        assert late.get("/healthz").status == 200  # the instance itself is alive: keep it in the pool

        # Staff already signed in keep working: sessions live in PostgreSQL.
        queue = staff.get("/staff/")
        assert queue.status == 200 and reference in queue.text
        assert staff.get(f"/staff/submissions/{reference}").status == 200

        redis.start()  # back, on the same port
        assert wait_until(
            lambda: late.get("/readyz").status == 200, timeout=15, interval=0.2, what="/readyz after Redis came back"
        )
        # Sign-in works again without restarting the app (a few times: either worker may answer).
        for _ in range(2):
            password_step = late.post("/staff/sign-in", {"email": "late@clinic.example", "password": STAFF_PASSWORD})
            assert password_step.status == 302, (password_step, password_step.text[:1000])
        staff_sign_in(late, "late@clinic.example")
        staff_sign_in(staff, "desk@clinic.example", secret=secret)
        assert app.process is not None and app.process.pid == master and app.running
        assert_no_server_errors(staff, patient, late)


# --- R14: PostgreSQL restarted -----------------------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    try:
        server = PostgresCluster()
    except ServiceMissing as exc:
        unavailable(str(exc))
    try:
        yield server.init().start()
    finally:
        server.destroy()


class Traffic:
    """Another patient reading pages in a loop, in a thread, until stopped: what happened to
    requests in flight while the database went away and came back."""

    def __init__(self, server: LiveServer) -> None:
        self.client = HttpClient(server, timeout=15)
        fill_in(self.client, ANSWERS, until="heart")
        self.replies: list[tuple[float, Reply]] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and len(self.replies) < 2000:
                self.replies.append((time.monotonic(), self.client.get("/questions/heart")))
                time.sleep(0.02)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def since(self, moment: float) -> list[Reply]:
        return [reply for at, reply in self.replies if at >= moment]


def test_a_postgresql_restart_fails_requests_cleanly_and_the_app_recovers_by_itself(
    tmp_path: Path, cluster: PostgresCluster
) -> None:
    app = LiveServer(tmp_path / "app", database_uri=cluster.create_database("questionnaire"), name="app")
    with app:
        master = app.process.pid if app.process else None
        patient = HttpClient(app)
        fill_in(patient, ANSWERS)  # every page; only the declaration is left
        check = patient.get("/check-answers")
        assert check.status == 200 and "warfarin" in check.text
        with Traffic(app) as traffic:
            wait_until(lambda: len(traffic.replies) >= 3, timeout=20, what="traffic")
            cluster.stop()  # SIGINT by process id: a fast shutdown
            down = time.monotonic()
            assert not cluster.answers()
            assert_clean_unavailable(patient.get("/check-answers"))
            assert_clean_unavailable(patient.post("/check-answers", {"declaration": "yes"}))
            assert_clean_unavailable(patient.post("/questions/contact", form_data("contact", ANSWERS)))
            assert_clean_unavailable(patient.get("/"))
            health = patient.get("/healthz")
            assert health.status == 503 and "Traceback" not in health.text
            wait_until(lambda: len(traffic.since(down)) >= 3, timeout=20, what="traffic while down")

            cluster.start()  # the same data, the same port
            up = time.monotonic()
            wait_until(lambda: len(traffic.since(up)) >= 5, timeout=30, what="traffic after the restart")
        assert traffic.error is None, traffic.error
        for _at, reply in traffic.replies:  # in flight: the page, or the clean 503 page
            if reply.status != 200:
                assert_clean_unavailable(reply)
        assert any(r.status == 503 for r in traffic.since(down)), "the outage was never seen"
        assert all(r.status == 200 for r in traffic.since(up)), [r.status for r in traffic.since(up)]

        # Recovered without a restart: the draft is there, with the earlier answers; sending works.
        for _ in range(4):  # every worker's pool reconnects by itself
            assert patient.get("/healthz").status == 200
        check = patient.get("/check-answers")
        assert check.status == 200 and "warfarin" in check.text and "Left knee" in check.text
        reference = send_answers(patient)
        assert as_sent(submission_answers(app, reference)) == expected_answers(ANSWERS)
        assert app.process is not None and app.process.pid == master and app.running
        log = app.log_path.read_text(encoding="utf-8", errors="replace")
        assert "[ERROR]" not in log and '"level":"ERROR"' not in log  # no exception escaped the app


def test_a_connection_lost_after_the_last_query_does_not_turn_the_answer_into_a_500(database: str) -> None:
    """The database goes away between a request's last query and its end (the session's ROLLBACK
    at teardown fails): the response stands, and the next request on the same worker works."""
    from flask import Flask
    from sqlalchemy import create_engine, text

    from questionnaire import create_app
    from questionnaire.config import normalise_database_uri
    from questionnaire.extensions import db

    from ..conftest import test_settings

    app: Flask = create_app(test_settings(database, PROPAGATE_EXCEPTIONS=False))
    admin = create_engine(normalise_database_uri(database), isolation_level="AUTOCOMMIT")

    @app.get("/test-connection-lost")
    def connection_lost() -> str:
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as conn:  # as a restart would: the server ends this connection
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        def ended() -> bool:
            with admin.connect() as conn:
                return (
                    conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first() is None
                )

        wait_until(ended, timeout=10, what="the backend to end")
        return "answered"

    try:
        client = app.test_client()
        reply = client.get("/test-connection-lost")
        assert (reply.status_code, reply.get_data(as_text=True)) == (200, "answered")
        assert client.get("/healthz").status_code == 200  # the pool replaced the lost connection
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        admin.dispose()
