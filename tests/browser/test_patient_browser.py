"""The patient questionnaire in real headless Chromium, with JavaScript on and with JavaScript off.

Pages are filled like a person would: radios and checkboxes by clicking their label text inside
the question's fieldset, text boxes found by their label. Which questions a page shows comes from
the definition (tests.helpers answer sets); the browser only ever sees the rendered page.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import create_engine, text

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Question
from questionnaire.core.rules import DEFAULT_PATH, load_ruleset

from ..helpers import EVERY_PAGE, PERSONAS, form_data
from ..servers import TEST_SETTINGS, LiveServer

pytestmark = pytest.mark.browser

BOOKING_URL = TEST_SETTINGS["FLASK_BOOKING_URL"]
REFERENCE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}$")
RULESET = load_ruleset(DEFAULT_PATH)


def exactly(label: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(label)}\s*$")


class BrowserPatient:
    """Answers the questionnaire in a real browser page, one shown page at a time."""

    def __init__(self, page: Page, server: LiveServer) -> None:
        self.page = page
        self.server = server

    # --- navigation --------------------------------------------------------------------------

    def start(self) -> None:
        self.page.goto(self.server.url("/"))
        expect(self.page.locator("h1")).to_have_text("Health questions before you book")
        self.page.get_by_role("button", name="Start now").click()
        self.page.wait_for_url(re.compile(r"/questions/urgent$"))

    def continue_to(self, path: str) -> None:
        """Select Continue and wait for the page at `path` (ignoring any query string)."""
        self.page.get_by_role("button", name="Continue").click()
        self.page.wait_for_url(re.compile(re.escape(path) + r"(\?[^#]*)?(#.*)?$"))

    def continue_with_errors(self) -> None:
        """Select Continue on a page that is not complete: a 303 to the same page (Post/Redirect/Get),
        whose GET shows the errors."""
        before = self.page.url
        with self.page.expect_response(lambda r: r.request.method == "POST") as posted:
            self.page.get_by_role("button", name="Continue").click()
        assert posted.value.status == 303, posted.value.status
        self.page.wait_for_load_state()
        assert self.page.url.split("#")[0] == before.split("#")[0], self.page.url

    def current_page_id(self) -> str:
        found = re.search(r"/questions/([a-z0-9-]+)", self.page.url)
        assert found, self.page.url
        return found.group(1)

    # --- answering ---------------------------------------------------------------------------

    def fieldset(self, q: Question) -> Locator:
        legend = self.page.locator("legend").filter(has_text=q.text)
        return self.page.locator("fieldset").filter(has=legend)

    def choice(self, q: Question, label: str) -> Locator:
        return self.fieldset(q).locator("label").filter(has_text=exactly(label))

    def answer(self, q: Question, value: Any) -> None:
        """Give one answer: click the label of each choice to change, or type into the text box."""
        if q.checkbox:
            if self.page.get_by_label(q.text, exact=True).is_checked() != (value == "yes"):
                self.page.locator(f'label[for="{q.id}"]').click()
        elif q.kind in ("yn", "ynu", "single"):
            self.choice(q, q.label_for(value)).click()
        elif q.kind == "multi":
            checked = self.fieldset(q).locator("input").evaluate_all("boxes => boxes.map(b => b.checked)")
            for c, is_checked in zip(q.choices, checked, strict=True):
                if is_checked != (c.value in value):
                    self.choice(q, c.label).click()
        else:
            # "(optional)" after the label, except on phone and email: one of the two is needed.
            optional = " (optional)" if q.optional and q.id not in ("contact_phone", "contact_email") else ""
            self.page.get_by_label(q.text + optional, exact=True).fill(str(value))

    def form_values(self) -> dict[str, list[str]]:
        """What the page's form would send now (without its CSRF token), read in one round trip."""
        values: dict[str, list[str]] = self.page.locator("main form").first.evaluate(
            """form => {
                const out = {};
                for (const [name, value] of new FormData(form)) {
                    if (name !== "csrf_token") { (out[name] = out[name] || []).push(value); }
                }
                return out;
            }"""
        )
        return values

    @staticmethod
    def expected_values(page_id: str, answers: dict[str, Any]) -> dict[str, list[str]]:
        """What the page's form should send for these answers (empty text boxes send "")."""
        expected: dict[str, list[str]] = {}
        for q in flow.shown_questions(page_id, answers):
            if q.id in answers:
                value = answers[q.id]
                expected[q.id] = list(value) if isinstance(value, list) else [str(value)]
            elif q.kind in ("int", "text"):
                expected[q.id] = [""]
        return expected

    def fill(self, page_id: str, answers: dict[str, Any]) -> None:
        """Answer the page's shown questions, then check that the form holds exactly those answers."""
        for q in flow.shown_questions(page_id, answers):
            if q.id in answers:
                self.answer(q, answers[q.id])
        assert self.form_values() == self.expected_values(page_id, answers), page_id

    def answer_without_rendering(self, answers: dict[str, Any], upto: str = "declaration") -> None:
        """Answer the pages before `upto` by plain requests that share the browser's cookies.

        For tests about one page: gets there in a fraction of the time a rendered walk takes.
        """
        self.start()
        page_id: str | None = QUESTIONNAIRE.pages[0].id
        while page_id is not None and page_id != upto:
            url = self.server.url(f"/questions/{page_id}")
            html = self.page.request.get(url).text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', html)
            assert token, html[:500]
            fields = [("csrf_token", token.group(1))]
            for name, value in form_data(page_id, answers).items():
                fields += [(name, v) for v in value] if isinstance(value, list) else [(name, str(value))]
            response = self.page.request.post(
                url,
                data=urlencode(fields),
                max_redirects=0,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert response.status == 302, (page_id, response.status)
            following = flow.next_page(page_id, answers)
            page_id = following.id if following else None

    def complete(self, answers: dict[str, Any]) -> None:
        """From the start page to check-your-answers (or the emergency page when the form stops)."""
        self.start()
        page_id: str | None = QUESTIONNAIRE.pages[0].id
        while page_id is not None and page_id != "declaration":
            assert self.current_page_id() == page_id
            self.fill(page_id, answers)
            if self.stops_here(page_id, answers):
                self.continue_to("/get-help-now")
                return
            following = flow.next_page(page_id, answers)
            page_id = following.id if following else None
            self.continue_to("/check-answers" if page_id in (None, "declaration") else f"/questions/{page_id}")

    @staticmethod
    def stops_here(page_id: str, answers: dict[str, Any]) -> bool:
        """Whether the answers given up to this page make the server stop the form here."""
        given = {k: v for k, v in flow.visible_answers(answers).items() if _on_or_before(k, page_id)}
        return RULESET.level(RULESET.evaluate(given, upto=page_id).level).stops_form

    def send(self) -> None:
        declaration = QUESTIONNAIRE.questions["declaration"]
        self.answer(declaration, "yes")
        self.page.get_by_role("button", name="Send my answers").click()
        self.page.wait_for_url(re.compile(r"/sent(#.*)?$"))  # a fragment from a Change link may stay

    # --- reading -----------------------------------------------------------------------------

    def summary_value(self, q: Question) -> Locator:
        """The answer beside the question on check your answers (or the outcome page)."""
        row = self.page.locator(".summary-list > div").filter(
            has=self.page.locator("dt").filter(has_text=exactly(q.text))
        )
        return row.locator("dt + dd")

    def reference(self) -> str:
        ref = self.page.locator(".reference").inner_text().strip()
        assert REFERENCE.match(ref), ref
        return ref


def _on_or_before(question_id: str, page_id: str) -> bool:
    ids = [p.id for p in QUESTIONNAIRE.pages]
    return ids.index(QUESTIONNAIRE.questions[question_id].page_id) <= ids.index(page_id)


def stored(server: LiveServer, reference: str) -> dict[str, Any]:
    """The stored submission with this reference, read straight from the server's database."""
    engine = create_engine(server.database_uri)
    try:
        with engine.connect() as conn:
            row = (
                conn.execute(
                    text("SELECT level, stopped_early FROM submissions WHERE reference = :ref"), {"ref": reference}
                )
                .mappings()
                .one()
            )
            return dict(row)
    finally:
        engine.dispose()


def booking_links(page: Page) -> Locator:
    return page.locator(f'a[href="{BOOKING_URL}"]')


# --- the three outcome flows -------------------------------------------------------------------


@pytest.mark.parametrize("level", ["none", "discuss_before_booking"])
def test_flow_to_outcome(page: Page, live_server: LiveServer, level: str) -> None:
    """No flags and discuss-before-booking, from the start page to the outcome page."""
    patient = BrowserPatient(page, live_server)
    answers = PERSONAS[level]
    patient.complete(answers)

    expect(page.locator("h1")).to_have_text("Check your answers before sending")
    for qid in ("respondent_role", "patient_age_years", "blood_thinner", "contact_name"):
        q = QUESTIONNAIRE.questions[qid]
        shown = q.label_for(answers[qid]) if q.choices else str(answers[qid])
        expect(patient.summary_value(q)).to_contain_text(shown)
    if level == "discuss_before_booking":
        expect(patient.summary_value(QUESTIONNAIRE.questions["blood_thinner_name"])).to_have_text("warfarin")
    else:  # nothing from a hidden question
        expect(page.get_by_text("If you take a medicine like this, which one?")).to_have_count(0)

    patient.send()
    expect(page.locator("h1")).to_have_text("Your answers have been sent")
    reference = patient.reference()
    expect(page.get_by_role("heading", name=RULESET.level(level).title)).to_be_visible()
    expect(page).to_have_title(re.compile(rf"^{re.escape(RULESET.level(level).title)}"))
    if RULESET.level(level).holds_booking:
        expect(booking_links(page)).to_have_count(0)
        expect(page.get_by_text("Please do not book until we have talked with you.")).to_be_visible()
    else:
        expect(page.get_by_role("link", name="Book an appointment")).to_have_attribute("href", BOOKING_URL)
    expect(page.get_by_text(TEST_SETTINGS["FLASK_CLINIC_PHONE"]).first).to_be_visible()
    assert stored(live_server, reference) == {"level": level, "stopped_early": False}

    # Back to the summary after sending shows the same outcome, never a second submission.
    page.goto(live_server.url("/check-answers"))
    page.wait_for_url(re.compile(r"/sent$"))
    assert patient.reference() == reference


def test_urgent_answer_stops_the_form(page: Page, live_server: LiveServer) -> None:
    patient = BrowserPatient(page, live_server)
    patient.complete(PERSONAS["urgent"])

    urgent = RULESET.level("urgent")
    expect(page.locator("h1")).to_have_text(urgent.title)
    expect(page).to_have_title(re.compile(rf"^{re.escape(urgent.title)}"))
    expect(page.get_by_role("alert")).to_contain_text("call your local emergency number")
    expect(page.get_by_text("You said you have chest pain, pressure, or tightness right now.")).to_be_visible()
    reference = patient.reference()
    expect(booking_links(page)).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("book", re.IGNORECASE))).to_have_count(0)
    assert stored(live_server, reference) == {"level": "urgent", "stopped_early": True}

    # The form stays stopped: a later page sends the patient back to the emergency page.
    page.goto(live_server.url("/questions/about"))
    page.wait_for_url(re.compile(r"/get-help-now$"))


