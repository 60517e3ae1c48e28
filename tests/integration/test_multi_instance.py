"""Several app instances behind a load balancer (R10, R11, R12, R17 of the security bar).

Two gunicorn instances on two loopback ports share one PostgreSQL database (a fresh one on the
local server, dropped afterwards) and one Redis (keys under a prefix of this module's own). The
clients talk to both in turn with one cookie jar, as a browser behind a round-robin balancer would,
and pass an X-Forwarded-For address as the balancer would (the instances trust exactly one proxy).
Always on PostgreSQL, in both runs of scripts/test; skipped without PostgreSQL or Redis (failed in CI).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from questionnaire.core import flow

from ..conftest import unavailable
from ..helpers import PERSONAS, form_data
from ..servers import (
    STAFF_PASSWORD,
    TEST_SECRET_KEY,
    HttpClient,
    LiveServer,
    ServiceMissing,
    add_staff,
    as_sent,
    create_staff_account,
    delete_redis_keys,
    expected_answers,
    fill_in,
    fresh_postgres_database,
    migrate,
    redis_answers,
    send_answers,
    shared_redis_url,
    staff_sign_in,
    start_together,
    submission_answers,
)

# PostgreSQL and Redis by design, whatever the pass: run once, in the PostgreSQL pass.
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SIGN_IN_LIMIT = 6
ANSWERS = PERSONAS["discuss_before_booking"]
VERSION = re.compile(r'name="version" value="(\d+)"')


# --- the shared services and the two instances -------------------------------------------------


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    try:
        with fresh_postgres_database(prefix="oq_multi") as uri:
            yield uri
    except ServiceMissing as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    url = shared_redis_url()
    if not redis_answers(url):
        unavailable(f"Redis at {url} does not answer")
    prefix = f"oqtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_redis_keys(url, f"*{prefix}*")


def instance_settings(redis_prefix: str, **extra: str) -> dict[str, str]:
    return {
        "FLASK_RATELIMIT_ENABLED": "true",
        "FLASK_RATELIMIT_STORAGE_URI": shared_redis_url(),
        "FLASK_RATELIMIT_KEY_PREFIX": redis_prefix,
        "FLASK_PROXY_COUNT": "1",  # the balancer: each client has its own address
        "FLASK_STAFF_SIGN_IN_LIMIT": f"{SIGN_IN_LIMIT} per 10 minutes",
        # This file tests the per-address limit, not the per-account throttling (test_sign_in_throttle.py).
        "FLASK_STAFF_SIGN_IN_PAIR_LIMIT": "1000 per 10 minutes",
        "FLASK_STAFF_DELAY_AFTER": "1000",
        **extra,
    }


def two_instances(
    folder: Path, database: str, settings: dict[str, str], workers: int = 2
) -> tuple[LiveServer, LiveServer]:
    a = LiveServer(folder / "a", database_uri=database, env=settings, name="a", migrate=False, workers=workers)
    b = LiveServer(folder / "b", database_uri=database, env=settings, name="b", migrate=False, workers=workers)
    migrate(database, a.log_path, settings)  # once per release, before the instances start
    start_together(a, b)
    return a, b


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, database: str, redis_prefix: str
) -> Iterator[tuple[LiveServer, LiveServer]]:
    a, b = two_instances(tmp_path_factory.mktemp("pair"), database, instance_settings(redis_prefix))
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def engine(database: str) -> Iterator[Any]:
    from questionnaire.config import normalise_database_uri

    eng = create_engine(normalise_database_uri(database))
    yield eng
    eng.dispose()


def row(engine: Any, reference: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT id, status, version, status_by FROM submissions WHERE reference = :r"), {"r": reference}
        ).one()


def assert_all_answers(stored: dict[str, Any], answers: dict[str, Any] = ANSWERS) -> None:
    """Every shown answer arrived, as sent."""
    assert as_sent(stored) == expected_answers(answers)


def count_submissions(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(text("submissions"))).scalar_one())


def address() -> str:
    """A client address of its own, so that tests do not share rate-limit counters."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def no_server_errors(*clients: HttpClient) -> None:
    failed = [(r.method, r.url, r.status) for c in clients for r in c.history if r.status >= 500]
    assert not failed, failed


def log_size(*servers: LiveServer) -> dict[str, int]:
    return {s.name: s.log_path.stat().st_size for s in servers}


