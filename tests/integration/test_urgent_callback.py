"""Issue 16: a patient stopped by an urgent answer may leave a number for a call later (after the
emergency advice, never instead of it); it is stored encrypted with an audit row and shown to staff
as a tel: link; an urgent submission without any contact says so, and how to close it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Text, select, type_coerce

from questionnaire.data.models import AuditEvent, Submission
from questionnaire.extensions import db

from ..helpers import NO_FLAGS, Patient, form_data, visible_text
from ..staff_factory import add_submission
from ..staff_helpers import make_staff, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

NUMBER = "+34 611 222 333"
NOT_A_DELAY = (
    "This is not a way to get help now. If you need help now, call your local emergency number first: "
    "do not wait for the clinic to call you."
)


def stopped(patient: Patient) -> str:
    patient.start()
    answers = {**form_data("urgent", NO_FLAGS), "chest_pain_now": "yes"}
    assert patient.post("/questions/urgent", answers).location == "/get-help-now"
    return patient.get("/get-help-now").get_data(as_text=True)


def raw_row(app: Flask) -> tuple[str, str, str]:
    with app.app_context():
        row = db.session.execute(
            select(
                Submission.reference,
                type_coerce(Submission.callback_phone, Text),
                type_coerce(Submission.answers, Text),
            )
        ).one()
        return row[0], row[1], row[2]


def test_the_emergency_advice_comes_first_then_the_optional_callback_number_with_its_warning(
    app: Flask, patient: Patient
) -> None:
    html = stopped(patient)
    text = visible_text(html)
    assert text.index("call your local emergency number") < text.index("leave your number")
    assert "If you would like the clinic to call you later, leave your number" in text and NOT_A_DELAY in text
    assert html.index('role="alert"') < html.index('id="callback"')
    assert 'name="callback_phone"' in html and 'aria-describedby="callback_phone-hint"' in html


def test_the_callback_number_is_stored_encrypted_audited_and_shown_to_staff_as_a_tel_link(
    app: Flask, patient: Patient
) -> None:
    stopped(patient)
    patient.post("/get-help-now/callback", {"callback_phone": NUMBER})
    # Post/Redirect/Get: a reload does not send it again.
    response = patient.see_other
    assert response is not None and response.location == "/get-help-now#callback"
    page = visible_text(patient.get("/get-help-now").get_data(as_text=True))
    assert f"The clinic will call you later on {NUMBER}." in page
    reference, raw, _answers = raw_row(app)
    assert raw.startswith("v1:test1:") and "611222333" not in raw and "611 222 333" not in raw
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "callback_number_left"))
        assert event is not None and event.submission_ref == reference and event.actor == "patient"
        assert (event.ip or "").startswith("h:") and not event.detail
    client = app.test_client()
    assert sign_in(client, "desk@clinic.example", make_staff(app)).status_code == 302
    html = client.get(f"/staff/submissions/{reference}").get_data(as_text=True)
    assert f'<a href="tel:+34611222333">{NUMBER}</a>' in html
    assert "No contact details" not in html
    # And the front desk finds the patient by the number they will call from.
    found = client.get("/staff/search?q=611+222+333").get_data(as_text=True)
    assert f"/staff/submissions/{reference}" in found


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Enter a phone number, or leave this part of the page"),
        ("call me", "Enter a phone number, like 0161 496 0000 or +34 600 000 000"),
        ("12 34", "Enter a phone number, like 0161 496 0000 or +34 600 000 000"),
    ],
)
def test_a_number_that_is_not_one_is_refused_with_the_emergency_advice_still_first(
    app: Flask, patient: Patient, typed: str, message: str
) -> None:
    stopped(patient)
    response = patient.post("/get-help-now/callback", {"callback_phone": typed})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    text = visible_text(html)
    assert message in text and text.index("call your local emergency number") < text.index(message)
    assert f'value="{typed}"' in html and "<title>Error:" in html
    assert raw_row(app)[1] is None


def test_an_expired_form_saves_nothing_and_says_so(app: Flask, patient: Patient) -> None:
    stopped(patient)
    response = patient.client.post("/get-help-now/callback", data={"callback_phone": NUMBER, "csrf_token": "x"})
    assert response.status_code == 400 and "your number was not saved" in response.get_data(as_text=True)
    assert raw_row(app)[1] is None


def test_only_a_stopped_form_takes_a_callback_number(app: Flask, patient: Patient) -> None:
    assert patient.post("/get-help-now/callback", {"callback_phone": NUMBER}).location == "/"


def test_the_callback_page_is_in_spanish_too(app: Flask, patient: Patient) -> None:
    patient.start()
    patient.post("/language", {"lang": "es", "next": "/"})
    html = stopped(patient)
    assert "Si quiere que la clínica le llame más tarde, deje su número" in html


def test_an_urgent_submission_without_contact_says_so_and_how_to_close_it(app: Flask) -> None:
    answers: dict[str, Any] = {"chest_pain_now": "yes"}
    reference = add_submission(app, answers)
    client = app.test_client()
    assert sign_in(client, "desk@clinic.example", make_staff(app)).status_code == 302
    text = visible_text(client.get(f"/staff/submissions/{reference}").get_data(as_text=True))
    assert "No contact details: the patient was told to call emergency services." in text
    assert "set the status to Closed" in text
    # With contact details, no such notice.
    other = add_submission(app, {**NO_FLAGS, "chest_pain_now": "yes"})
    assert "No contact details" not in client.get(f"/staff/submissions/{other}").get_data(as_text=True)
