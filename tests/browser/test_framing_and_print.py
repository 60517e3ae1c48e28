"""In real Chromium: the clinic's own page frames the patient form through a whole walk when
FLASK_FRAME_ANCESTORS names it, and the frame is blocked when it does not; the printed copy (a PDF
printed by Chromium) carries the clinic, the reference and the date on each of its pages.

The clinic's page is served by a tiny http.server on another loopback port, as http://localhost:PORT,
so that it is another site than the app (http://127.0.0.1:PORT): the frame is a third-party context
and the session cookie must be SameSite=None; Secure (Chromium accepts Secure cookies from loopback
addresses over plain HTTP).
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Frame, Page

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE

from ..helpers import PERSONAS, form_data
from ..servers import LiveServer, free_port
from .conftest import new_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class ClinicSite:
    """http://localhost:PORT/ : the clinic's page with an <iframe> to `target`."""

    def __init__(self, target: str, port: int | None = None) -> None:
        page = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Clinic</title></head>'
            f'<body><h1>Our clinic</h1><iframe id="form" title="Health questions" src="{target}" '
            f'width="900" height="1400"></iframe></body></html>'
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = port or free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def framing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    """The app allowing a clinic page on a chosen loopback port to frame it."""
    parent_port = free_port()
    server = LiveServer(
        tmp_path_factory.mktemp("framing"),
        workers=1,
        threads=4,
        name="framing",
        env={
            "FLASK_FRAME_ANCESTORS": json.dumps([f"http://localhost:{parent_port}"]),
            "FLASK_SESSION_COOKIE_SECURE": "true",
        },
    )
    server.start()
    try:
        yield server, parent_port
    finally:
        server.stop()


def frame_of(page: Page, app_url: str) -> Frame | None:
    return next((f for f in page.frames if f.url.startswith(app_url)), None)


def press(frame: Frame, selector: str = "main button[type=submit]") -> None:
    with frame.expect_navigation():
        frame.locator(selector).first.click()


def fill(frame: Frame, page_id: str, answers: dict[str, Any]) -> None:
    fields = [
        (name, v)
        for name, value in form_data(page_id, answers).items()
        for v in (value if isinstance(value, list) else [value])
    ]
    frame.evaluate(
        """fields => {
        for (const [name, value] of fields) {
            const boxes = [...document.getElementsByName(name)].filter(
                el => el.type === 'radio' || el.type === 'checkbox');
            if (boxes.length) { boxes.forEach(box => { if (box.value === value) { box.checked = true; } }); }
            else { document.querySelector(`[name="${name}"]`).value = value; }
        }
    }""",
        fields,
    )


def test_the_clinic_page_frames_the_form_through_a_whole_walk_when_configured(
    browser: Browser, framing_server: tuple[LiveServer, int]
) -> None:
    server, parent_port = framing_server
    clinic = ClinicSite(server.url("/"), port=parent_port)  # the origin FLASK_FRAME_ANCESTORS names
    context = new_context(browser, javascript=True)
    try:
        page = context.new_page()
        page.goto(clinic.url, wait_until="domcontentloaded")
        page.frame_locator("#form").locator("button.button--start").wait_for()
        frame = frame_of(page, server.base_url)
        assert frame is not None, [f.url for f in page.frames]
        press(frame, "button.button--start")
        answers = PERSONAS["discuss_before_booking"]
        page_id: str | None = QUESTIONNAIRE.pages[0].id
        while page_id is not None and page_id != "declaration":
            assert frame.url.endswith(f"/questions/{page_id}"), (frame.url, page_id)
            fill(frame, page_id, answers)
            press(frame)
            following = flow.next_page(page_id, answers)
            page_id = following.id if following else None
        assert frame.url.endswith("/check-answers"), frame.url
        frame.locator("#declaration").check()
        press(frame)
        assert frame.url.endswith("/sent"), frame.url
        assert re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", frame.locator(".reference").inner_text())
    finally:
        context.close()
        clinic.close()


def test_without_the_setting_the_frame_is_blocked(browser: Browser, live_server: LiveServer) -> None:
    clinic = ClinicSite(live_server.url("/"))
    context = new_context(browser, javascript=True)
    try:
        page = context.new_page()
        page.goto(clinic.url, wait_until="domcontentloaded")
        page.wait_for_timeout(500)
        frame = page.frame_locator("#form")
        assert frame.locator("button.button--start").count() == 0
        assert page.locator("h1").inner_text() == "Our clinic"
    finally:
        context.close()
        clinic.close()


def pdf_page_count(pdf: bytes) -> int:
    """The number of pages of a PDF Chromium printed (its /Type /Page objects). The text of each page
    is not extracted (that would need a PDF library): the test checks instead that the running head
    is a table header group in print, which Chromium repeats at the top of every printed page."""
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def test_the_printed_copy_repeats_the_clinic_reference_and_date_on_every_printed_page(
    js_page: Page, live_server: LiveServer
) -> None:
    from .test_accessibility import answer_by_requests, send_declaration

    page = js_page
    where = answer_by_requests(
        page, live_server, {**PERSONAS["discuss_before_booking"], "other_concerns": "Knee pain\n" * 40}
    )
    page.goto(live_server.url(where))
    send_declaration(page)
    page.goto(live_server.url("/sent/print"))
    reference = page.locator("main .reference").first.inner_text()
    page.emulate_media(media="print")
    head = page.locator(".print-frame__head")
    assert head.evaluate("el => getComputedStyle(el).display") == "table-header-group"
    assert reference in head.inner_text() and "Test Clinic" in head.inner_text()
    assert page.locator("[data-print-block]").evaluate("el => getComputedStyle(el).display") == "none"
    pdf = page.pdf(format="A4")
    assert pdf[:5] == b"%PDF-"
    assert pdf_page_count(pdf) >= 2, "the copy should need more than one sheet for this test to mean anything"
