"""Error pages for 400, 401, 403, 404, 405, 413, 429, 500, 503 and CSRF: plain pages that reveal
nothing (no traceback, exception text, SQL or paths) and carry the security headers; a patient page
sent with a bad token keeps what was typed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from ..helpers import NO_FLAGS, Patient, draft_row, field_values, form_data, submissions
from ..staff_factory import add_submission
from ..staff_helpers import make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")

SECRET_TEXT = "SELECT contact_phone FROM submissions WHERE CANARY-ERR-7f3a"
GIVEAWAYS = (
    "Traceback",
    'File "',
    "CANARY-ERR-7f3a",
    "SELECT ",
    "sqlalchemy",
    "werkzeug",
    "psycopg",
    "sqlite3",
    str(Path(__file__).resolve().parents[2]),
    ".py",
    "RuntimeError",
    "OperationalError",
    "Exception",
    "The CSRF token",
    "csrf_token is",
    "Werkzeug",
    "Python",
    "debugger",
)
# A form token is random text: ".py" turns up in one now and then (it failed CI once), so the
# search leaves the tokens' values out.
TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')


def assert_reveals_nothing(body: str) -> None:
    searched = TOKEN_INPUT.sub("<input>", body)
    for giveaway in GIVEAWAYS:
        assert giveaway not in searched, giveaway


def assert_plain(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert_reveals_nothing(body)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    if response.request.path.startswith("/staff"):
        # The staff layout, leading back to the queue, never to the patient start page (issue 16).
        assert "<h1" in body and 'href="/staff/">Back to the queue' in body and 'href="/"' not in body
        assert "Staff area" in body
    else:
        assert "<h1" in body and 'href="/"' in body  # a heading and a way back to the start page
    return body


@pytest.fixture
def crashing(make_app: Any) -> Flask:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def boom() -> str:
        raise RuntimeError(SECRET_TEXT)

    def database_gone() -> str:
        raise OperationalError(SECRET_TEXT, {"phone": "CANARY-ERR-7f3a"}, Exception("server closed the connection"))

    # Test-only routes, added before the first request.
    app.add_url_rule("/test-only/boom", "test_boom", boom)
    app.add_url_rule("/test-only/database-gone", "test_database_gone", database_gone)
    return app


def test_500_reveals_nothing(crashing: Flask) -> None:
    body = assert_plain(crashing.test_client().get("/test-only/boom"), 500)
    assert "Sorry, there is a problem with the service" in body


def test_a_database_failure_is_a_plain_503(crashing: Flask) -> None:
    body = assert_plain(crashing.test_client().get("/test-only/database-gone"), 503)
    assert "unavailable for a moment" in body


def test_404_and_405(app: Flask) -> None:
    client = app.test_client()
    assert "Page not found" in assert_plain(client.get("/no-such-page"), 404)
    assert_plain(client.get("/questions/no-such-question-page"), 404)
    assert_plain(client.get("/static/no-such-file.css"), 404)
    assert_plain(client.get("/.git/config"), 404)
    assert_plain(client.get("/.env"), 404)
    assert_plain(client.get("/start"), 405)
    assert_plain(client.put("/"), 405)
    assert_plain(client.open("/", method="TRACE"), 405)
    assert_plain(client.delete("/staff/"), 405)


def test_400_401_and_403_in_the_staff_area(app: Flask) -> None:
    reference = add_submission(app)
    desk = app.test_client()
    sign_in(desk, "desk@clinic.example", make_staff(app))
    page = desk.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    token = token_of(page)
    assert_plain(
        desk.post(
            f"/staff/submissions/{reference}/status",
            data={"csrf_token": token, "status": "closed", "version": "not-a-number"},
        ),
        400,
    )
    assert_plain(desk.get("/staff/admin/staff"), 403)
    stranger = app.test_client()
    stranger_token = token_of(stranger.get("/staff/sign-in").get_data(as_text=True))
    assert_plain(
        stranger.post(
            f"/staff/submissions/{reference}/status",
            data={"csrf_token": stranger_token, "status": "closed", "version": "1"},
        ),
        401,
    )


def test_413_for_a_big_body_or_too_many_fields(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.start()
    big = patient.client.post("/questions/urgent", data={"csrf_token": patient.token, "x": "a" * (1024 * 1024)})
    assert "too much" in assert_plain(big, 413)
    fields = [("csrf_token", patient.token)] + [(f"f{i}", "1") for i in range(5000)]
    many = patient.client.post(
        "/questions/urgent", data=urlencode(fields), content_type="application/x-www-form-urlencoded"
    )
    assert_plain(many, 413)
    staff = app.test_client()
    assert_plain(staff.post("/staff/sign-in", data={"email": "a" * (1024 * 1024)}), 413)
    # Nothing was stored from either.
    assert (draft_row(patient.client).answers or {}) == {}


def test_429_when_a_client_floods(make_app: Any) -> None:
    app = make_app(RATELIMIT_ENABLED=True, PATIENT_POST_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [client.post("/start", environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code for _ in range(5)]
    assert statuses[:3] == [302, 302, 302] and statuses[3:] == [429, 429]
    body = assert_plain(client.post("/start", environ_base={"REMOTE_ADDR": "127.0.0.9"}), 429)
    assert "Too many requests" in body


def test_a_staff_form_with_a_bad_token_gets_the_plain_csrf_page(app: Flask) -> None:
    client = app.test_client()
    client.get("/staff/sign-in")
    for data in ({"email": "a@b.c", "password": "x"}, {"csrf_token": "forged", "email": "a@b.c", "password": "x"}):
        body = assert_plain(client.post("/staff/sign-in", data=data), 400)
        assert "timed out" in body


def test_a_patient_page_with_a_bad_token_keeps_what_was_typed(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.reach("contact", NO_FLAGS)
    typed = {"contact_name": "Ana Typed-Twice", "contact_phone": "0161 496 0999", "contact_time": "evening"}
    before = draft_row(patient.client).answers
    for token in ("forged-token", ""):
        # Post/Redirect/Get: the page comes back after a redirect, with what was typed.
        response = patient.client.post("/questions/contact", data={"csrf_token": token, **typed}, follow_redirects=True)
        assert response.status_code in (200, 400)
        body = response.get_data(as_text=True)
        assert_reveals_nothing(body)
        values = field_values(body)
        assert values["contact_name"] == typed["contact_name"]
        assert values["contact_phone"] == typed["contact_phone"]
        assert values["contact_time"] == typed["contact_time"]
        assert "Your answers are still here" in body
        assert draft_row(patient.client).answers == before  # not saved with a bad token
    # Continue with the fresh token on the page sends it.
    response = patient.post("/questions/contact", typed)
    assert response.status_code == 302
    assert draft_row(patient.client).answers["contact_name"] == typed["contact_name"]


def test_sending_with_a_bad_token_keeps_the_answers_and_sends_nothing(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.complete(NO_FLAGS, send=False)
    response = patient.client.post(
        "/check-answers", data={"csrf_token": "forged", "declaration": "yes"}, follow_redirects=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code in (200, 400) and "still saved" in body
    assert NO_FLAGS["contact_name"] in body  # the answers are shown again
    assert submissions(app) == []
    assert patient.post("/check-answers", {"declaration": "yes"}).status_code == 302
    assert len(submissions(app)) == 1


def test_a_patient_page_sent_after_the_session_was_lost_keeps_what_was_typed(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.reach("about", NO_FLAGS)
    token = patient.token
    fresh = app.test_client()  # a browser that lost its cookie
    response = fresh.post(
        "/questions/about", data={"csrf_token": token, **form_data("about", NO_FLAGS)}, follow_redirects=True
    )
    assert response.status_code in (200, 400)
    body = response.get_data(as_text=True)
    assert field_values(body).get("respondent_role") == NO_FLAGS["respondent_role"]
    assert_reveals_nothing(body)


def test_a_multipart_part_with_an_unreadable_name_is_a_plain_400(app: Flask) -> None:
    """Werkzeug names such a part None; Flask-WTF's token lookup used to fail on it with a 500."""
    client = app.test_client()
    client.get("/staff/sign-in")
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="\\"\r\n\r\nx\r\n--{boundary}--\r\n').encode()
    for url in ("/staff/sign-in", "/staff/admin/export", "/questions/urgent"):
        response = client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
        assert_plain(response, 400)


