"""Clinical-content.md section R in real Chromium: a patient who is not sure is asked the follow-up, the
outcome says what section R says, and the clinician's page shows what the medicines-list check found."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from questionnaire.core.definition import QUESTIONNAIRE

from ..helpers import NO_FLAGS
from ..servers import LiveServer
from .test_patient_browser import BrowserPatient
from .test_staff_browser import create_staff_account, enrol, sign_in_with_password

pytestmark = pytest.mark.browser


def test_not_sure_about_ozone_this_week_asks_about_the_site_and_sends_to_same_day_care(
    js_page: Page, live_server: LiveServer
) -> None:
    page = js_page
    patient = BrowserPatient(page, live_server)
    patient.start()
    answers = NO_FLAGS | {
        "recent_ozone_7d": "not_sure",
        "post_ozone_red_flags": ["none_of_these"],
        "post_ozone_site_problem": "not_sure",
    }
    patient.fill("urgent", answers)
    patient.continue_to("/questions/urgent-follow-up")
    # The follow-up asked after "Yes" is asked after "Not sure" too, in words that fit both.
    expect(page.get_by_text(QUESTIONNAIRE.questions["post_ozone_site_problem"].text.split(". ")[0])).to_be_visible()
    patient.fill("urgent-follow-up", answers)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/get-help-now$"))
    expect(page.locator("h1")).to_have_text("Get medical advice today")
    expect(page.locator("main")).to_contain_text("can be a sign of infection")
    expect(page.get_by_text("Get medical help now")).to_have_count(0)


def test_a_listed_blood_thinner_and_g6pd_not_sure_are_discussed_and_the_clinician_sees_why(
    js_page: Page, browser: Browser, live_server: LiveServer
) -> None:
    page = js_page
    patient = BrowserPatient(page, live_server)
    answers = NO_FLAGS | {
        "treatment_types": ["blood_drip"],
        "g6pd_deficiency": "not_sure",
        "blood_thinner": "no",
        "medicines_list": "Sintrom 4 mg, omeprazol",
    }
    patient.complete(answers)
    patient.send()
    reference = patient.reference()
    main = page.locator("main")
    expect(page.get_by_role("heading", name="Our team needs to talk with you before you book")).to_be_visible()
    expect(main).to_contain_text("This form is not a diagnosis")
    expect(main).to_contain_text("You may be asked to have a simple blood test first.")
    expect(main).not_to_contain_text("It does not mean you can't have treatment")
    assert main.inner_text().count("We will contact you") == 1

    email = f"clinician-{uuid.uuid4().hex[:8]}@clinic.example"
    create_staff_account(live_server, email, role="clinician")
    secret = enrol(browser, live_server, email, javascript=True)
    sign_in_with_password(page, live_server, email)
    page.wait_for_url(re.compile(r"/staff/code"))
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill(totp.at(datetime.now(UTC) + timedelta(seconds=30)))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    page.goto(live_server.url(f"/staff/submissions/{reference}"))
    staff_main = page.locator("main")
    expect(staff_main).to_contain_text("Names found in the patient's list: Sintrom.")
    expect(staff_main).to_contain_text("checked only for the names in the rule set's lists")
    expect(staff_main).to_contain_text("The medicine list names Sintrom, a blood thinner")
    expect(staff_main).to_contain_text("G6PD status: answered not sure")
