"""The patient's print-friendly copy of their answers, which works without JavaScript."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from questionnaire.extensions import db
from questionnaire.models import Submission

from .helpers import PERSONAS, Patient


def test_after_sending_the_patient_can_open_a_printable_copy_of_their_answers(app: Flask, patient: Patient) -> None:
    outcome = patient.complete(PERSONAS["discuss_before_booking"]).get_data(as_text=True)
    assert 'href="/sent/print"' in outcome
    page = patient.get("/sent/print")
    html = page.get_data(as_text=True)
    with app.app_context():
        sub = db.session.scalars(select(Submission)).one()
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert sub.reference in html
    assert "Do you take a medicine that thins your blood" in html and "warfarin" in html
    assert "Change" not in html   # a copy, not the check-your-answers page


def test_there_is_no_printable_copy_before_sending(patient: Patient) -> None:
    patient.start()
    assert patient.get("/sent/print").location == "/"