# --- validation and the error summary ------------------------------------------------------------


def test_empty_page_shows_the_error_summary_and_keeps_what_was_typed(
    page: Page, live_server: LiveServer, javascript: bool
) -> None:
    patient = BrowserPatient(page, live_server)
    patient.start()
    questions = flow.shown_questions("urgent", {})
    title = page.title()

    patient.continue_with_errors()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page).to_have_title("Error: " + title)
    links = summary.get_by_role("link")
    expect(links).to_have_count(len(questions))
    expect(links).to_have_text([q.error for q in questions])
    for q in questions:
        expect(page.locator(f"#{q.id}-error")).to_contain_text(q.error)
        # The message is tied to its fieldset.
        expect(patient.fieldset(q)).to_have_attribute("aria-describedby", re.compile(rf"\b{q.id}-error\b"))
    # The summary takes focus (the autofocus attribute without JavaScript, app.js with it).
    expect(summary).to_be_focused()
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")

    first = questions[0]
    links.first.click()
    if javascript:
        # The link moves focus to the first radio of that question.
        expect(page.locator(f"#{first.id}")).to_be_focused()
        assert page.evaluate("document.activeElement.id") == first.id
        assert page.evaluate("document.activeElement.type") == "radio"
    else:
        page.wait_for_url(re.compile(rf"#{first.id}$"))

    # Answer two questions and continue: the others are still missing, the two are kept.
    answers = PERSONAS["none"]
    for q in questions[:2]:
        patient.answer(q, answers[q.id])
    patient.continue_with_errors()
    expect(page).to_have_title("Error: " + title)
    expect(summary.get_by_role("link")).to_have_text([q.error for q in questions[2:]])
    for q in questions[:2]:
        expect(patient.fieldset(q).get_by_label(q.label_for(answers[q.id]), exact=True)).to_be_checked()
    if javascript:
        expect(summary).to_be_focused()

    patient.fill("urgent", answers)
    patient.continue_to("/questions/about")
    expect(page).not_to_have_title(re.compile("^Error"))


