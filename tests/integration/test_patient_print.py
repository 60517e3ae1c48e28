"""The patient's print-friendly copy of their answers, which works without JavaScript."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from questionnaire.data.models import Clock, Submission
from questionnaire.extensions import db

from ..helpers import PERSONAS, Patient, visible_text


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
    assert "Change" not in html  # a copy, not the check-your-answers page


def test_there_is_no_printable_copy_before_sending(patient: Patient) -> None:
    patient.start()
    assert patient.get("/sent/print").location == "/"


def test_a_shared_device_forgets_the_sent_answers_after_an_hour(app: Flask, patient: Patient, clock: Clock) -> None:
    """The outcome, the printable copy and the emergency page can be opened again for a while after
    sending (to print, or to read again); after SENT_COPY_MINUTES the browser forgets them, so the
    next person on the device cannot read the answers."""
    patient.complete(PERSONAS["discuss_before_booking"])
    clock.offset = timedelta(minutes=59)
    assert patient.get("/sent").status_code == 200 and "warfarin" in patient.get("/sent/print").get_data(as_text=True)
    clock.offset = timedelta(minutes=61)
    for url in ("/sent/print", "/sent", "/get-help-now", "/check-answers", "/questions/blood"):
        response = patient.get(url)
        assert response.status_code == 302 and response.location in ("/", "/?expired=1"), url
    start = patient.get("/").get_data(as_text=True)
    assert "warfarin" not in start and "Continue your answers" not in visible_text(start)
    with app.app_context():  # the clinic still has the submission, of course
        assert db.session.scalars(select(Submission)).one().stopped_early is False


def test_an_urgent_stop_is_forgotten_by_the_device_after_an_hour_too(patient: Patient, clock: Clock) -> None:
    patient.complete(PERSONAS["urgent"])
    assert patient.get("/get-help-now").status_code == 200
    clock.offset = timedelta(minutes=61)
    assert patient.get("/get-help-now").location == "/"