def assert_no_errors_logged(since: dict[str, int], *servers: LiveServer) -> None:
    """Nothing the instances logged since `since` is an error or a traceback."""
    for server in servers:
        with open(server.log_path, encoding="utf-8", errors="replace") as log:
            log.seek(since[server.name])
            bad = [line for line in log if '"level":"ERROR"' in line or "Traceback" in line or "[ERROR]" in line]
        assert not bad, (server.name, bad[:5])


# --- R12: one browser, two instances ----------------------------------------------------------


def test_a_client_alternating_between_instances_completes_the_form_and_a_staff_session(
    pair: tuple[LiveServer, LiveServer], engine: Any
) -> None:
    a, b = pair
    patient = HttpClient(a, b, forwarded_for=address())
    answered = fill_in(patient, ANSWERS)  # every page: rendered by one instance, sent to the other
    served_by = {r.server.name for r in patient.history if r.server is not None and r.method == "POST"}
    assert served_by == {"a", "b"} and len(answered) > 10
    check = patient.get("/check-answers", on=b)
    assert "warfarin" in check.text and "Left knee" in check.text
    reference = send_answers(patient)
    assert_all_answers(submission_answers(a, reference))

    create_staff_account(a, "alternating@clinic.example")
    staff = HttpClient(a, b, forwarded_for=address())
    staff_sign_in(staff, "alternating@clinic.example")  # each step on the other instance
    for server in (a, b, a, b):
        queue = staff.get("/staff/", on=server)
        assert queue.status == 200 and reference in queue.text, (server.name, queue)
    detail = staff.get(f"/staff/submissions/{reference}", on=a)
    assert detail.status == 200
    version = VERSION.search(detail.text)
    assert version
    changed = staff.post(
        f"/staff/submissions/{reference}/status", {"status": "contacted", "version": version.group(1)}, on=b
    )
    assert changed.status == 303, (changed, changed.text[:1000])
    assert staff.get(f"/staff/submissions/{reference}", on=a).status == 200
    assert row(engine, reference).status == "contacted"
    signed_out = staff.post("/staff/sign-out", on=b)
    assert signed_out.status == 200
    again = staff.get("/staff/", on=a)  # the session ended everywhere, not only on b
    assert again.status == 302 and again.location.startswith("/staff/sign-in")
    no_server_errors(patient, staff)


# --- R11: a burst of patients sending at once ----------------------------------------------------


def test_twenty_patients_sending_at_once_make_twenty_submissions(
    pair: tuple[LiveServer, LiveServer], engine: Any
) -> None:
    a, b = pair
    count = 20
    barrier = threading.Barrier(count, timeout=120)
    before = count_submissions(engine)
    logs = log_size(a, b)

    def one_patient(i: int) -> tuple[str, HttpClient]:
        client = HttpClient(a, b, forwarded_for=f"192.0.2.{i + 1}")
        client.turn = i  # half start on a, half on b
        try:
            fill_in(client, ANSWERS, get_pages=False)
            client.get("/check-answers")
        finally:
            barrier.wait()  # everyone presses Send at the same moment
        sent = client.post("/check-answers", {"declaration": "yes"})
        assert (sent.status, sent.location) == (302, "/sent"), (sent, sent.text[:500])
        outcome = client.get("/sent")
        found = re.search(r'class="reference">([^<]+)<', outcome.text)
        assert outcome.status == 200 and found, outcome
        return found.group(1), client

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one_patient, i) for i in range(count)]
        results = [f.result(timeout=180) for f in futures]
    references = {ref for ref, _client in results}
    assert len(references) == count
    assert count_submissions(engine) - before == count
    with engine.connect() as conn:
        found = set(
            conn.scalars(
                text("SELECT reference FROM submissions WHERE reference = ANY(:refs)"), {"refs": list(references)}
            )
        )
    assert found == references
    no_server_errors(*(client for _ref, client in results))
    assert_no_errors_logged(logs, a, b)


# --- R10: two staff change one submission at once, on different instances -----------------------