# --- changing an answer from check-your-answers -----------------------------------------------------


def test_change_link_returns_to_the_summary(page: Page, live_server: LiveServer) -> None:
    patient = BrowserPatient(page, live_server)
    answers = dict(PERSONAS["none"])
    patient.answer_without_rendering(answers)
    page.goto(live_server.url("/check-answers"))
    contact_time = QUESTIONNAIRE.questions["contact_time"]
    expect(patient.summary_value(contact_time)).to_have_text("Morning (9am to 12pm)")

    page.get_by_role("link", name=f"Change {contact_time.text}").click()
    page.wait_for_url(re.compile(r"/questions/contact\?return=check#contact_time$"))
    # The page comes back with the saved answers.
    assert patient.form_values() == patient.expected_values("contact", answers)
    expect(page.get_by_role("link", name="Back")).to_have_attribute("href", "/check-answers")

    answers["contact_time"] = "evening"
    patient.fill("contact", answers)
    patient.continue_to("/check-answers")  # straight back, not on to the next page
    expect(patient.summary_value(contact_time)).to_have_text("Evening (5pm to 7pm)")
    expect(patient.summary_value(QUESTIONNAIRE.questions["contact_name"])).to_have_text(answers["contact_name"])

    # A change that shows a follow-up page: that page, then straight back to the summary.
    thinner, thinner_name = QUESTIONNAIRE.questions["blood_thinner"], QUESTIONNAIRE.questions["blood_thinner_name"]
    page.get_by_role("link", name=f"Change {thinner.text}").click()
    page.wait_for_url(re.compile(r"/questions/blood\?return=check#blood_thinner$"))
    answers.update(blood_thinner="yes", blood_thinner_name="apixaban")
    patient.fill("blood", answers)
    patient.continue_to("/questions/blood-follow-up")
    assert "return=check" in page.url
    patient.fill("blood-follow-up", answers)
    patient.continue_to("/check-answers")
    expect(patient.summary_value(thinner)).to_have_text("Yes")
    expect(patient.summary_value(thinner_name)).to_have_text("apixaban")

    # Changing it back hides the follow-up question, and its answer goes from the summary.
    page.get_by_role("link", name=f"Change {thinner.text}").click()
    page.wait_for_url(re.compile(r"/questions/blood\?return=check#blood_thinner$"))
    answers["blood_thinner"] = "no"
    patient.fill("blood", answers)
    patient.continue_to("/check-answers")
    expect(patient.summary_value(thinner)).to_have_text("No")
    expect(page.locator(".summary-list dt").filter(has_text=thinner_name.text)).to_have_count(0)
    expect(page.get_by_text("apixaban")).to_have_count(0)

    patient.send()
    reference = patient.reference()
    expect(page.get_by_role("link", name="Book an appointment")).to_have_attribute("href", BOOKING_URL)
    expect(page.locator(".details")).to_contain_text("Evening (5pm to 7pm)")
    expect(page.locator(".details")).not_to_contain_text("apixaban")
    assert stored(live_server, reference) == {"level": "none", "stopped_early": False}


