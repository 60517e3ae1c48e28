"""Patient session fixation: a session cookie planted in a patient's browser (the planter knows its
draft token) must not let the planter read the patient's answers or outcome. The draft token is
renewed when a form starts or continues and after sending; the old one stops working."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from questionnaire import create_app
from questionnaire.config import ConfigError, refuse_unsafe
from questionnaire.extensions import db

from ..helpers import PERSONAS, Patient

COOKIE = "oq_session"


def plant(planter: FlaskClient, victim: FlaskClient) -> str:
    """The planter's own session cookie, copied into the victim's browser (a shared kiosk, a sibling
    subdomain, a man in the middle on plain HTTP): both now hold the same draft token."""
    cookie = planter.get_cookie(COOKIE)
    assert cookie is not None
    victim.set_cookie(COOKIE, cookie.value)
    return cookie.value


def test_a_planted_cookie_cannot_read_the_answers_or_the_outcome(app: Flask) -> None:
    planter, victim = Patient(app.test_client()), Patient(app.test_client())
    planter.start()  # a draft of the planter's, with its token in the cookie
    plant(planter.client, victim.client)
    victim.complete(PERSONAS["none"], send=False)  # starts (continues the planted draft) and answers
    # The planter's copy of the cookie no longer finds the draft: no answers to read.
    assert planter.get("/check-answers").status_code == 302
    assert PERSONAS["none"]["contact_name"] not in planter.get("/").get_data(as_text=True)
    victim.get("/check-answers")
    sent = victim.post("/check-answers", {"declaration": "yes"})
    assert sent.status_code == 302 and victim.get("/sent").status_code == 200  # the patient's own view
    for page in ("/sent", "/sent/print", "/check-answers"):
        response = planter.get(page)
        assert response.status_code == 302 and response.location in ("/", "/?expired=1"), page


def test_the_token_changes_when_sending_so_a_cookie_copied_before_cannot_see_the_outcome(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.complete(PERSONAS["none"], send=False)
    before = patient.client.get_cookie(COOKIE)
    assert before is not None
    copy = app.test_client()
    copy.set_cookie(COOKIE, before.value)
    assert copy.get("/check-answers").status_code == 200  # the same session, until sending
    patient.get("/check-answers")
    assert patient.post("/check-answers", {"declaration": "yes"}).status_code == 302
    assert patient.get("/sent").status_code == 200
    assert copy.get("/sent").status_code == 302


def test_production_uses_a_host_prefixed_secure_session_cookie(tmp_path: Path) -> None:
    app = create_app(
        {
            "PRODUCTION": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SESSION_COOKIE_SECURE": True,
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "RATELIMIT_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/prod.db",
            "ENCRYPTION_KEYS": {"k1": "dGVzdC1rZXktb25lLXRoaXJ0eS10d28tYnl0ZXMtISE="},
            "ENCRYPTION_KEY_ID": "k1",
            "CLINIC_NAME": "Riverside Clinic",
            "CLINIC_PHONE": "0161 496 0000",
            "PROXY_COUNT": 0,
            "TRUSTED_HOSTS": ["forms.clinic.example"],
            "REGULATORY_MARKET": "US",
        }
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    response = client.post("/start", base_url="https://forms.clinic.example")
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-oq_session=")]
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert "secure" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain=") for a in attributes)


def test_production_refuses_a_cookie_domain_or_path() -> None:
    """A Domain (or another path) would make the __Host- cookie invalid, or readable by sibling hosts."""
    with pytest.raises(ConfigError, match="FLASK_SESSION_COOKIE_DOMAIN"):
        refuse_unsafe({"SESSION_COOKIE_DOMAIN": ".clinic.example"})


def test_the_twin_of_a_double_click_on_send_is_sent_on_without_a_cookie_or_the_outcome(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.complete(PERSONAS["none"], send=False)
    patient.get("/check-answers")
    old, token = patient.client.get_cookie(COOKIE), patient.token
    assert old is not None
    twin = app.test_client()  # the second request of the double click
    twin.set_cookie(COOKIE, old.value)
    first = patient.post("/check-answers", {"declaration": "yes"})
    assert first.status_code == 302 and first.headers.getlist("Set-Cookie")  # the renewed token
    second = twin.post("/check-answers", data={"declaration": "yes", "csrf_token": token})
    assert (second.status_code, second.location) == (302, "/sent")
    assert not second.headers.getlist("Set-Cookie")  # the browser keeps the first reply's cookie
    assert patient.get("/sent").status_code == 200  # where that browser lands: its outcome
    assert twin.get("/sent").status_code == 302  # the old cookie alone shows nothing


def test_the_twin_of_a_double_click_on_continue_keeps_the_draft(app: Flask) -> None:
    patient = Patient(app.test_client())
    patient.start()
    patient.answer(
        "urgent",
        {
            k: v
            for k, v in PERSONAS["none"].items()
            if k in ("chest_pain_now", "breathing_trouble_now", "stroke_signs_now", "recent_ozone_7d", "unwell_now")
        },
    )
    old = patient.client.get_cookie(COOKIE)
    assert old is not None
    twin = app.test_client()
    twin.set_cookie(COOKIE, old.value)
    patient.get("/")
    token = patient.token
    assert patient.post("/start").status_code == 302  # Continue: renewed
    again = twin.post("/start", data={"csrf_token": token})  # its twin, with the old cookie
    assert (again.status_code, again.location) == (302, "/check-answers")
    assert not again.headers.getlist("Set-Cookie")  # no new, empty draft for the browser
    assert patient.get("/check-answers").location == "/questions/about"
    assert twin.get("/check-answers").status_code == 302 and twin.get("/check-answers").location != "/questions/about"
