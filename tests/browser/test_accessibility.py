"""WCAG 2.0/2.1/2.2 A and AA: zero axe-core violations on every page, in every state, in real Chromium.

Every patient page (start, each question page, check your answers, the outcome for each level, the
emergency page, the print copy, already sent, delete, deleted, page not found) in its normal state
and its error state (Continue pressed with nothing answered), in English and in Spanish; every
staff page (sign in, code, enrol, queue, a submission as front desk and as clinician, print view,
staff accounts, audit log, export, change password, form expired, signed out, forbidden) in its
normal and error states.

axe-core comes from npm (package.json, pinned in package-lock.json, installed by
scripts/install-browser with `npm ci`) and is injected with Playwright's add_script_tag. The app's
Content-Security-Policy forbids inline and injected scripts, so the axe contexts are made with
Playwright's `bypass_csp=True`: Chromium ignores the policy in that context only. The policy itself is
tested in tests/integration/test_security_headers.py, and the keyboard and layout tests run with it.

The tours (tour_patient_pages, tour_staff_pages) call `visit(name)` at each page state; the layout
tests and scripts/screenshots.py walk the same tours with other visits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.rules import DEFAULT_PATH, load_ruleset
from questionnaire.data import store
from questionnaire.extensions import db
from questionnaire.web import auth

from ..conftest import unavailable
from ..helpers import EVERY_PAGE, PERSONAS, form_data
from ..servers import ROOT, LiveServer
from ..staff_factory import add_submission
from ..staff_helpers import PASSWORD, make_staff

# What is drawn, and how it is used, is the same over either database: the SQLite pass only.
pytestmark = [pytest.mark.browser, pytest.mark.any_database]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RULESET = load_ruleset(DEFAULT_PATH)
LEVELS = [lv.id for lv in RULESET.levels] + [RULESET.no_flags.id]
Visit = Callable[[str], None]


def context_for_tours(browser: Browser, *, bypass_csp: bool = True, **options: Any) -> BrowserContext:
    """A JavaScript-on context like a patient's browser. With bypass_csp (for axe) it ignores the
    app's Content-Security-Policy, which forbids the injected axe-core script; page.evaluate (used
    by the other checks) is not subject to the policy."""
    context = browser.new_context(
        bypass_csp=bypass_csp,
        java_script_enabled=True,
        locale="en-GB",
        **({"viewport": {"width": 1000, "height": 800}} | options),
    )
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(15_000)
    return context


# --- the patient tour ------------------------------------------------------------------------------


def submit(page: Page, button: str = "main button[type=submit]") -> None:
    """Press a form's button and wait for the page that comes back."""
    with page.expect_navigation():
        page.locator(button).first.click()


def fill_page(page: Page, page_id: str, answers: dict[str, Any], click: bool = False) -> None:
    """Answer a question page by field names and values (so in any language): by clicking and
    typing with `click`, else in one script (fast: the tours test what the pages look like)."""
    if not click:
        fields = [
            (name, v)
            for name, value in form_data(page_id, answers).items()
            for v in (value if isinstance(value, list) else [value])
        ]
        page.evaluate(
            """fields => {
            for (const [name, value] of fields) {
                const boxes = [...document.getElementsByName(name)].filter(
                    el => el.type === 'radio' || el.type === 'checkbox');
                if (boxes.length) {
                    boxes.forEach(box => { if (box.value === value) { box.checked = true; } });
                } else {
                    document.querySelector(`[name="${name}"]`).value = value;
                }
            }
        }""",
            fields,
        )
        return
    for q in flow.shown_questions(page_id, answers):
        if q.id not in answers:
            continue
        value = answers[q.id]
        if q.checkbox:
            page.locator(f"#{q.id}").set_checked(value == "yes")
        elif q.kind in ("yn", "ynu", "single"):
            page.locator(f'input[name="{q.id}"][value="{value}"]').check()
        elif q.kind == "multi":
            for v in value:
                page.locator(f'input[name="{q.id}"][value="{v}"]').check()
        else:
            page.locator(f"#{q.id}").fill(str(value))