def test_every_change_link_is_named_for_its_question(page: Page, live_server: LiveServer) -> None:
    """A screen reader's list of links reads "Change <question>" for each answer, never a row of bare
    "Change" links: the accessible names as the browser computes them (get_by_role), each link
    showing only "Change"."""
    patient = BrowserPatient(page, live_server)
    patient.answer_without_rendering(EVERY_PAGE)
    page.goto(live_server.url("/check-answers"))
    shown = [
        q for p in flow.shown_pages(EVERY_PAGE) if p.id != "declaration" for q in flow.shown_questions(p.id, EVERY_PAGE)
    ]
    expect(page.get_by_role("link", name=re.compile(r"^Change\b"))).to_have_count(len(shown))
    for q in shown:
        link = page.get_by_role("link", name=f"Change {q.text}", exact=True)
        expect(link).to_have_text("Change")
        expect(link).to_have_attribute("href", re.compile(rf"\?return=check#{q.id}$"))


# --- Post/Redirect/Get: Back and reload after every kind of error (issue 18) ------------------------

ERROR_KINDS = {
    # kind: (page, the page before it, what to type, the question whose error shows)
    "missing radio": ("blood", "about", {}, "g6pd_deficiency"),
    "bad number": ("about", "urgent", {"patient_age_years": "abc"}, "patient_age_years"),
    "exclusive combination": ("about", "urgent", {"treatment_types": ["muscle", "not_sure"]}, "treatment_types"),
    "missing contact": ("contact", "other", {"contact_phone": "", "contact_email": ""}, "contact_phone"),
}


