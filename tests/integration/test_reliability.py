"""Reliability scenarios of security-bar.md section 7 against gunicorn with two workers on loopback:
R1 double submit in flight, R3 re-post after sending, R5 skip ahead, R9 crash during the final
write, R10 concurrent status changes, R11 a burst of submissions, R15 oversized bodies and floods,
R16 a sign-in flood next to patients, and two pages of one patient saved at once on two instances.
On SQLite, or on PostgreSQL with TEST_DATABASE_URL (the PostgreSQL run of scripts/test).
Every loop is bounded by count and time.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Text, func, select, text, type_coerce

from questionnaire import create_app
from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.data.models import AuditEvent, Draft, Submission
from questionnaire.extensions import db

from ..conftest import unavailable
from ..helpers import NO_FLAGS, PERSONAS, form_data
from ..live_client import HttpClient, Reply, reach_check_answers, staff_sign_in
from ..servers import LiveServer, ServiceMissing, fresh_database
from ..staff_helpers import make_staff

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with fresh_database(tmp_path_factory.mktemp("reliability-db"), os.environ.get("TEST_DATABASE_URL")) as uri:
            yield uri
    except ServiceMissing as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("reliability"), database_uri=database, workers=2, name="reliability")
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def app(server: LiveServer) -> Flask:
    """The same database and keys as the server, to read what it stored."""
    return create_app(server.app_config())


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        n = int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
        db.session.remove()
        return n


def raw_submission(app: Flask, reference: str) -> tuple[Any, ...]:
    with app.app_context():
        row = db.session.execute(
            select(type_coerce(Submission.answers, Text), Submission.version, Submission.status).where(
                Submission.reference == reference
            )
        ).one()
        db.session.remove()
        return tuple(row)


def draft_of(app: Flask, token_hash: str) -> Any:
    with app.app_context():
        draft = db.session.scalar(select(Draft).where(Draft.token_hash == token_hash))
        if draft is not None:
            db.session.expunge(draft)
        db.session.remove()
        return draft


def reference_on(page: Reply) -> str:
    import re

    found = re.search(r"\b([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})\b", page.body)
    assert found, page.body[:2000]
    return found.group(1)


def quick_patient(server: LiveServer, answers: dict[str, Any] = NO_FLAGS) -> HttpClient:
    """A patient at "check your answers": POSTs only, with the session's one CSRF token."""
    client = HttpClient(server.base_url)
    client.get("/")
    started = client.post("/start")
    assert started.status == 302
    client.get(started.path)  # a new draft is a new session: its token is on the first page
    page = QUESTIONNAIRE.pages[0]
    while page is not None and page.id != "declaration":
        reply = client.post(f"/questions/{page.id}", form_data(page.id, answers))
        assert reply.status == 302, (page.id, reply.status, reply.body[:500])
        page = flow.next_page(page.id, answers)
    return client


def clone(client: HttpClient) -> HttpClient:
    twin = HttpClient(f"http://{client.host}:{client.port}")
    twin.cookies = dict(client.cookies)
    twin.token = client.token
    return twin


# --- R1, R3, R5 --------------------------------------------------------------------------------------


def test_r1_a_double_send_in_flight_makes_one_submission(server: LiveServer, app: Flask) -> None:
    before = count(app, Submission)
    deadline = time.monotonic() + 60
    rounds = 0
    for _ in range(20):
        patient = quick_patient(server)
        twins = [clone(patient), clone(patient)]
        barrier = threading.Barrier(2)

        def send(client: HttpClient) -> Reply:
            barrier.wait(timeout=10)
            return client.post("/check-answers", {"declaration": "yes"})

        with ThreadPoolExecutor(max_workers=2) as pool:
            replies = list(pool.map(send, twins))
        assert [r.status for r in replies] == [302, 302], [(r.status, r.body[:300]) for r in replies]
        assert {r.path for r in replies} == {"/sent"}
        # Both requests came from one browser, which keeps the cookies both replies set: the renewed
        # draft token of the one that sent (the twin's reply sets none, or the same session).
        browser = clone(patient)
        for reply in replies:
            browser.take_cookies(reply)
        assert sum(1 for reply in replies if reply.set_cookies) == 1
        assert reference_on(browser.get("/sent"))
        # A copy of the cookie from before sending (a planted one) follows the redirect to nothing.
        assert patient.get("/sent").status == 302
        rounds += 1
        assert count(app, Submission) == before + rounds
        if time.monotonic() > deadline:
            break
    assert rounds >= 10