def answer_by_requests(page: Page, server: LiveServer, answers: dict[str, Any]) -> str:
    """Start a new form and answer every shown page with plain requests sharing the page's cookies
    (fast); returns where the last answer led: /check-answers, or /get-help-now on an urgent stop."""
    page.request.post(server.url("/start"), max_redirects=0)
    page_id: str | None = QUESTIONNAIRE.pages[0].id
    location = ""
    while page_id is not None and page_id != "declaration":
        url = server.url(f"/questions/{page_id}")
        html = page.request.get(url).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token, html[:500]
        fields = [("csrf_token", token.group(1))]
        for name, value in form_data(page_id, answers).items():
            fields += [(name, v) for v in value] if isinstance(value, list) else [(name, str(value))]
        response = page.request.post(
            url, data=urlencode(fields), max_redirects=0, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status == 302, (page_id, response.status, response.text()[:1000])
        location = response.headers["location"]
        if "/get-help-now" in location:
            return "/get-help-now"
        following = flow.next_page(page_id, answers)
        page_id = following.id if following else None
    return "/check-answers"


def post_from_page(page: Page, path: str, token: bool = True) -> None:
    """Send a POST form from the page (as a stale tab would), with the page's CSRF token or none."""
    with page.expect_navigation():
        page.evaluate(
            """([path, withToken]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = path;
            const token = document.querySelector("input[name=csrf_token]");
            if (token && withToken) { form.appendChild(token.cloneNode()); }
            document.body.appendChild(form); form.submit();
        }""",
            [path, token],
        )


def send_declaration(page: Page) -> None:
    page.locator("#declaration").check()
    submit(page)


def tour_patient_pages(page: Page, server: LiveServer, visit: Visit, language: str = "en") -> None:
    """Every patient page and state, in `language` (chosen with the visible switcher)."""
    page.goto(server.url("/"))
    if language != "en":
        submit(page, f'button[name="lang"][value="{language}"]')
    assert page.evaluate("document.documentElement.lang") == language
    visit("start")

    # Every page and every follow-up page, each empty first (the error state), then answered.
    answers = EVERY_PAGE
    submit(page, "button.button--start")
    page_id: str | None = QUESTIONNAIRE.pages[0].id
    while page_id is not None and page_id != "declaration":
        assert page.url.endswith(f"/questions/{page_id}"), (page.url, page_id)
        visit(f"question {page_id}")
        submit(page)
        assert page.locator(".error-summary").count() == 1, f"no error summary on {page_id}"
        visit(f"question {page_id}, errors")
        fill_page(page, page_id, answers)
        submit(page)
        following = flow.next_page(page_id, answers)
        page_id = following.id if following else None
    assert page.url.endswith("/check-answers"), page.url
    visit("check answers")
    submit(page)
    assert page.locator(".error-summary").count() == 1
    visit("check answers, errors")
    send_declaration(page)
    level = RULESET.evaluate(flow.visible_answers(answers)).level
    assert page.url.endswith("/sent"), page.url
    visit(f"outcome {level}")
    page.locator("details.print-open > summary").click()
    visit(f"outcome {level}, answers open")

    # A page from a stale tab sent after the answers were: nothing changes.
    post_from_page(page, "/questions/urgent")
    visit("already sent")
    page.goto(server.url("/sent/print"))
    visit(f"print copy ({level})")

    # The outcome for every other level, and the emergency page; answered by plain requests.
    for other in LEVELS:
        if other == level:
            continue
        persona = PERSONAS[other]
        where = answer_by_requests(page, server, persona)
        page.goto(server.url(where))
        if where == "/get-help-now":
            visit(f"emergency ({other})")
            # The optional callback number (issue 16): refused, then left.
            submit(page, "form[action$='/callback'] button[type=submit]")
            assert page.locator(".error-message").count() == 1
            visit(f"emergency ({other}), callback number errors")
            page.locator("#callback_phone").fill("+34 611 222 333")
            submit(page, "form[action$='/callback'] button[type=submit]")
            visit(f"emergency ({other}), callback number left")
            page.locator("details.print-open > summary").click()
            visit(f"emergency ({other}), answers open")
            page.goto(server.url("/sent/print"))
            visit(f"print copy ({other})")
        else:
            send_declaration(page)
            assert page.url.endswith("/sent"), page.url
            visit(f"outcome {other}")

    # An unsent draft: the start page offers to continue; delete; deleted.
    page.request.post(server.url("/start"), max_redirects=0)  # a new draft, nothing answered yet
    page.goto(server.url("/"))
    visit("start with a draft")
    post_from_page(page, "/questions/urgent", token=False)  # a session that changed under the form
    assert page.locator(".notice").count() == 1
    visit("question urgent, not saved")
    page.goto(server.url("/delete"))
    visit("delete")
    submit(page)
    visit("deleted")
    page.goto(server.url("/?expired=1"))
    visit("start, answers expired")

    page.goto(server.url("/no-such-page"))
    visit("page not found")


# --- the staff tour --------------------------------------------------------------------------------


def unique_email(role: str) -> str:
    return f"a11y-{role}-{uuid.uuid4().hex[:8]}@clinic.example"


def code_at(secret: str) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC))