def test_two_staff_changing_one_submission_at_once_one_wins_and_one_is_told(
    pair: tuple[LiveServer, LiveServer], engine: Any
) -> None:
    a, b = pair
    patient = HttpClient(a, b, forwarded_for=address())
    fill_in(patient, ANSWERS, get_pages=False)
    reference = send_answers(patient)
    add_staff(a, "first@clinic.example", "second@clinic.example")
    first, second = HttpClient(a, forwarded_for=address()), HttpClient(b, forwarded_for=address())
    staff_sign_in(first, "first@clinic.example")
    staff_sign_in(second, "second@clinic.example")
    url = f"/staff/submissions/{reference}"
    choices = [
        ("contacted", "with_clinician"),
        ("discussed", "closed"),
        ("new", "contacted"),
        ("with_clinician", "discussed"),
        ("closed", "new"),
    ]
    for round_, (mine, theirs) in enumerate(choices):
        start = row(engine, reference)
        shown = [VERSION.findall(client.get(url).text) for client in (first, second)]  # both open the page
        assert shown == [[str(start.version)]] * 2, shown
        barrier = threading.Barrier(2, timeout=30)

        def change(client: HttpClient, status: str) -> Any:
            barrier.wait()
            return client.post(f"{url}/status", {"status": status, "version": str(start.version)})

        with ThreadPoolExecutor(max_workers=2) as pool:
            replies = [
                f.result(timeout=60) for f in (pool.submit(change, first, mine), pool.submit(change, second, theirs))
            ]
        statuses = sorted(r.status for r in replies)
        assert statuses == [303, 409], (round_, replies)
        winner, loser = (replies[0], replies[1]) if replies[0].status == 303 else (replies[1], replies[0])
        assert "Changed by someone else" in loser.text
        end = row(engine, reference)
        assert end.version == start.version + 1, round_
        assert end.status == (mine if winner is replies[0] else theirs)
        assert end.status_by == ("first@clinic.example" if winner is replies[0] else "second@clinic.example")
    no_server_errors(patient, first, second)


# --- R12: failed sign-ins count across instances --------------------------------------------------


def test_a_login_flood_split_across_instances_stops_at_the_configured_total(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    add_staff(a, "flooded@clinic.example")
    flood = HttpClient(a, b, forwarded_for=address())
    flood.get("/staff/sign-in", on=a)
    wrong = {"email": "flooded@clinic.example", "password": "not the password at all"}
    replies = [flood.post("/staff/sign-in", wrong) for _ in range(SIGN_IN_LIMIT)]  # a, b, a, b, ...
    assert [r.status for r in replies] == [400] * SIGN_IN_LIMIT
    assert {r.server.name for r in replies if r.server} == {"a", "b"}
    # Each instance has seen only half the limit; the total is what counts, whichever instance.
    for server in (a, b):
        stopped = flood.post("/staff/sign-in", wrong, on=server)
        assert stopped.status == 429, (server.name, stopped)
    right = flood.post("/staff/sign-in", {**wrong, "password": STAFF_PASSWORD}, on=b)
    assert right.status == 429  # the limit is checked before the password
    other = HttpClient(a, b, forwarded_for=address())  # another address is not affected
    other.get("/staff/sign-in")
    assert other.post("/staff/sign-in", wrong).status == 400


# --- R17: rotating SECRET_KEY during traffic ------------------------------------------------------


def test_form_tokens_signed_with_a_fallback_key_are_accepted_and_new_ones_use_the_new_key() -> None:
    """In-process check of the setting the rotation below relies on (no server needed)."""
    from flask import session
    from flask_wtf.csrf import generate_csrf, validate_csrf
    from itsdangerous import URLSafeTimedSerializer
    from wtforms import ValidationError

    from questionnaire import create_app
    from questionnaire.config import ConfigError

    from ..conftest import test_settings

    old_key, new_key = "old-" + secrets.token_urlsafe(40), "new-" + secrets.token_urlsafe(40)
    settings = test_settings("sqlite://", SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key])
    app = create_app(settings)
    with app.test_request_context():
        token = generate_csrf()
        raw = session["csrf_token"]

        def signed(key: str) -> str:
            return str(URLSafeTimedSerializer(key, salt="wtf-csrf-token").dumps(raw))

        assert URLSafeTimedSerializer(new_key, salt="wtf-csrf-token").loads(token) == raw  # new key signs
        validate_csrf(signed(old_key))  # old one accepted
        with pytest.raises(ValidationError):
            validate_csrf(signed("some-other-key-" + secrets.token_urlsafe(20)))
    with pytest.raises(ConfigError, match="JSON list"):
        create_app({**settings, "SECRET_KEY_FALLBACKS": old_key})  # a bare string, not a list


