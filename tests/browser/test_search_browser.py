"""Issue 16 in real headless Chromium against gunicorn: a patient who phones is found by the front
desk by the digits of their phone number (spaced as they say it, with the country code) and by a
word of their name, and the result opens their submission."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from ..helpers import NO_FLAGS
from ..servers import LiveServer
from ..staff_factory import add_submission
from ..staff_helpers import make_staff
from .conftest import new_context
from .test_accessibility import sign_in, unique_email

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_front_desk_finds_a_patient_who_phones_by_phone_digits_and_by_name(
    browser: Browser, live_server: LiveServer, live_app: Flask, javascript: bool
) -> None:
    reference = add_submission(
        live_app, {**NO_FLAGS, "contact_name": "Begoña Ruiz-Zorrilla", "contact_phone": "600 71 42 93"}
    )
    email = unique_email("front_desk")
    secret = make_staff(live_app, email, "front_desk")
    context = new_context(browser, javascript)
    try:
        page = context.new_page()
        sign_in(page, live_server, email, secret)
        for typed in ("+34 600 714 293", "714293", "begona", "RUIZ"):
            page.goto(live_server.url("/staff/"))
            page.get_by_label("Name, phone, email or reference").fill(typed)
            page.get_by_role("button", name="Search").click()
            expect(page.locator("h1")).to_have_text("Find a patient")
            result = page.locator("ul.search-results a", has_text=reference)
            expect(result).to_have_count(1)
            expect(page.locator("ul.search-results")).to_contain_text("Begoña Ruiz-Zorrilla")
        result.click()
        expect(page.locator("h1")).to_contain_text(reference)
        expect(page.locator("main")).to_contain_text("600 71 42 93")
    finally:
        context.close()
