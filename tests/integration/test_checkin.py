"""Check-in on the day (clinical-content.md A11, R9): the front desk starts it, patient mode answers
(in the submission's language), the result is stored encrypted and audited, patient mode reaches no
staff page, "health changed" starts an empty rescreen form linked to the first, the queue filter."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from questionnaire.data.models import CLOCK, AuditEvent, CheckIn, Clock, Draft, Submission
from questionnaire.extensions import db

from ..helpers import ALL_NO, Patient, visible_text
from ..staff_factory import add_submission, queue_references
from ..staff_helpers import make_staff, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing", "clock")

DRIP = {**ALL_NO, "treatment_types": ["blood_drip"]}
START = re.compile(r'action="(/staff/submissions/[A-Z0-9-]+/check-in)"')


def signed_in(app: Flask, role: str = "front_desk") -> tuple[FlaskClient, str]:
    email = f"{role}@clinic.example"
    secret = make_staff(app, email, role)
    client = app.test_client()
    sign_in(client, email, secret)
    return client, secret


def sign_in_again(client: FlaskClient, secret: str, email: str = "front_desk@clinic.example") -> None:
    """A full sign-in (password and a fresh code: the last one was used) after patient mode."""
    CLOCK.offset += timedelta(seconds=31)
    sign_in(client, email, secret)


def start_checkin(client: FlaskClient, reference: str) -> Any:
    page = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    action = START.search(page)
    assert action is not None, "no Start check-in button"
    return client.post(action.group(1), data={"csrf_token": token_of(page)})


def answer_checkin(client: FlaskClient, answers: dict[str, str]) -> Any:
    page = client.get("/check-in/")
    assert page.status_code == 200
    return client.post("/check-in/", data={"csrf_token": token_of(page.get_data(as_text=True)), **answers})


def test_check_in_in_spanish_stored_encrypted_audited_and_shown_to_staff(app: Flask) -> None:
    ref = add_submission(app, {**DRIP, "contact_name": "Lucía Prueba"}, language="es")
    client, secret = signed_in(app)
    started = start_checkin(client, ref)
    assert started.status_code == 303 and started.location.endswith("/check-in/")
    assert "oq_staff=;" in started.headers.get("Set-Cookie", "") or "oq_staff=" in started.headers.get("Set-Cookie", "")

    page = client.get("/check-in/").get_data(as_text=True)
    shown = visible_text(page)
    # The patient's language, the three questions (the drip asks about eating), nothing of the record.
    assert "¿Ha cambiado algo de su salud" in shown and "¿Ha comido algo en las últimas 4 horas?" in shown
    assert "Prefiero hablar de esto en privado" in shown
    assert "Lucía" not in page and ref not in page and "/staff/" not in page.replace("/staff/sign-in", "")

    sent = answer_checkin(
        client, {"checkin_health_changed": "no", "checkin_alcohol_drugs_12h": "prefer_private", "checkin_eaten": "no"}
    )
    assert sent.status_code == 303 and sent.location.endswith("/check-in/done")
    done = visible_text(client.get("/check-in/done").get_data(as_text=True))
    assert "Un profesional clínico hablará con usted antes de cualquier tratamiento hoy." in done
    assert "Hablaremos de esto con usted en privado." in done
    assert "Por favor, dígaselo al personal antes de que empiece el tratamiento." in done
    assert "reservar" not in done.lower()  # never the booking wording at check-in

    with app.app_context():
        row = db.session.scalar(select(CheckIn))
        assert row is not None and row.completed_at is not None and row.token_hash is None
        assert row.answers == {
            "checkin_health_changed": "no",
            "checkin_alcohol_drugs_12h": "prefer_private",
            "checkin_eaten": "no",
        }
        assert {f["id"] for f in row.fired} == {"r_checkin_intoxication", "r_checkin_not_eaten"}
        assert row.level == "discuss_before_booking" and row.ruleset_version == app.extensions["ruleset"].version
        raw = db.session.execute(text("SELECT answers, fired FROM check_ins")).one()
        assert "prefer_private" not in raw[0] and "r_checkin" not in raw[1]
        actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.submission_ref == ref))]
        assert "checkin_started" in actions and "checkin_completed" in actions
        for event in db.session.scalars(select(AuditEvent)):
            assert "prefer_private" not in (event.detail or "")

    # Staff come back only by signing in again; the page shows the result at the top.
    assert client.get(f"/staff/submissions/{ref}").status_code == 302
    sign_in_again(client, secret)
    staff_page = client.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    top = staff_page.split("Check-in on the day")[1].split("Contact")[0]
    assert "r_checkin_intoxication" in top and "r_checkin_not_eaten" in top and "Discuss before booking" in top
    assert "Prefer" in top or "rather talk" in top


def test_patient_mode_reaches_no_staff_page(app: Flask) -> None:
    ref = add_submission(app, DRIP)
    client, _secret = signed_in(app, "admin")
    start_checkin(client, ref)
    assert client.get("/check-in/").status_code == 200
    public = {"auth.sign_in", "auth.timed_out"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or "GET" not in (rule.methods or ()):
            continue
        url = re.sub(r"<(?:[a-z]+:)?reference>", ref, rule.rule)
        url = re.sub(r"<any\(([a-z_]+)[^>]*>", r"\1", url)  # the first value an "any" converter takes
        url = re.sub(r"<int[^>]*>", "1", url)
        url = re.sub(r"<[^>]+>", "x", url)
        response = client.get(url)
        if rule.endpoint in public:
            assert ref not in response.get_data(as_text=True)
            continue
        if rule.endpoint.startswith("auth.") and response.status_code == 404:
            continue  # the enrolment QR code of a half-finished sign-in: there is none
        assert response.status_code in (302, 403), (url, response.status_code)
        if response.status_code == 302:
            assert "/staff/sign-in" in response.location, (url, response.location)
    # The check-in token works on the check-in page only, and once.
    sent = answer_checkin(
        client, {"checkin_health_changed": "no", "checkin_alcohol_drugs_12h": "no", "checkin_eaten": "yes"}
    )
    assert sent.status_code == 303
    again = client.post("/check-in/", data={"checkin_health_changed": "yes"})
    assert again.status_code == 410
    # Handing back ends patient mode and asks for a full sign-in, then goes to the submission.
    back = client.get("/check-in/hand-back")
    assert "/staff/sign-in" in back.location and ref in back.location
    assert client.get("/check-in/done").status_code == 410


def test_a_stranger_without_the_token_gets_nothing(app: Flask) -> None:
    ref = add_submission(app, DRIP)
    client, _secret = signed_in(app)
    start_checkin(client, ref)
    stranger = app.test_client()
    assert stranger.get("/check-in/").status_code == 410
    assert stranger.get("/check-in/done").status_code == 410


def test_health_changed_starts_an_empty_form_linked_to_the_first(app: Flask) -> None:
    ref = add_submission(app, {**DRIP, "contact_name": "Ana Primera"})
    client, secret = signed_in(app)
    start_checkin(client, ref)
    answer_checkin(client, {"checkin_health_changed": "yes", "checkin_alcohol_drugs_12h": "no", "checkin_eaten": "yes"})
    done = client.get("/check-in/done").get_data(as_text=True)
    assert "Please answer a few questions again so our team has up-to-date information." in visible_text(done)
    started = client.post("/check-in/rescreen", data={"csrf_token": token_of(done)})
    assert started.status_code == 303 and "/questions/" in started.location
    first_page = client.get(started.location).get_data(as_text=True)
    assert "Ana Primera" not in first_page and "checked" not in first_page  # nothing prefilled
    with app.app_context():
        earlier = db.session.scalar(select(Submission).where(Submission.reference == ref))
        draft = db.session.scalar(select(Draft).where(Draft.rescreen_of_id == earlier.id))
        assert draft is not None and draft.answers == {} and draft.done_pages == []
    # A second press starts nothing more.
    assert client.post("/check-in/rescreen", data={"csrf_token": token_of(done)}).status_code == 410

    patient = Patient(client)
    patient.complete({**ALL_NO, "contact_name": "Ana Segunda"})
    with app.app_context():
        earlier = db.session.scalar(select(Submission).where(Submission.reference == ref))
        new = db.session.scalar(select(Submission).where(Submission.rescreen_of_id == earlier.id))
        assert new is not None and new.answers["contact_name"] == "Ana Segunda"
        new_ref = new.reference
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rescreen_started")) is not None
    sign_in_again(client, secret)
    old_page = client.get(f"/staff/submissions/{ref}").get_data(as_text=True)
    new_page = client.get(f"/staff/submissions/{new_ref}").get_data(as_text=True)
    assert f'href="/staff/submissions/{new_ref}"' in old_page and "r_checkin_changed" in old_page
    assert f'href="/staff/submissions/{ref}"' in new_page and "Rescreen" in new_page


def test_queue_filters_checked_in_today(app: Flask, clock: Clock) -> None:
    # Noon today, so that the check-in and the search (a sign-in apart) fall on the same day.
    now = datetime.now(UTC)
    clock.offset = now.replace(hour=12, minute=0, second=0, microsecond=0) - now
    checked = add_submission(app, DRIP)
    other = add_submission(app, DRIP)
    client, secret = signed_in(app)
    start_checkin(client, checked)
    answer_checkin(client, {"checkin_health_changed": "no", "checkin_alcohol_drugs_12h": "no", "checkin_eaten": "yes"})
    sign_in_again(client, secret)
    everyone = queue_references(client.get("/staff/?status=any").get_data(as_text=True))
    assert checked in everyone and other in everyone
    page = client.get("/staff/?status=any&checked_in=today").get_data(as_text=True)
    assert queue_references(page) == [checked]
    assert 'value="today" selected' in page


def test_rules_evaluate_accepts_the_check_in_ids(runner: Any, tmp_path: Any) -> None:
    path = tmp_path / "answers.json"
    path.write_text(
        json.dumps(
            {
                **ALL_NO,
                "treatment_types": ["blood_drip"],
                "checkin_health_changed": "yes",
                "checkin_alcohol_drugs_12h": "yes",
                "checkin_eaten": "no",
            }
        )
    )
    result = runner.invoke(args=["rules", "evaluate", str(path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"r_checkin_changed", "r_checkin_intoxication", "r_checkin_not_eaten"} <= set(out["rules"])
    path.write_text(json.dumps({"checkin_alcohol_drugs_12h": "maybe"}))
    assert runner.invoke(args=["rules", "evaluate", str(path)]).exit_code == 2
