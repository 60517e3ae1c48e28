"""The whole patient flow with the keyboard alone, in real Chromium with JavaScript on.

After the first page load the test only presses keys (Tab, Shift+Tab, Space, Enter, arrow keys) and
types; it reads the page (which element has focus, its computed style, the title) but never clicks,
fills or navigates. On every element that takes focus the focus is visible (a computed outline or
box-shadow); after an empty Continue the error summary takes focus; the title changes per page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Question

from ..helpers import PERSONAS
from ..servers import LiveServer
from .test_accessibility import RULESET

# What is drawn, and how it is used, is the same over either database: the SQLite pass only.
pytestmark = [pytest.mark.browser, pytest.mark.any_database]

MAX_TABS = 150

# The focused element, and whether its focus indicator is visible.
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) { return null; }
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow !== 'none';
    return {
        tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '', type: el.type || '',
        value: el.value === undefined ? '' : String(el.value), checked: !!el.checked,
        text: (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 60),
        summary: el.hasAttribute('data-error-summary'),
        visible: outline || shadow, outline: style.outlineStyle + ' ' + style.outlineWidth,
        boxShadow: style.boxShadow,
    };
}"""


class KeyboardPatient:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.focused_count = 0

    def focused(self) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.page.evaluate(FOCUSED)
        if found is not None:
            self.focused_count += 1
            assert found["visible"], f"focus is not visible on {found} at {self.page.url}"
        return found

    def press(self, key: str) -> dict[str, Any] | None:
        self.page.keyboard.press(key)
        return self.focused()

    def tab_to(self, wanted: Any, what: str, key: str = "Tab") -> dict[str, Any]:
        """Press Tab (or Shift+Tab) until the focused element is the one `wanted(focused)` accepts
        (no key at all when it already has focus)."""
        found: dict[str, Any] | None = self.page.evaluate(FOCUSED)
        if found is not None and wanted(found):
            return found
        for _ in range(MAX_TABS):
            found = self.press(key)
            if found is not None and wanted(found):
                return found
        raise AssertionError(f"{what} not reached with {MAX_TABS} presses of {key} on {self.page.url}")

    def press_and_wait(self, key: str) -> None:
        """A key that sends a form: wait for the page that comes back."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def button(self, label: str) -> None:
        self.tab_to(lambda f: f["tag"] == "button" and f["text"] == label, f"the {label} button")

    # --- answering ----------------------------------------------------------------------------

    def answer(self, q: Question, value: Any) -> None:
        found: dict[str, Any] | None
        if q.checkbox:
            found = self.tab_to(lambda f: f["id"] == q.id, q.id)
            if found["checked"] != (value == "yes"):
                self.press("Space")
        elif q.kind in ("yn", "ynu", "single"):
            # Tab lands on the checked radio of the group, or the first one; arrows move and select.
            found = self.tab_to(lambda f: f["name"] == q.id and f["type"] == "radio", q.id)
            values = [c.value for c in q.choices]
            if found["value"] == value and not found["checked"]:
                found = self.press("Space")
            while found is not None and found["value"] != value:
                forward = values.index(value) > values.index(found["value"])
                found = self.press("ArrowDown" if forward else "ArrowUp")
            assert found is not None and found["checked"] and found["value"] == value, (q.id, found)
        elif q.kind == "multi":
            for c in q.choices:
                found = self.tab_to(lambda f, c=c: f["name"] == q.id and f["value"] == c.value, f"{q.id}={c.value}")
                if found["checked"] != (c.value in value):
                    found = self.press("Space")
                    assert found is not None and found["checked"] == (c.value in value), (q.id, c.value)
        else:
            self.tab_to(lambda f: f["id"] == q.id, q.id)
            self.page.keyboard.type(str(value))


def test_the_whole_patient_flow_with_the_keyboard_alone(js_page: Page, live_server: LiveServer) -> None:
    page = js_page
    patient = KeyboardPatient(page)
    page.goto(live_server.url("/"))  # the only navigation not made with a key
    titles = [page.title()]

    # The skip link comes first, is visible when focused and moves on to the main content.
    found = patient.press("Tab")
    assert found is not None and found["text"] == "Skip to main content", found
    assert page.evaluate("document.activeElement.getBoundingClientRect().left") >= 0
    patient.press("Enter")
    found = patient.press("Tab")  # the first thing to use in the main content
    assert found is not None and found["text"] == "Start now", found
    patient.press_and_wait("Enter")
    assert page.url.endswith("/questions/urgent"), page.url
    titles.append(page.title())

    # Continue with nothing answered: the error summary takes focus; its first link leads to the
    # first radio of the first question.
    patient.button("Continue")
    patient.press_and_wait("Enter")
    found = patient.focused()
    assert found is not None and found["summary"], f"the error summary does not have focus: {found}"
    assert page.title().startswith("Error: "), page.title()
    titles.append(page.title())
    first = flow.shown_questions("urgent", {})[0]
    found = patient.press("Tab")
    assert found is not None and found["tag"] == "a", found
    found = patient.press("Enter")
    assert found is not None and found["id"] == first.id and found["type"] == "radio", found
    # Shift+Tab goes back up the page (to the error summary's links), Tab comes back down.
    found = patient.press("Shift+Tab")
    assert found is not None and found["tag"] == "a", found
    patient.press("Tab")

    answers = PERSONAS["discuss_before_booking"]
    page_id: str | None = "urgent"
    while page_id is not None and page_id != "declaration":
        assert page.url.endswith(f"/questions/{page_id}"), (page.url, page_id)
        for q in flow.shown_questions(page_id, answers):
            if q.id in answers:
                patient.answer(q, answers[q.id])
        patient.button("Continue")
        patient.press_and_wait("Enter")
        following = flow.next_page(page_id, answers)
        page_id = following.id if following else None
        titles.append(page.title())

    assert page.url.endswith("/check-answers"), page.url
    patient.answer(QUESTIONNAIRE.questions["declaration"], "yes")
    patient.button("Send my answers")
    patient.press_and_wait("Enter")
    assert page.url.endswith("/sent"), page.url
    titles.append(page.title())
    expect(page.locator("h1")).to_have_text("Your answers have been sent")
    assert titles[-1].startswith(RULESET.level("discuss_before_booking").title), titles[-1]

    # Each page has its own title: no two pages in a row share one.
    same = [(a, b) for a, b in zip(titles, titles[1:], strict=False) if a == b]
    assert not same, f"the title did not change: {same}"
    assert len(set(titles)) == len(titles), titles
    assert patient.focused_count > 40, patient.focused_count
    assert re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.locator(".reference").inner_text())
