"""Reflow, target size and CSS off, in real Chromium, on every page the accessibility tours visit.

- Reflow (WCAG 1.4.10): no page scrolls sideways at a 320 CSS px wide viewport, nor at 200 % zoom
  of a 1280 x 900 window, nor in that window. Browser zoom halves the CSS viewport (a 1280 px
  window at 200 % lays out 640 CSS px, with media queries and all); device_scale_factor only changes
  the pixel density and does not zoom CSS. So 200 % zoom is emulated by a 640 x 450 CSS px viewport
  (device_scale_factor 2, so that it also renders 1280 x 900 device pixels like the zoomed window).
- Words whole: at each of the three sizes no table cell cuts a word in two across lines ("Urge" /
  "nt") when the table had room for it on one line; addresses and keyed values (`.cell--long`) may
  break anywhere, a word after its hyphen, an id after its underscore.
- Tables at 320 px: none scrolls sideways inside its box, but the report's tables of figures.
- Target size (WCAG 2.5.8): every link, button, input, select, textarea and summary is at least
  24 by 24 CSS px (getBoundingClientRect), except a link inside a sentence (the inline exception).
- Colour contrast is axe-core's color-contrast rule (tests/browser/test_accessibility.py).
- With CSS off (every stylesheet request aborted) the form can be completed to its outcome.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE

from ..helpers import PERSONAS
from ..servers import LiveServer
from .test_accessibility import (
    RULESET,
    context_for_tours,
    fill_page,
    send_declaration,
    submit,
    tour_patient_pages,
    tour_staff_pages,
)

# What is drawn, and how it is used, is the same over either database: the SQLite pass only.
pytestmark = [pytest.mark.browser, pytest.mark.any_database]

PHONE: ViewportSize = {"width": 320, "height": 640}
ZOOMED: ViewportSize = {"width": 640, "height": 450}  # 1280 x 900 at 200 % zoom
DESKTOP: ViewportSize = {"width": 1280, "height": 900}  # the front desk's screen
MIN_TARGET = 24

# What sticks out sideways, and which targets are smaller than 24 x 24 CSS px.
MEASURE = """minimum => {
    const doc = document.documentElement;
    const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
        + ' "' + (el.textContent || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
    const out = {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, wide: [], small: []};
    if (doc.scrollWidth > doc.clientWidth) {
        for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > doc.clientWidth + 0.5 && out.wide.length < 8) {
                out.wide.push(describe(el) + ' right=' + Math.round(r.right));
            }
        }
        // Text wider than its box (a long word) moves no box: name the innermost box it spills from.
        const spills = el => el.scrollWidth > el.clientWidth + 0.5 && getComputedStyle(el).overflowX === 'visible';
        for (const el of document.body.querySelectorAll('*')) {
            if (spills(el) && ![...el.children].some(spills) && out.wide.length < 8) {
                out.wide.push(describe(el) + ' text spills to ' + el.scrollWidth + ' in ' + el.clientWidth);
            }
        }
    }
    // A word cut in two across lines in a table cell ("Urge / nt") although the table has room for
    // it on one line; addresses and keyed values (.cell--long) may break anywhere, any word after
    // its hyphen, an id after its underscore.
    // A table that scrolls sideways inside its own box.
    out.scrolling = [...document.querySelectorAll('.table-wrap')]
        .filter(w => w.scrollWidth > w.clientWidth + 0.5).map(w => describe(w.querySelector('table')));
    out.split = [];
    for (const cell of document.querySelectorAll('td, th')) {
        const style = getComputedStyle(cell);
        const room = (cell.closest('.table-wrap') || cell.closest('table')).clientWidth
            - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node && out.split.length < 8; node = walker.nextNode()) {
            if (node.parentElement.closest('.cell--long, .visually-hidden')) { continue; }
            for (const word of node.data.matchAll(/[^\\s\\u2013_-]+/g)) {
                const range = document.createRange();
                range.setStart(node, word.index);
                range.setEnd(node, word.index + word[0].length);
                const rects = [...range.getClientRects()];
                const width = rects.reduce((sum, r) => sum + r.width, 0);
                if (new Set(rects.map(r => Math.round(r.top))).size > 1 && width <= room + 0.5) {
                    out.split.push(describe(cell) + ' cuts "' + word[0] + '"');
                }
            }
        }
    }
    const block = el => {
        let node = el.parentElement;
        while (node && getComputedStyle(node).display.startsWith('inline')) { node = node.parentElement; }
        return node || document.body;
    };
    // WCAG 2.5.8 inline exception: a link in a sentence, that is with other words in its block.
    const inSentence = el => {
        const words = t => (t || '').replace(/[\\s.,;:!?()\\u201c\\u201d"']+/g, '');
        return words(block(el).textContent).length > words(el.textContent).length;
    };
    const targets = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
    for (const el of document.querySelectorAll(targets)) {
        const style = getComputedStyle(el);
        const r = el.getBoundingClientRect();
        if (style.visibility === 'hidden' || (r.width === 0 && r.height === 0)) { continue; }
        if (r.right <= 0 || r.bottom <= 0) { continue; }   // off screen until focused: the skip link
        if (r.width >= minimum - 0.01 && r.height >= minimum - 0.01) { continue; }
        if (el.tagName === 'A' && inSentence(el)) { continue; }
        out.small.push(describe(el) + ' ' + Math.round(r.width * 10) / 10 + 'x' + Math.round(r.height * 10) / 10);
    }
    return out;
}"""


# Pages whose wide tables of figures may scroll sideways inside their own box on a phone; every
# other staff table is a list of cards there (the queue, staff accounts, audit log).
SCROLLING_TABLES_ALLOWED = ("report",)


class LayoutVisits:
    """At each visit: the page at 320 px and at 200 % zoom; problems by page state."""

    def __init__(self) -> None:
        self.visited: list[str] = []
        self.problems: list[str] = []

    def __call__(self, page: Page, name: str) -> None:
        self.visited.append(name)
        original = page.viewport_size
        for label, size in (("320 px", PHONE), ("200 % zoom", ZOOMED), ("1280 px", DESKTOP)):
            page.set_viewport_size(size)
            found: dict[str, Any] = page.evaluate(MEASURE, MIN_TARGET)
            if found["scrollWidth"] > found["clientWidth"]:
                self.problems.append(
                    f"{name} at {label} [{page.url}]: scrolls sideways "
                    f"({found['scrollWidth']} > {found['clientWidth']}): {found['wide']}"
                )
            if label == "320 px" and not name.startswith(SCROLLING_TABLES_ALLOWED):
                for table in found["scrolling"]:
                    self.problems.append(f"{name} at {label} [{page.url}]: a table scrolls sideways: {table}")
            for split in found["split"]:
                self.problems.append(f"{name} at {label} [{page.url}]: a word cut across lines: {split}")
            for small in found["small"]:
                self.problems.append(f"{name} at {label} [{page.url}]: target smaller than 24 x 24: {small}")
        if original:
            page.set_viewport_size(original)

    def check(self) -> None:
        if self.problems:
            print("\n".join(self.problems))
            pytest.fail(
                f"{len(self.problems)} layout problems on {len(self.visited)} page states:\n"
                + "\n".join(self.problems),
                pytrace=False,
            )


LAYOUT_CONTEXT: dict[str, Any] = {"bypass_csp": False, "viewport": ZOOMED, "device_scale_factor": 2}


@pytest.mark.parametrize("language", ["en", "es"])
def test_patient_pages_reflow_and_have_big_enough_targets(
    browser: Browser, live_server: LiveServer, language: str
) -> None:
    context = context_for_tours(browser, **LAYOUT_CONTEXT)
    try:
        page = context.new_page()
        layout = LayoutVisits()
        tour_patient_pages(page, live_server, lambda name: layout(page, f"{language}: {name}"), language)
        assert len(layout.visited) > 40, layout.visited
        layout.check()
    finally:
        context.close()


def test_staff_pages_reflow_and_have_big_enough_targets(
    browser: Browser, live_server: LiveServer, live_app: Flask
) -> None:
    layout = LayoutVisits()
    tour_staff_pages(browser, live_server, live_app, layout, **LAYOUT_CONTEXT)
    assert len(layout.visited) >= 20, layout.visited
    layout.check()


def test_the_form_works_with_css_off(browser: Browser, live_server: LiveServer) -> None:
    """Every stylesheet request fails: the patient still answers every page and sees the outcome."""
    context = context_for_tours(browser, bypass_csp=False)
    aborted: list[str] = []

    def abort(route: Route) -> None:
        aborted.append(route.request.url)
        route.abort()

    try:
        context.route(re.compile(r"\.css(\?.*)?$"), abort)
        page = context.new_page()
        page.goto(live_server.url("/"))
        assert aborted, "no stylesheet was requested"
        # The browser's own styles only: the body keeps its default margin, the skip link is on screen.
        assert page.evaluate("getComputedStyle(document.body).marginTop") == "8px"
        assert page.evaluate("document.querySelector('.skip-link').getBoundingClientRect().left") >= 0
        # An empty page: the error summary and the messages (with their "Error:" prefix) are there.
        submit(page, "button.button--start")
        submit(page)
        expect(page.locator(".error-summary")).to_be_visible()
        expect(page.locator(".error-message").first).to_contain_text("Error:")

        answers = PERSONAS["mention_at_consultation"]
        page_id: str | None = QUESTIONNAIRE.pages[0].id
        while page_id is not None and page_id != "declaration":
            assert page.url.endswith(f"/questions/{page_id}"), (page.url, page_id)
            fill_page(page, page_id, answers, click=True)
            submit(page)
            following = flow.next_page(page_id, answers)
            page_id = following.id if following else None
        expect(page.locator("h1")).to_have_text("Check your answers before sending")
        send_declaration(page)
        assert page.url.endswith("/sent"), page.url
        expect(page.locator("h1")).to_have_text("Your answers have been sent")
        expect(page.locator(".reference")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
        expect(page.get_by_role("heading", name=RULESET.level("mention_at_consultation").title)).to_be_visible()
    finally:
        context.close()
