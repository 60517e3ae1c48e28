"""Check-in on the day in real Chromium against gunicorn: the front desk starts a check-in and hands
the device over, the patient answers in Spanish, the front desk signs in again and sees the result
and the rules that fired; "health changed" starts an empty form linked to the first; axe-core finds
no violation on the check-in pages."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from questionnaire.data.models import Draft, Submission
from questionnaire.extensions import db

from ..helpers import PERSONAS
from ..servers import LiveServer
from ..staff_factory import add_submission
from .test_accessibility import AxeVisits, context_for_tours
from .test_staff_browser import create_staff_account, enrol, sign_in_with_password

pytestmark = pytest.mark.browser


def sign_in_fully(page: Page, server: LiveServer, email: str, secret: str, step: int) -> None:
    """Password, then a code of a later time step than any used before (a code works once)."""
    sign_in_with_password(page, server, email)
    page.wait_for_url(re.compile(r"/staff/code"))
    code = pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * step))
    page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()


def test_check_in_handed_over_answered_in_spanish_then_rescreen(
    browser: Browser, live_server: LiveServer, live_app: Flask
) -> None:
    # The check-in and the "checked in today" search fall on the same day (the clinic's, UTC here).
    now = datetime.now(UTC)
    to_midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) - now
    if to_midnight < timedelta(minutes=3):
        time.sleep(to_midnight.total_seconds() + 1)
    drip = {**PERSONAS["none"], "treatment_types": ["blood_drip"], "contact_name": "Paciente Prueba"}
    reference = add_submission(live_app, drip, language="es")
    email = f"desk-{uuid.uuid4().hex[:8]}@clinic.example"
    create_staff_account(live_server, email)
    secret = enrol(browser, live_server, email, javascript=True)
    axe = AxeVisits()
    context = context_for_tours(browser)
    try:
        page = context.new_page()
        sign_in_fully(page, live_server, email, secret, step=0)
        page.wait_for_url(re.compile(r"/staff/$"))
        page.goto(live_server.url(f"/staff/submissions/{reference}"))
        expect(page.locator("#checkin-heading")).to_have_text("Check-in on the day")
        axe(page, "staff submission, not checked in")

        # Front desk: Start check-in; the device is in patient mode, in the patient's language.
        page.get_by_role("button", name="Start check-in").click()
        page.wait_for_url(re.compile(r"/check-in/$"))
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.locator("main")).not_to_contain_text("Paciente Prueba")
        expect(page.locator("main")).not_to_contain_text(reference)
        assert all(c["name"] != "oq_staff" for c in context.cookies())
        axe(page, "check-in questions (es)")
        page.get_by_role("button", name="Enviar").click()  # nothing answered: the error state
        expect(page.locator(".error-summary")).to_be_visible()
        axe(page, "check-in questions, errors (es)")

        page.locator("#checkin_health_changed").check()  # Sí: health changed
        page.get_by_label("Prefiero hablar de esto en privado").check()
        page.locator("input[name=checkin_eaten][value=no]").check()
        page.get_by_role("button", name="Enviar").click()
        page.wait_for_url(re.compile(r"/check-in/done$"))
        main = page.locator("main")
        expect(main).to_contain_text("Un profesional clínico hablará con usted antes de cualquier tratamiento hoy.")
        expect(main).to_contain_text("responda de nuevo a algunas preguntas")
        axe(page, "check-in outcome (es)")

        # The patient cannot wander into the staff area: it asks for a sign-in.
        page.goto(live_server.url(f"/staff/submissions/{reference}"))
        expect(page.locator("h1")).to_have_text("Sign in")
        page.go_back()

        # "Health changed": a new, empty form linked to the first.
        page.get_by_role("button", name="Responder de nuevo a las preguntas de salud").click()
        page.wait_for_url(re.compile(r"/questions/"))
        expect(page.locator("input:checked")).to_have_count(0)
        with live_app.app_context():
            first = db.session.scalar(select(Submission).where(Submission.reference == reference))
            draft = db.session.scalar(select(Draft).where(Draft.rescreen_of_id == first.id))
            assert draft is not None and draft.answers == {}

        # Back to the front desk: a full sign-in, then the result at the top of the submission.
        sign_in_fully(page, live_server, email, secret, step=1)
        page.goto(live_server.url(f"/staff/submissions/{reference}"))
        panel = page.locator(".checkin-panel")
        expect(panel).to_contain_text("r_checkin_changed")
        expect(panel).to_contain_text("r_checkin_intoxication")
        expect(panel).to_contain_text("r_checkin_not_eaten")
        expect(panel).to_contain_text("A rescreen form was started")
        axe(page, "staff submission, checked in")
        page.goto(live_server.url("/staff/?status=any&checked_in=today"))
        expect(page.locator("table tbody tr")).to_have_count(1)
        expect(page.locator("table tbody tr").first).to_contain_text(reference)
        axe(page, "queue, checked in today")
        # The ended page (a used token) too.
        page.goto(live_server.url("/check-in/"))
        expect(page.locator("h1")).to_have_text(re.compile("check-in has ended|registro de llegada ha terminado"))
        axe(page, "check-in ended")
    finally:
        context.close()
    axe.check()
