"""A front-desk morning in real headless Chromium against gunicorn, with JavaScript on and off:
sign in with password and code, open the top urgent submission, add a note, mark contacted, sign out."""

from __future__ import annotations

import itertools
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from questionnaire.data.models import Note, Submission
from questionnaire.extensions import db

from ..helpers import PERSONAS
from ..servers import ROOT, LiveServer, server_environment, venv_tool
from ..staff_factory import add_submission
from .conftest import new_context

pytestmark = pytest.mark.browser

PASSWORD = "front desk morning phrase 7"
_ORDER = itertools.count()


def create_staff_account(server: LiveServer, email: str, role: str = "front_desk") -> None:
    """`flask --app wsgi staff create ... --password-stdin` with the live server's environment
    (its database, keys and any extra settings)."""
    done = subprocess.run(
        [venv_tool("flask"), "--app", "wsgi", "staff", "create", email, "--role", role, "--password-stdin"],
        cwd=ROOT,
        env=server_environment(server.database_uri, server.extra_env),
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def sign_in_with_password(page: Page, server: LiveServer, email: str) -> None:
    page.goto(server.url("/staff/"))
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def enrol(browser: Browser, server: LiveServer, email: str, javascript: bool) -> str:
    """First sign-in: the enrolment page shows the key; confirm with a code. Returns the key."""
    context = new_context(browser, javascript)
    try:
        page = context.new_page()
        sign_in_with_password(page, server, email)
        page.wait_for_url(re.compile(r"/staff/enrol"))
        expect(page.locator("img[alt^='QR code']")).to_be_visible()
        secret = page.get_by_test_id("otp-secret").inner_text().strip()
        # The previous step's code (still accepted), so that the current one is left for the morning.
        # Not in a step's last seconds: by the time the code arrives, the server's clock may be a step
        # further on, and then the previous step is two behind and refused.
        while 30 - time.time() % 30 < 5:
            time.sleep(0.2)
        totp = pyotp.TOTP(secret)
        page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() - 30))
        page.get_by_role("button", name="Confirm and sign in").click()
        page.wait_for_url(re.compile(r"/staff/$"))
        return secret
    finally:
        context.close()


def test_front_desk_morning(
    page: Page, browser: Browser, live_server: LiveServer, live_app: Flask, javascript: bool
) -> None:
    # The oldest new urgent submission of the day, and a less urgent one received earlier still.
    oldest = datetime(2001, 1, 1, tzinfo=UTC) - timedelta(days=next(_ORDER))
    urgent = add_submission(live_app, {**PERSONAS["urgent"], "contact_name": "Morgan <b>Test</b>"}, created_at=oldest)
    add_submission(live_app, persona="discuss_before_booking", created_at=oldest - timedelta(days=1))
    email = f"desk-{uuid.uuid4().hex[:8]}@clinic.example"
    create_staff_account(live_server, email)
    secret = enrol(browser, live_server, email, javascript)

    # Morning: sign in with password, then the code from the phone.
    sign_in_with_password(page, live_server, email)
    page.wait_for_url(re.compile(r"/staff/code"))
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    expect(page.locator("h1")).to_have_text("Queue")

    # Only new submissions; the top row is the oldest urgent one.
    page.get_by_text("Filters", exact=True).click()  # the filters fold away (a <details>)
    page.get_by_label("Status").select_option("new")
    page.locator("form.filters").filter(has=page.get_by_label("Status")).get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=new"))
    first_row = page.locator("table tbody tr").first
    expect(first_row.locator(".tag")).to_have_text("Urgent")
    expect(first_row).to_contain_text(urgent)
    expect(first_row.locator("td").first.get_by_role("link")).to_have_text("Morgan <b>Test</b>")
    first_row.locator("td").first.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/staff/submissions/{urgent}$"))
    expect(page.locator("h1")).to_contain_text(urgent)
    expect(page.locator("main")).to_contain_text("Chest pain or tightness right now")  # in words, not by id
    expect(page.locator("main")).not_to_contain_text("r_urgent_chest_pain_now")
    expect(page.locator("main")).to_contain_text("Morgan <b>Test</b>")  # shown as typed, not as markup
    expect(page.locator("main b")).to_have_count(0)

    # A note, then the status.
    note = "Called at 9:05, advised 999 straight away."
    page.get_by_label("Add a note").fill(note)
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(re.compile(rf"/staff/submissions/{urgent}(#notes)?$"))
    expect(page.locator(".note").last).to_contain_text(note)
    expect(page.locator(".note").last).to_contain_text(email)
    page.get_by_label("Change status").select_option("contacted")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("main")).to_contain_text(f"Contacted, set by {email}")

    # Sign out: the staff area is closed to this browser again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1")).to_have_text("You have signed out")
    page.goto(live_server.url(f"/staff/submissions/{urgent}"))
    expect(page.locator("h1")).to_have_text("Sign in")
    assert all(c["name"] != "oq_staff" for c in page.context.cookies())

    with live_app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.reference == urgent))
        assert sub is not None and (sub.status, sub.status_by, sub.version) == ("contacted", email, 2)
        assert db.session.scalars(select(Note.body).where(Note.submission_id == sub.id)).all() == [note]


def test_an_idle_staff_page_warns_then_closes_and_stay_signed_in_keeps_it(
    browser: Browser, live_server: LiveServer, live_app: Flask
) -> None:
    """A shared front-desk computer left with a patient's record open: two minutes before the idle
    sign-out (15 minutes) a warning asks whether to stay; with no answer the page closes and the
    record is no longer on the screen. The browser's clock is moved on; the server's is not."""
    reference = add_submission(live_app, {**PERSONAS["urgent"], "contact_name": "Robin Idlewood"})
    email = f"desk-{uuid.uuid4().hex[:8]}@clinic.example"
    create_staff_account(live_server, email)
    secret = enrol(browser, live_server, email, javascript=True)
    context = new_context(browser, True)
    try:
        page = context.new_page()
        page.clock.install()
        sign_in_with_password(page, live_server, email)
        page.wait_for_url(re.compile(r"/staff/code"))
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/staff/$"))
        page.goto(live_server.url(f"/staff/submissions/{reference}"))
        expect(page.locator("main")).to_contain_text("Robin Idlewood")
        warning = page.get_by_role("alertdialog", name="You will be signed out soon")
        expect(warning).to_be_hidden()

        page.clock.fast_forward("12:50")
        expect(warning).to_be_hidden()
        page.clock.fast_forward("00:20")  # 13:10: two minutes before the sign-out
        expect(warning).to_be_visible()
        stay = warning.get_by_role("button", name="Stay signed in")
        expect(stay).to_be_focused()
        with page.expect_response(lambda r: r.url.endswith("/staff/keepalive") and r.status == 204):
            stay.click()
        expect(warning).to_be_hidden()

        page.clock.fast_forward("13:05")  # counted again from "Stay signed in"
        expect(warning).to_be_visible()
        page.clock.fast_forward("02:00")
        page.wait_for_url(re.compile(r"/staff/timed-out$"))
        expect(page.locator("h1")).to_have_text("This page has closed")
        expect(page.locator("body")).not_to_contain_text("Robin Idlewood")
        page.go_back()  # replace(): Back does not bring the record back
        # (It may reach the page before the record, the queue, which lists names: the server's session
        # is still open here, as only the browser's clock was moved on.)
        expect(page).not_to_have_url(re.compile(rf"/staff/submissions/{reference}$"))
    finally:
        context.close()