def password_step(page: Page, server: LiveServer, email: str) -> None:
    page.goto(server.url("/staff/sign-in"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    submit(page)


def sign_in(page: Page, server: LiveServer, email: str, secret: str) -> None:
    password_step(page, server, email)
    assert "/staff/code" in page.url, page.url
    page.locator("#code").fill(code_at(secret))
    submit(page)
    assert re.search(r"/staff/$", page.url), page.url


def tour_staff_pages(
    browser: Browser, server: LiveServer, app: Flask, visit: Callable[[Page, str], None], **context_options: Any
) -> None:
    """Every staff page and state, signed in as front desk, clinician and administrator."""
    reference = add_submission(
        app,
        {
            **PERSONAS["discuss_before_booking"],
            "contact_name": "Ana Example",
            "other_concerns": "Knee pain\nfor two years",
        },
        language="es",
    )
    urgent = add_submission(app, persona="urgent")
    desk, clinician, admin = unique_email("desk"), unique_email("clinician"), unique_email("admin")
    secrets = {
        email: make_staff(app, email, role)
        for email, role in ((desk, "front_desk"), (clinician, "clinician"), (admin, "admin"))
    }
    newcomer = unique_email("new")
    with app.app_context():
        store.create_staff(newcomer, "front_desk", auth.hash_password(PASSWORD))

    contexts: list[BrowserContext] = []

    def new_page() -> Page:
        contexts.append(context_for_tours(browser, **context_options))
        return contexts[-1].new_page()

    try:
        _staff_pages(server, app, visit, new_page, reference, urgent, secrets, desk, clinician, admin, newcomer)
    finally:
        for context in contexts:
            context.close()


def _staff_pages(
    server: LiveServer,
    app: Flask,
    visit: Callable[[Page, str], None],
    new_page: Callable[[], Page],
    reference: str,
    urgent: str,
    secrets: dict[str, str],
    desk: str,
    clinician: str,
    admin: str,
    newcomer: str,
) -> None:
    # Sign in (and its error), enrolment of a new account (and its error), signed out.
    page = new_page()
    page.goto(server.url("/staff/sign-in"))
    visit(page, "staff sign in")
    submit(page)
    assert page.locator(".error-summary").count() == 1
    visit(page, "staff sign in, errors")
    password_step(page, server, newcomer)
    assert "/staff/enrol" in page.url, page.url
    visit(page, "staff enrol")
    page.locator("#code").fill("000000")
    submit(page)
    assert page.locator(".error-summary").count() == 1
    visit(page, "staff enrol, errors")

    # Front desk: code (and its error), queue, a submission without the full answers, its errors.
    page = new_page()
    password_step(page, server, desk)
    visit(page, "staff code")
    page.locator("#code").fill("000000")
    submit(page)
    assert page.locator(".error-summary").count() == 1
    visit(page, "staff code, errors")
    page.locator("#code").fill(code_at(secrets[desk]))
    submit(page)
    visit(page, "queue")
    page.goto(server.url("/staff/call-sheet"))
    visit(page, "call sheet")
    page.goto(server.url("/staff/?ref=ZZZZ-ZZZZ"))
    visit(page, "queue, reference not found")
    page.goto(server.url("/staff/?from=2025-02-30"))
    visit(page, "queue, date filter errors")
    page.locator("#q").fill("Example")
    submit(page, "form[action$='/search'] button[type=submit]")
    visit(page, "search results")
    page.locator("#q").fill("12")
    submit(page, "form[action$='/search'] button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    visit(page, "search, errors")
    page.goto(server.url("/staff/submissions/ZZZZ-ZZZZ"))
    visit(page, "staff page not found")
    page.goto(server.url(f"/staff/submissions/{urgent}"))
    visit(page, "submission (urgent) as front desk")
    page.goto(server.url(f"/staff/submissions/{reference}"))
    visit(page, "submission as front desk")
    submit(page, "form[action$='/notes'] button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    visit(page, "submission as front desk, note errors")
    page.goto(server.url(f"/staff/submissions/{reference}"))
    with app.app_context():  # someone else changes the status while this page is open
        sub = store.submission_by_reference(reference)
        assert sub is not None
        store.change_status(sub, sub.version, "with_clinician", "someone@clinic.example")
        db.session.remove()
    page.locator("#status").select_option("contacted")
    submit(page, "form[action$='/status'] button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    visit(page, "submission as front desk, status conflict")
    page.goto(server.url(f"/staff/submissions/{reference}/print"))
    visit(page, "forbidden (print view as front desk)")
    post_from_page(page, f"/staff/submissions/{reference}/notes", token=False)
    visit(page, "form expired (no CSRF token)")
    page.goto(server.url("/staff/"))
    submit(page, "form[action$='/sign-out'] button[type=submit]")
    visit(page, "staff signed out")

    # Clinician: the full answers and the print view.
    page = new_page()
    sign_in(page, server, clinician, secrets[clinician])
    page.goto(server.url(f"/staff/submissions/{reference}"))
    visit(page, "submission as clinician")
    page.goto(server.url(f"/staff/submissions/{reference}/print"))
    visit(page, "print view")
    page.goto(server.url("/staff/report/"))
    visit(page, "report")

    # Administrator: staff accounts, audit log, export, change password; each with its errors.
    page = new_page()
    sign_in(page, server, admin, secrets[admin])
    page.goto(server.url("/staff/admin/staff"))
    visit(page, "staff accounts")
    submit(page, "main form:not([action]) button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    visit(page, "staff accounts, errors")
    # A long address with nowhere to break a line (dots and digits do not): the pages that name it
    # still fit a phone (a hyphen then a digit, as in unique_email's, does not break either).
    added = f"a11y.added.{uuid.uuid4().hex[:8]}.front.desk.reception@clinic.example"
    page.locator("#email").fill(added)
    submit(page, "main form:not([action]) button[type=submit]")
    visit(page, "staff accounts, account created")
    with page.expect_navigation():
        page.locator("tr", has_text=added).locator("a[href$='/reset-password/confirm']").click()
    visit(page, "staff accounts, confirm a password reset")
    page.goto(server.url("/staff/admin/audit"))
    visit(page, "audit log")
    page.goto(server.url("/staff/admin/export"))
    visit(page, "export")
    submit(page)
    assert page.locator(".error-summary").count() == 1
    visit(page, "export, errors")
    page.goto(server.url("/staff/password"))
    visit(page, "change password")
    # (An empty form shows no error message at all: reported; so a password that is too short.)
    page.locator("#current").fill(PASSWORD)
    page.locator("#password").fill("too short")
    page.locator("#confirm").fill("too short")
    submit(page)
    assert page.locator(".error-summary").count() == 1
    visit(page, "change password, errors")


# --- axe-core --------------------------------------------------------------------------------------

AXE_RUN = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
    .then(result => result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                  summary: n.failureSummary}))})))"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The axe-core violations of the page as it is now, for the WCAG 2.x A and AA tags."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN, AXE_TAGS)
    return violations


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
            for node in v["nodes"]:
                lines.append(f"    {node['target']}: {node['html']}")
                lines.append("      " + (node["summary"] or "").replace("\n", "\n      "))
    return "\n".join(lines)