def test_r3_re_posting_an_earlier_page_after_sending_changes_nothing(server: LiveServer, app: Flask) -> None:
    patient = quick_patient(server)
    sent = patient.post("/check-answers", {"declaration": "yes"})
    assert sent.status == 302
    reference = reference_on(patient.get("/sent"))
    stored = raw_submission(app, reference)
    changed = {**NO_FLAGS, "blood_thinner": "yes"}
    again = patient.post("/questions/blood", form_data("blood", changed))
    assert again.status == 409 and reference in again.body
    resend = patient.post("/check-answers", {"declaration": "yes"})
    assert resend.status == 302 and resend.path == "/sent"
    assert raw_submission(app, reference) == stored
    assert count(app, Submission, Submission.reference == reference) == 1


def test_r5_skipping_ahead_stores_no_finished_page_and_cannot_send(server: LiveServer, app: Flask) -> None:
    before = count(app, Submission)
    patient = HttpClient(server.base_url)
    patient.get("/")
    assert patient.post("/start").status == 302
    ahead = patient.get("/questions/contact")
    assert ahead.status == 302 and ahead.path == "/questions/urgent"
    forged = patient.post("/questions/contact", form_data("contact", NO_FLAGS))
    assert forged.status == 302 and forged.path == "/questions/urgent"
    check = patient.get("/check-answers")
    assert check.status == 302 and check.path == "/questions/urgent"
    send = patient.post("/check-answers", {"declaration": "yes"})
    assert send.status == 302 and send.path == "/questions/urgent"
    assert count(app, Submission) == before
    with app.app_context():
        drafts = db.session.scalars(select(Draft).order_by(Draft.id.desc()).limit(1)).all()
        assert "contact" not in (drafts[0].done_pages or [])
        db.session.remove()


