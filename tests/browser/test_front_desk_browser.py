"""The front desk in real Chromium: from the queue, the newest urgent case and the oldest overdue
discuss-before-booking case are one click each; a contact attempt is one click; axe finds no
violation on the queue, a submission and the call sheet; at 320 px nothing scrolls sideways."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from ..helpers import PERSONAS
from ..servers import LiveServer
from ..staff_factory import add_submission
from ..staff_helpers import make_staff
from .test_accessibility import axe_violations, context_for_tours, report, sign_in

pytestmark = pytest.mark.browser
_ORDER = itertools.count()


def seed(app: Flask) -> dict[str, str]:
    """Two urgent cases (one received a minute ago), two discuss-before-booking cases long overdue."""
    now = datetime.now(UTC)
    oldest = datetime(1980, 1, 1, tzinfo=UTC) - timedelta(days=30 * next(_ORDER))
    return {
        "old_urgent": add_submission(
            app, {**PERSONAS["urgent"], "contact_name": "Old Urgent"}, created_at=now - timedelta(days=2)
        ),
        "new_urgent": add_submission(
            app,
            {**PERSONAS["urgent"], "contact_name": "New Urgent"},
            created_at=now,  # newer than any case an earlier test on this server made
        ),
        "old_discuss": add_submission(
            app, {**PERSONAS["discuss_before_booking"], "contact_name": "Oldest Discuss"}, created_at=oldest
        ),
        "discuss": add_submission(
            app,
            {**PERSONAS["discuss_before_booking"], "contact_name": "Later Discuss"},
            created_at=oldest + timedelta(days=3),
        ),
    }


def signed_in_page(browser: Browser, server: LiveServer, app: Flask, **options: object) -> Page:
    email = f"desk-{uuid.uuid4().hex[:8]}@clinic.example"
    secret = make_staff(app, email, "front_desk")
    context = context_for_tours(browser, **options)
    page = context.new_page()
    sign_in(page, server, email, secret)
    return page


def test_the_newest_urgent_and_the_oldest_overdue_discuss_case_are_one_click_from_the_queue(
    browser: Browser, live_server: LiveServer, live_app: Flask
) -> None:
    refs = seed(live_app)
    page = signed_in_page(browser, live_server, live_app)
    try:
        start = page.locator(".start-here")
        start.get_by_role("link", name=re.compile(r"^Newest urgent: ")).click()
        page.wait_for_url(re.compile(rf"/staff/submissions/{refs['new_urgent']}$"))
        expect(page.locator(".action-card")).to_contain_text("New Urgent")
        page.go_back()
        link = page.locator(".start-here li").filter(has_text="Oldest discuss before booking")
        expect(link).to_contain_text("(overdue)")
        link.get_by_role("link").click()
        page.wait_for_url(re.compile(rf"/staff/submissions/{refs['old_discuss']}$"))
        card = page.locator(".action-card")
        expect(card).to_contain_text("Overdue.")
        expect(card).to_contain_text("Booking is on hold")
        # One click records a contact attempt, shown in the timeline.
        card.get_by_role("button", name="No answer").click()
        expect(page).to_have_url(re.compile(r"#call-log$"))
        expect(page.locator(".note--call").last).to_contain_text("Call: No answer")
    finally:
        page.context.close()


def test_the_front_desk_pages_have_no_axe_violations(
    browser: Browser, live_server: LiveServer, live_app: Flask
) -> None:
    refs = seed(live_app)
    page = signed_in_page(browser, live_server, live_app, bypass_csp=True)
    found = {}
    try:
        for name, path in (
            ("queue", "/staff/"),
            ("urgent submission", f"/staff/submissions/{refs['new_urgent']}"),
            ("discuss submission", f"/staff/submissions/{refs['old_discuss']}"),
            ("call sheet", "/staff/call-sheet"),
        ):
            page.goto(live_server.url(path))
            violations = axe_violations(page)
            if violations:
                found[name] = violations
            if name == "queue":
                page.locator(".filter-box summary").click()  # the filters, open
                violations = axe_violations(page)
                if violations:
                    found["queue, filters open"] = violations
    finally:
        page.context.close()
    assert not found, report(found)


@pytest.mark.parametrize("width", [320, 640])
def test_no_sideways_scroll_on_a_phone(
    browser: Browser, live_server: LiveServer, live_app: Flask, tmp_path: Path, width: int
) -> None:
    refs = seed(live_app)
    page = signed_in_page(browser, live_server, live_app, viewport={"width": width, "height": 800})
    try:
        for name, path in (
            ("queue", "/staff/?status=any"),
            ("submission", f"/staff/submissions/{refs['old_discuss']}"),
            ("call-sheet", "/staff/call-sheet"),
        ):
            page.goto(live_server.url(path))
            page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} at {width} px scrolls sideways: {scroll} px wide"
        page.goto(live_server.url("/staff/?status=any"))
        if width <= 640:  # the queue is a list of cards: no table header row shown
            assert page.locator(".table--cards thead").evaluate("e => e.getBoundingClientRect().height") <= 1
    finally:
        page.context.close()