class AxeVisits:
    """Runs axe at each visit; remembers what was visited and the violations found on each."""

    def __init__(self) -> None:
        self.visited: list[str] = []
        self.found: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, page: Page, name: str) -> None:
        self.visited.append(name)
        violations = axe_violations(page)
        if violations:
            self.found[f"{name} [{page.url}]"] = violations

    def check(self) -> None:
        if self.found:
            message = report(self.found)
            print(message)
            pytest.fail(
                f"axe-core found violations on {len(self.found)} of {len(self.visited)} page states:\n" + message,
                pytrace=False,
            )


@pytest.fixture(scope="module")
def axe_path() -> Path:
    if not AXE.is_file():
        unavailable(
            f"axe-core is not installed at {AXE.relative_to(ROOT)}: run `make browser` "
            "(scripts/install-browser runs `npm ci`)"
        )
    return AXE


@pytest.mark.parametrize("language", ["en", "es"])
def test_patient_pages_have_no_axe_violations(
    browser: Browser, live_server: LiveServer, axe_path: Path, language: str
) -> None:
    # bypass_csp=True: the app's Content-Security-Policy would refuse the injected axe-core script.
    context = context_for_tours(browser, bypass_csp=True)
    try:
        page = context.new_page()
        axe = AxeVisits()
        tour_patient_pages(page, live_server, lambda name: axe(page, f"{language}: {name}"), language)
        question_pages = [p.id for p in flow.shown_pages(EVERY_PAGE) if p.id != "declaration"]
        assert len(axe.visited) >= 2 * len(question_pages) + 12, axe.visited
        assert any("emergency" in v for v in axe.visited) and sum("outcome" in v for v in axe.visited) >= 3
        axe.check()
    finally:
        context.close()