# --- two pages of one patient saved at the same moment, on two instances --------------------------------


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory, server: LiveServer, database: str) -> Iterator[LiveServer]:
    """Another instance on the same database and keys (the first one migrated it)."""
    live = LiveServer(
        tmp_path_factory.mktemp("reliability-b"), database_uri=database, workers=1, name="reliability-b", migrate=False
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def on(client: HttpClient, other: LiveServer) -> HttpClient:
    """The same browser (cookies, form token), talking to another instance, as behind a balancer."""
    twin = HttpClient(other.base_url)
    twin.cookies = dict(client.cookies)
    twin.token = client.token
    return twin


def test_two_pages_saved_at_the_same_moment_on_two_instances_both_keep_their_answers(
    server: LiveServer, second: LiveServer
) -> None:
    patient = quick_patient(server)
    tabs = [clone(patient), on(patient, second)]
    deadline = time.monotonic() + 90
    rounds = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i in range(15):
            answers = {**NO_FLAGS, "medicines_list": f"medicine of round {i}", "contact_name": f"Name of round {i}"}
            barrier = threading.Barrier(2)

            def save(pair: tuple[HttpClient, str]) -> Reply:
                client, page_id = pair
                barrier.wait(timeout=10)
                return client.post(f"/questions/{page_id}", form_data(page_id, answers))

            replies = list(pool.map(save, [(tabs[0], "other"), (tabs[1], "contact")]))
            assert [r.status for r in replies] == [302, 302], [(r.status, r.body[:300]) for r in replies]
            check = patient.get("/check-answers")
            assert check.status == 200
            # Both pages' answers of this round are stored: neither save wrote back the other page.
            assert f"medicine of round {i}" in check.body, i
            assert f"Name of round {i}" in check.body, i
            rounds += 1
            if time.monotonic() > deadline:
                break
    assert rounds >= 10


# --- R10, R11 ------------------------------------------------------------------------------------------


def test_r10_two_concurrent_status_changes_one_wins_every_round(server: LiveServer, app: Flask) -> None:
    patient = quick_patient(server, PERSONAS["discuss_before_booking"])
    assert patient.post("/check-answers", {"declaration": "yes"}).status == 302
    reference = reference_on(patient.get("/sent"))
    clients = []
    for name in ("r10a", "r10b"):
        secret = make_staff(app, f"{name}@clinic.example", "front_desk")
        client = HttpClient(server.base_url)
        staff_sign_in(client, f"{name}@clinic.example", secret)
        assert client.get(f"/staff/submissions/{reference}").status == 200
        clients.append(client)
    url = f"/staff/submissions/{reference}/status"
    rounds = 100
    deadline = time.monotonic() + 90
    done = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i in range(rounds):
            barrier = threading.Barrier(2)
            version = str(1 + i)

            def change(pair: tuple[HttpClient, str]) -> int:
                client, status = pair
                barrier.wait(timeout=10)
                return client.post(url, {"status": status, "version": version}).status

            statuses = sorted(pool.map(change, [(clients[0], "contacted"), (clients[1], "with_clinician")]))
            assert statuses == [303, 409], (i, statuses)
            done += 1
            if time.monotonic() > deadline:
                break
    assert done >= 50
    assert raw_submission(app, reference)[1] == 1 + done
    assert count(app, AuditEvent, AuditEvent.submission_ref == reference, AuditEvent.action == "status_changed") == done
    assert (
        count(app, AuditEvent, AuditEvent.submission_ref == reference, AuditEvent.action == "status_conflict") == done
    )


def test_r11_a_burst_of_patients_loses_nothing(server: LiveServer, app: Flask) -> None:
    before = count(app, Submission)
    statuses: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 120

    def one_patient(_: int) -> int:
        sent = 0
        for _ in range(5):
            if time.monotonic() > deadline:
                break
            client = HttpClient(server.base_url, timeout=60)
            client.get("/")
            started = client.post("/start")
            seen = [started.status, client.get(started.path).status]
            page = QUESTIONNAIRE.pages[0]
            while page is not None and page.id != "declaration":
                seen.append(client.post(f"/questions/{page.id}", form_data(page.id, NO_FLAGS)).status)
                page = flow.next_page(page.id, NO_FLAGS)
            final = client.post("/check-answers", {"declaration": "yes"})
            seen.append(final.status)
            with lock:
                statuses.extend(seen)
            assert final.status == 302 and final.path == "/sent", (final.status, final.body[:300])
            sent += 1
        return sent

    with ThreadPoolExecutor(max_workers=20) as pool:
        sent = sum(pool.map(one_patient, range(20)))
    assert not [s for s in statuses if s >= 500]
    assert sent >= 50
    assert count(app, Submission) == before + sent


# --- R9: a crash during the final write ------------------------------------------------------------------


def test_r9_a_crash_during_the_final_write_leaves_no_partial_submission(tmp_path: Path) -> None:
    with fresh_database(tmp_path / "db", os.environ.get("TEST_DATABASE_URL")) as uri:
        live = LiveServer(
            tmp_path / "r9", database_uri=uri, workers=2, name="r9", env={"FLASK_TEST_FAIL_SUBMIT_COMMIT": "true"}
        )
        live.start()
        try:
            reader = create_app(live.app_config())
            patient = HttpClient(live.base_url)
            check = reach_check_answers(patient, PERSONAS["discuss_before_booking"])
            assert check is not None and check.status == 200
            crashed = patient.post("/check-answers", {"declaration": "yes"})
            assert crashed.status == 500
            assert "Traceback" not in crashed.body and "injected" not in crashed.body
            assert count(reader, Submission) == 0
            assert count(reader, AuditEvent, AuditEvent.action == "submission_created") == 0  # one transaction
            with reader.app_context():
                (draft,) = db.session.scalars(select(Draft)).all()
                assert draft.answers["blood_thinner_name"] == "warfarin" and draft.submission_id is None
                if db.engine.dialect.name == "sqlite":
                    assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                db.session.remove()
            # The instance comes back without the fault: the same draft is still there to send.
            live.extra_env.pop("FLASK_TEST_FAIL_SUBMIT_COMMIT")
            live.restart()
            again = patient.get("/check-answers")
            assert again.status == 200 and "warfarin" in again.body
            sent = patient.post("/check-answers", {"declaration": "yes"})
            assert sent.status == 302 and sent.path == "/sent"
            assert count(reader, Submission) == 1
            with reader.app_context():
                (created,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "submission_created"))
                sub = db.session.scalars(select(Submission)).one()
                assert (created.submission_ref, created.actor, created.detail) == (
                    sub.reference,
                    "patient",
                    "discuss_before_booking",
                )
                db.session.remove()
        finally:
            live.stop()


