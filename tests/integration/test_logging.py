"""Logs: structured JSON with a request id on every request line, and never an answer, a contact
detail, a note, a password, a one-time code, a session cookie or a CSRF token, whether the app runs
in-process or under gunicorn (whose access and error log go to the same file)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from questionnaire import create_app
from questionnaire.web import security

from ..helpers import Patient
from ..live_client import HttpClient, complete_patient, staff_sign_in
from ..servers import LiveServer
from ..staff_helpers import PASSWORD, make_staff, token_of
from .test_encryption import Planted, canary_answers, plant

pytestmark = pytest.mark.usefixtures("cheap_hashing")

REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
WATCHED = (
    "",
    "questionnaire",
    "werkzeug",
    "sqlalchemy",
    "flask_limiter",
    "flask_wtf",
    "alembic",
    "gunicorn",
    "gunicorn.error",
    "gunicorn.access",
    "urllib3",
    "argon2",
)


class Capture(logging.Handler):
    """Every record, formatted the way production formats it (JSON for the app's own logger)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        self.json = security.JsonFormatter()
        self.plain = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        formatter = self.json if record.name.startswith("questionnaire") else self.plain
        self.lines.append(formatter.format(record))


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    loggers = [logging.getLogger(name) for name in WATCHED]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(old_level)


def secret_values(planted: Planted) -> dict[str, str]:
    return {**planted.canaries, **planted.secrets}


def leaks(text: str, values: dict[str, str]) -> list[str]:
    found = []
    lowered = text.lower()
    for name, value in values.items():
        if name == "totp_code":
            if re.search(rf"(?<!\d){value}(?!\d)", text):
                found.append(name)
        elif value.lower() in lowered:
            found.append(name)
    return found


def assert_request_lines(lines: list[str], at_least: int) -> list[dict[str, Any]]:
    entries = []
    for line in lines:
        assert "\n" not in line and "\r" not in line
        entry = json.loads(line)
        if entry.get("message") == "request":
            assert REQUEST_ID.match(entry["request_id"]), entry
            assert {"method", "path", "status", "ms"} <= set(entry), entry
            entries.append(entry)
    assert len(entries) >= at_least, (len(entries), at_least)
    return entries


# --- in-process ----------------------------------------------------------------------------------


def test_full_flows_log_no_personal_data_or_secrets(app: Flask, captured: Capture, clock: Any) -> None:
    planted = plant(app, clock)
    # A wrong password that is itself sensitive, and an email field holding a forged log line.
    client = app.test_client()
    page = client.get("/staff/sign-in")
    wrong = f"{planted.canaries['contact_name']} wrong password"
    planted.secrets["wrong_password"] = wrong
    forged = 'x@y.z\n{"level":"INFO","message":"sign in ok","actor":"admin"}'
    client.post(
        "/staff/sign-in", data={"csrf_token": token_of(page.get_data(as_text=True)), "email": forged, "password": wrong}
    )
    planted.secrets["csrf_token"] = token_of(page.get_data(as_text=True))
    # A search by a contact detail in a query string.
    client.get("/staff/", query_string={"ref": planted.canaries["contact_phone"]})

    app_lines = [line for line, record in zip(captured.lines, captured.records) if record.name == "questionnaire"]
    entries = assert_request_lines(app_lines, at_least=40)
    assert not any(r.name == "questionnaire" and r.getMessage() == "sign in ok" for r in captured.records)
    assert {e["status"] for e in entries} >= {200, 302, 303}
    everything = "\n".join(captured.lines + [str(r.args) for r in captured.records if r.args])
    assert leaks(everything, secret_values(planted)) == []


def test_the_request_id_is_returned_and_logged_and_a_forged_one_is_replaced(app: Flask, captured: Capture) -> None:
    client = app.test_client()
    response = client.get("/", headers={"X-Request-ID": "lb-req-0123456789"})
    assert response.headers["X-Request-ID"] == "lb-req-0123456789"
    forged = client.get("/", headers={"X-Request-ID": "bad id {injected}"})
    assert REQUEST_ID.match(forged.headers["X-Request-ID"]) and "injected" not in forged.headers["X-Request-ID"]
    ids = [
        json.loads(line).get("request_id")
        for line, r in zip(captured.lines, captured.records)
        if r.name == "questionnaire"
    ]
    assert "lb-req-0123456789" in ids and forged.headers["X-Request-ID"] in ids


def test_a_crash_during_the_final_send_logs_only_the_exception_type(make_app: Any, captured: Capture) -> None:
    app = make_app(TEST_FAIL_SUBMIT_COMMIT=True, PROPAGATE_EXCEPTIONS=False)
    answers, canaries = canary_answers("crashlog01")
    patient = Patient(app.test_client())
    patient.complete(answers, send=False)
    response = patient.post("/check-answers", {"declaration": "yes"})
    assert response.status_code == 500
    lines = [line for line, r in zip(captured.lines, captured.records) if r.name == "questionnaire"]
    errors = [json.loads(line) for line in lines if json.loads(line)["level"] == "ERROR"]
    assert errors and all(e.get("exception") == "InjectedFault" for e in errors if "exception" in e)
    assert any(e.get("request_id") for e in errors)
    text = "\n".join(captured.lines)
    assert "Traceback" not in text and "injected fault" not in text
    assert leaks(text, canaries) == []


# --- under gunicorn --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_live_server_logs_no_personal_data_or_secrets(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, workers=2)
    server.start()
    try:
        app = create_app(server.app_config())
        secret = make_staff(app, "clinician@clinic.example", "clinician")
        answers, canaries = canary_answers("livelog01")
        planted = Planted(canaries=dict(canaries), reference="")
        patient = HttpClient(server.base_url)
        sent = complete_patient(patient, answers)
        assert sent.status == 302
        planted.secrets.update({f"patient_cookie_{k}": v for k, v in patient.cookies.items()})
        outcome = patient.get(sent.path)
        assert outcome.status == 200
        reference = re.search(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", outcome.body)
        assert reference is not None

        staff = HttpClient(server.base_url)
        planted.secrets["totp_code"] = staff_sign_in(staff, "clinician@clinic.example", secret)
        planted.secrets["password"] = PASSWORD
        planted.secrets.update({f"staff_cookie_{k}": v for k, v in staff.cookies.items()})
        detail = staff.get(f"/staff/submissions/{reference.group(0)}")
        assert detail.status == 200 and canaries["contact_name"] in detail.body
        planted.secrets["csrf_token"] = staff.token
        note = "Live CANARYlivelog01note"
        planted.canaries["note"] = note
        assert staff.post(f"/staff/submissions/{reference.group(0)}/notes", {"body": note}).status == 303
        version = detail.body.split('name="version" value="')[1].split('"')[0]
        assert (
            staff.post(
                f"/staff/submissions/{reference.group(0)}/status", {"status": "contacted", "version": version}
            ).status
            == 303
        )
        staff.get(f"/staff/?ref={canaries['contact_email']}")
        intruder = HttpClient(server.base_url)
        intruder.get("/staff/sign-in")
        planted.secrets["wrong_password"] = "CANARYlivelog01password"
        intruder.post("/staff/sign-in", {"email": canaries["contact_email"], "password": "CANARYlivelog01password"})
        requests_made = 40
    finally:
        server.stop()
    log = server.log_path.read_text(encoding="utf-8")
    assert leaks(log, secret_values(planted)) == []
    json_lines = [line for line in log.splitlines() if line.startswith("{")]
    entries = assert_request_lines(json_lines, at_least=requests_made)
    assert {e["endpoint"] for e in entries} >= {"patient.question_page", "staff.add_note", "staff.set_status"}
    # gunicorn's own access lines are there too, without query strings.
    access = [line for line in log.splitlines() if '"GET /' in line or '"POST /' in line]
    assert len(access) >= requests_made and not any("?" in line for line in access)
    assert "Traceback" not in log