def send_with_an_error(page: Page, live_server: LiveServer, kind: str) -> tuple[BrowserPatient, dict[str, Any]]:
    """Reach ERROR_KINDS[kind]'s page from the page before it, type what the kind types and select
    Continue: the page comes back with its error. Returns the patient and the answers given before."""
    target, previous, typed, errored = ERROR_KINDS[kind]
    answers = dict(PERSONAS["none"])
    patient = BrowserPatient(page, live_server)
    patient.answer_without_rendering(answers, upto=target)
    page.goto(live_server.url(f"/questions/{previous}"))
    patient.continue_to(f"/questions/{target}")
    shown = {q.id for q in flow.shown_questions(target, answers)}
    if kind != "missing radio":
        patient.fill(target, {k: v for k, v in answers.items() if k in shown and k not in typed})
        for qid, value in typed.items():
            q = QUESTIONNAIRE.questions[qid]
            if q.kind == "multi":  # both boxes ticked, as a browser without app.js would send them
                page.locator(f"input[name={qid}]").evaluate_all(
                    "(boxes, values) => boxes.forEach(b => { b.checked = values.includes(b.value); })", value
                )
            else:
                page.locator(f"#{qid}").fill(str(value))
    patient.continue_with_errors()
    expect(page.locator(f"#{errored}-error")).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: "))
    return patient, answers


def assert_reload_shows_the_error_again(patient: BrowserPatient, kind: str, kept: dict[str, list[str]]) -> None:
    """Reload: a GET of the same page, the errors and what was typed again, no resubmission prompt."""
    target, _, _, errored = ERROR_KINDS[kind]
    page = patient.page
    with page.expect_response(lambda r: f"/questions/{target}" in r.url) as reloaded:
        page.reload()
    assert reloaded.value.request.method == "GET" and reloaded.value.status == 200
    expect(page.locator(f"#{errored}-error")).to_be_visible()
    assert patient.form_values() == kept


def assert_never_asked_to_resend(page: Page) -> None:
    content = page.content()
    assert "ERR_CACHE_MISS" not in content and "Confirm Form Resubmission" not in content


@pytest.mark.parametrize("kind", list(ERROR_KINDS))
def test_back_and_reload_after_an_error_never_ask_to_send_the_form_again(
    js_page: Page, live_server: LiveServer, kind: str
) -> None:
    page = js_page
    _, previous, _, _ = ERROR_KINDS[kind]
    patient, answers = send_with_an_error(page, live_server, kind)
    kept = patient.form_values()
    assert_reload_shows_the_error_again(patient, kind, kept)

    # Back: the previous page, with its answers; never ERR_CACHE_MISS or "Confirm Form Resubmission".
    page.go_back()
    page.wait_for_load_state()
    assert re.search(rf"/questions/{re.escape(previous)}$", page.url), page.url
    expect(page.locator("h1, legend h1").first).to_be_visible()
    assert_never_asked_to_resend(page)
    assert patient.form_values() == patient.expected_values(previous, answers)


@pytest.mark.parametrize("kind", list(ERROR_KINDS))
def test_back_and_reload_after_an_error_without_javascript_show_the_page_again_then_the_page_before(
    nojs_page: Page, live_server: LiveServer, kind: str
) -> None:
    """Without JavaScript the form is sent by the browser itself, and Chromium adds a history entry
    for every form submission, even one that redirects to the same address: the first Back shows
    the same page again (a plain GET, what was typed still there), the second the page before.
    No server-side variant changes that (README, "Post/Redirect/Get"); this pins it down."""
    page = nojs_page
    target, previous, _, _ = ERROR_KINDS[kind]
    patient, answers = send_with_an_error(page, live_server, kind)
    kept = patient.form_values()
    assert_reload_shows_the_error_again(patient, kind, kept)

    # First Back: the same page, fetched again with a GET, what was typed kept.
    response = page.go_back()
    assert response is not None and response.request.method == "GET" and response.status == 200
    assert re.search(rf"/questions/{re.escape(target)}$", page.url), page.url
    expect(page.locator("h1, legend h1").first).to_be_visible()
    assert_never_asked_to_resend(page)
    assert patient.form_values() == kept

    # Second Back: the page before, with its answers.
    page.go_back()
    page.wait_for_load_state()
    assert re.search(rf"/questions/{re.escape(previous)}$", page.url), page.url
    expect(page.locator("h1, legend h1").first).to_be_visible()
    assert_never_asked_to_resend(page)
    assert patient.form_values() == patient.expected_values(previous, answers)