# --- R15, R16: abuse ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("limited"),
        database_uri=database,
        workers=2,
        name="limited",
        env={"FLASK_RATELIMIT_ENABLED": "true", "FLASK_PATIENT_POST_LIMIT": "10 per minute", "FLASK_PROXY_COUNT": "1"},
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def raw_post(server: LiveServer, path: str, headers: dict[str, str], body: bytes, send_all: bool = True) -> int:
    """A POST over a plain socket; with send_all=False only the headers and a first part of the body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode())
        try:
            sock.sendall(body if send_all else body[:65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while not data.endswith(b"\r\n\r\n") and b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0


def test_r15_oversized_bodies_and_too_many_fields_get_413(limited: LiveServer) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "198.51.100.1"}
    assert raw_post(limited, "/questions/urgent", form, b"x=" + b"a" * (1024 * 1024), send_all=False) == 413
    fields = "&".join(f"f{i}=1" for i in range(5000)).encode()
    assert raw_post(limited, "/staff/sign-in", form, fields) == 413
    assert raw_post(limited, "/questions/urgent", {**form, "X-Forwarded-For": "198.51.100.2"}, fields) == 413
    # Still answering.
    assert HttpClient(limited.base_url).get("/").status == 200


def test_r15_a_flood_gets_429_while_another_client_still_works(limited: LiveServer) -> None:
    flooder = HttpClient(limited.base_url, headers={"X-Forwarded-For": "203.0.113.7"})
    flooder.get("/")
    statuses = [flooder.post("/start").status for _ in range(30)]
    # memory:// counts per worker: two workers allow at most 2 x 10 before refusing.
    assert statuses.count(302) <= 20 and statuses.count(429) >= 10, statuses
    assert not [s for s in statuses if s >= 500]
    other = HttpClient(limited.base_url, headers={"X-Forwarded-For": "203.0.113.8"})
    other.get("/")
    assert other.post("/start").status == 302
    assert other.get("/questions/urgent").status == 200


def test_r16_a_sign_in_flood_is_refused_and_patients_still_get_answers(limited: LiveServer) -> None:
    stop = threading.Event()
    latencies: list[float] = []

    def patient_loop() -> None:
        client = HttpClient(limited.base_url, headers={"X-Forwarded-For": "192.0.2.50"})
        while not stop.is_set() and len(latencies) < 200:
            started = time.monotonic()
            assert client.get("/").status == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)

    def attacker(i: int) -> list[int]:
        client = HttpClient(limited.base_url, headers={"X-Forwarded-For": "192.0.2.66"})
        client.get("/staff/sign-in")
        out = []
        for _ in range(10):
            out.append(
                client.post(
                    "/staff/sign-in", {"email": f"victim{i}@clinic.example", "password": "wrong password guess"}
                ).status
            )
        return out

    watcher = threading.Thread(target=patient_loop)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = [s for batch in pool.map(attacker, range(4)) for s in batch]
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert results.count(429) >= 10, results
    assert results.count(400) <= 20 and not [s for s in results if s >= 500], results
    assert latencies and max(latencies) < 5.0, max(latencies)