def test_a_flood_gets_429_while_a_second_client_still_works(make_app: Any) -> None:
    app = make_app(RATELIMIT_ENABLED=True, PATIENT_POST_LIMIT="10 per minute")
    flooder = app.test_client()
    first = {"REMOTE_ADDR": "10.0.0.1"}
    statuses = [flooder.post("/start", environ_base=first).status_code for _ in range(15)]
    assert statuses == [302] * 10 + [429] * 5
    # The limit is on posts: the flooder can still read, and another address is not affected.
    assert flooder.get("/", environ_base=first).status_code == 200
    other = Patient(app.test_client())
    second = {"REMOTE_ADDR": "10.0.0.2"}
    page = other.client.get("/", environ_base=second)
    other.token = token_of(page.get_data(as_text=True))
    started = other.client.post("/start", data={"csrf_token": other.token}, environ_base=second)
    assert started.status_code == 302
    page = other.client.get(started.location, environ_base=second)
    other.token = token_of(page.get_data(as_text=True))
    answered = other.client.post(
        "/questions/urgent", environ_base=second, data={"csrf_token": other.token, **form_data("urgent", NO_FLAGS)}
    )
    assert answered.status_code == 302 and answered.location.endswith("/questions/about")


def test_staff_403_404_and_500_pages_use_the_staff_layout_and_lead_back_to_the_queue(app: Flask) -> None:
    """Issue 16: a staff member who meets an error stays in the staff area."""
    desk = app.test_client()
    sign_in(desk, "desk@clinic.example", make_staff(app))
    forbidden = assert_plain(desk.get("/staff/admin/staff"), 403)
    assert "You do not have access to this page" in forbidden
    missing = assert_plain(desk.get("/staff/submissions/ZZZZ-ZZZZ"), 404)
    assert "Page not found" in missing and "Sign out" in missing
    assert "Page not found" in assert_plain(desk.get("/staff/no-such-page"), 404)
    # The patient side keeps its own page.
    assert "Go to the start page" in assert_plain(app.test_client().get("/no-such-page"), 404)


def test_a_staff_500_uses_the_staff_layout(make_app: Any) -> None:
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/staff/test-crash")
    def crash() -> str:
        raise RuntimeError(SECRET_TEXT)

    body = assert_plain(app.test_client().get("/staff/test-crash"), 500)
    assert "There is a problem with the service" in body and "error code" in body
