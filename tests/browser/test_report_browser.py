"""The report page in Chromium: no axe-core violation (WCAG 2.x A and AA) with its figures, a replay
result, a refused candidate and a refused range; and nothing on it that the Content-Security-Policy
blocks (inline SVG with presentation attributes, no style attribute, no script)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from questionnaire.core.rules import DEFAULT_PATH

from ..helpers import NO_FLAGS, PERSONAS
from ..servers import LiveServer
from ..staff_factory import add_submissions
from ..staff_helpers import make_staff
from .test_accessibility import AxeVisits, axe_path, context_for_tours, sign_in, submit, unique_email

pytestmark = pytest.mark.browser
_ = axe_path  # a fixture, used by name

G6PD_RULE = "  - id: r_g6pd_unknown\n    level: mention_at_consultation\n"


def candidate(level: str) -> bytes:
    text = Path(DEFAULT_PATH).read_text(encoding="utf-8").split("\nexamples:")[0] + "\n"
    return text.replace(G6PD_RULE, G6PD_RULE.replace("mention_at_consultation", level)).encode()


def test_the_report_page_has_no_axe_violations_and_nothing_blocked(
    browser: Browser, live_server: LiveServer, live_app: Flask, axe_path: Path
) -> None:
    now = datetime.now(UTC)
    add_submissions(
        live_app,
        [
            {"persona": name, "created_at": now - timedelta(days=i * 9), "language": "es" if i % 2 else "en"}
            for i, name in enumerate(PERSONAS)
        ]
        + [
            {
                "answers": {**NO_FLAGS, "g6pd_deficiency": "not_sure", "hole_in_heart": "not_sure"},
                "created_at": now - timedelta(days=3),
            }
        ],
    )
    email = unique_email("clinician")
    secret = make_staff(live_app, email, "clinician")
    axe = AxeVisits()
    context = context_for_tours(browser, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, live_server, email, secret)
        page.get_by_role("link", name="Report").click()
        expect(page.locator("svg[role=img]")).to_have_count(3)  # waits for the page the click opens
        axe(page, "report")
        page.set_input_files(
            "#candidate",
            files=[
                {
                    "name": "candidate.yaml",
                    "mimeType": "application/yaml",
                    "buffer": candidate("discuss_before_booking"),
                }
            ],
        )
        submit(page, "form[enctype] button[type=submit]")
        assert page.locator("#replay-rules").count() == 1
        axe(page, "report, replay result")
        page.set_input_files(
            "#candidate", files=[{"name": "broken.yaml", "mimeType": "application/yaml", "buffer": candidate("soon")}]
        )
        submit(page, "form[enctype] button[type=submit]")
        assert "broken.yaml:" in page.locator(".error-summary").inner_text()
        axe(page, "report, refused candidate")
        page.goto(live_server.url("/staff/report/?from=2025-03-31&to=2025-03-01"))
        axe(page, "report, refused range")
        signed_in = context.storage_state()
    finally:
        context.close()
    axe.check()

    # The page as the browser enforces the policy (the same session: a code is accepted once): nothing refused.
    context = context_for_tours(browser, bypass_csp=False, storage_state=signed_in)
    try:
        page = context.new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(live_server.url("/staff/report/"))
        assert page.locator("svg[role=img] rect").count() > 3
        assert refused == []
    finally:
        context.close()