def test_rotating_the_secret_key_instance_by_instance_signs_nobody_out(
    tmp_path: Path, database: str, redis_prefix: str, engine: Any
) -> None:
    """Restart one instance at a time while a patient is mid-form and a staff member is signed in.

    The new key goes in as a fallback everywhere first (every instance can then read what the new
    key signs), then becomes the key, with the old one as the fallback: at no moment does an
    instance meet a cookie or form token it cannot read, whichever instance a request lands on."""
    old_key, new_key = TEST_SECRET_KEY, "rotated-" + secrets.token_urlsafe(48)
    a, b = two_instances(tmp_path, database, instance_settings(redis_prefix), workers=1)  # quicker restarts
    try:
        sender = HttpClient(a, b, forwarded_for=address())
        fill_in(sender, ANSWERS, get_pages=False)
        reference = send_answers(sender)
        add_staff(a, "rotation@clinic.example")
        staff = HttpClient(a, b, forwarded_for=address())
        staff_sign_in(staff, "rotation@clinic.example")
        patient = HttpClient(a, b, forwarded_for=address())
        fill_in(patient, ANSWERS, until="blood-follow-up")
        pages = [p.id for p in flow.shown_pages(ANSWERS)]
        pages = pages[pages.index("blood-follow-up") : pages.index("declaration")]
        statuses = iter(["contacted", "with_clinician", "discussed", "closed"])
        steps = [
            (b, old_key, [new_key]),
            (a, old_key, [new_key]),  # 1: accept the new key everywhere
            (b, new_key, [old_key]),
            (a, new_key, [old_key]),
        ]  # 2: sign with it, accept the old
        for server, key, fallbacks in steps:
            other = a if server is b else b
            # Open pages rendered before the restart, sent after it to the restarted instance.
            page = pages.pop(0)
            assert patient.get(f"/questions/{page}", on=other).status == 200
            detail = staff.get(f"/staff/submissions/{reference}", on=other)
            version = VERSION.search(detail.text)
            assert detail.status == 200 and version, detail
            server.extra_env.update({"FLASK_SECRET_KEY": key, "FLASK_SECRET_KEY_FALLBACKS": json.dumps(fallbacks)})
            server.restart()
            sent = patient.post(f"/questions/{page}", form_data(page, ANSWERS), on=server)
            assert (sent.status, sent.location) == (302, f"/questions/{pages[0]}"), (page, server.name, sent)
            changed = staff.post(
                f"/staff/submissions/{reference}/status",
                {"status": next(statuses), "version": version.group(1)},
                on=server,
            )
            assert changed.status == 303, (server.name, changed, changed.text[:1000])
            # Then one page rendered by the restarted instance and sent to the other one.
            page = pages.pop(0)
            assert patient.get(f"/questions/{page}", on=server).status == 200
            sent = patient.post(f"/questions/{page}", form_data(page, ANSWERS), on=other)
            assert sent.status == 302 and sent.location.startswith(("/questions/", "/check-answers")), (
                page,
                other.name,
                sent,
            )
            for target in (server, other):
                queue = staff.get("/staff/?status=any", on=target)  # its status moves on
                assert queue.status == 200 and reference in queue.text, (target.name, queue)  # still signed in
        while pages[0] != "contact":  # the pages the rotation steps did not need, on the rotated instances
            page = pages.pop(0)
            assert patient.get(f"/questions/{page}", on=a).status == 200
            sent = patient.post(f"/questions/{page}", form_data(page, ANSWERS), on=b)
            assert sent.status == 302, (page, sent)
        assert pages == ["contact"]
        assert patient.get("/questions/contact", on=a).status == 200
        last = patient.post("/questions/contact", form_data("contact", ANSWERS), on=b)
        assert (last.status, last.location) == (302, "/check-answers")
        check = patient.get("/check-answers", on=a)
        assert check.status == 200 and "warfarin" in check.text and "Left knee" in check.text
        reference_2 = send_answers(patient)
        assert_all_answers(submission_answers(a, reference_2))  # nothing lost on the way
        assert row(engine, reference).status == "closed" and row(engine, reference).version == 5
        no_server_errors(sender, staff, patient)
    finally:
        a.stop()
        b.stop()