def test_staff_pages_have_no_axe_violations(
    browser: Browser, live_server: LiveServer, live_app: Flask, axe_path: Path
) -> None:
    axe = AxeVisits()
    # Each staff context is made with bypass_csp=True (the default of context_for_tours), for axe-core.
    tour_staff_pages(browser, live_server, live_app, axe, bypass_csp=True)
    assert len(axe.visited) >= 20, axe.visited
    axe.check()


# --- the enrolment QR code and empty staff forms -------------------------------------------------


def test_the_enrolment_qr_code_is_shown(browser: Browser, live_server: LiveServer, live_app: Flask) -> None:
    email = unique_email("qr")
    with live_app.app_context():
        store.create_staff(email, "front_desk", auth.hash_password(PASSWORD))
    context = context_for_tours(browser, bypass_csp=False)
    try:
        page = context.new_page()
        password_step(page, live_server, email)
        assert "/staff/enrol" in page.url, page.url
        assert page.evaluate(
            "(img => img.complete && img.naturalWidth > 0)(document.querySelector('img[alt^=\"QR code\"]'))"
        )
    finally:
        context.close()


def test_an_empty_code_form_says_what_is_wrong(browser: Browser, live_server: LiveServer, live_app: Flask) -> None:
    email = unique_email("empty")
    make_staff(live_app, email, "front_desk")
    context = context_for_tours(browser, bypass_csp=False)
    try:
        page = context.new_page()
        password_step(page, live_server, email)
        assert "/staff/code" in page.url, page.url
        submit(page)
        assert page.locator(".error-summary").count() == 1
    finally:
        context.close()
