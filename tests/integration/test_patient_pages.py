"""Every patient page as HTML: valid HTML5, accessible fields and errors, plain validation, no
clearance wording, never cached."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Page
from questionnaire.core.wording import banned_wording

from ..helpers import (
    EVERY_PAGE,
    NO_FLAGS,
    PERSONAS,
    Patient,
    draft_row,
    error_summary_links,
    field_values,
    form_data,
    html_problems,
    inline_errors,
    session_data,
    title_of,
    visible_text,
)

QUESTION_PAGES = [p.id for p in QUESTIONNAIRE.pages if p.id != "declaration"]


def assert_good_page(html: str) -> None:
    assert html_problems(html) == []


# --- the checker itself must be able to fail ---------------------------------------------------

GOOD = '<!DOCTYPE html><html lang="en"><head><title>{title}</title></head><body>{body}</body></html>'


@pytest.mark.parametrize(
    ("title", "body", "problem"),
    [
        ("Page", "<p>Unclosed <b>bold</p>", "not valid HTML5"),
        ("Page", '<p id="a">x</p><p id="a">y</p>', "duplicate id"),
        ("Page", '<input id="x" name="x" type="text">', "no label"),
        ("Page", '<label for="x">X</label><input id="x" name="x" aria-describedby="x-hint">', "aria-describedby"),
        (
            "Page",
            '<fieldset><legend>Q</legend><input type="radio" name="q" id="q" value="1"></fieldset>'
            '<p class="error-message" id="q-error">Pick one</p>',
            "does not match errors",
        ),
        ("Error: Page", '<label for="x">X</label><input id="x" name="x">', "does not match errors"),
        (
            "Error: Page",
            '<div class="error-summary"><a href="#nowhere">Pick</a></div><p class="error-message">Pick</p>',
            "points at no element",
        ),
        (
            "Error: Page",
            '<div class="error-summary"><a href="#q-2">Pick</a></div><p class="error-message">Pick</p>'
            '<fieldset><legend>Q</legend><input type="radio" name="q" id="q" value="1">'
            '<input type="radio" name="q" id="q-2" value="2"></fieldset>',
            "not the first option",
        ),
    ],
)
def test_the_page_checker_catches_each_kind_of_fault(title: str, body: str, problem: str) -> None:
    problems = html_problems(GOOD.format(title=title, body=body))
    assert any(problem in p for p in problems), problems


def test_the_page_checker_accepts_a_good_page() -> None:
    body = (
        '<div class="error-summary"><a href="#q">Pick one</a></div>'
        '<fieldset aria-describedby="q-error"><legend>Q</legend><p class="error-message" id="q-error">Pick</p>'
        '<input type="radio" name="q" id="q" value="1"><label for="q">1</label></fieldset>'
    )
    assert html_problems(GOOD.format(title="Error: Page", body=body)) == []


def test_visible_text_skips_markup_and_scripts_but_keeps_hidden_text_and_the_title() -> None:
    html = GOOD.format(
        title="Safe title",
        body='<a href="/safe">Go</a><script>var safe=1</script><span class="visually-hidden">approved</span>',
    )
    text = visible_text(html)
    assert "Safe title" in text and "approved" in text
    assert "/safe" not in text and "var" not in text


# --- every question page, normal and with errors ----------------------------------------------


@pytest.mark.parametrize("page_id", QUESTION_PAGES)
def test_question_page_is_valid_accessible_html_with_and_without_errors(patient: Patient, page_id: str) -> None:
    page = patient.reach(page_id, EVERY_PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_good_page(html)
    assert not title_of(html).startswith("Error:")
    assert "Section " in visible_text(html) and 'class="back-link"' in html

    shown = flow.shown_questions(page_id, EVERY_PAGE)
    for q in shown:
        assert f'name="{q.id}"' in html, f"{q.id} is not on the page"

    errors = patient.post(f"/questions/{page_id}", {})
    assert errors.status_code == 200
    html = errors.get_data(as_text=True)
    assert_good_page(html)
    assert title_of(html).startswith("Error: ")
    links = dict(error_summary_links(html))
    required = [q for q in shown if not q.optional]
    assert {f"#{q.id}" for q in required} <= set(links)
    for q in required:
        if q.error:
            assert links[f"#{q.id}"] == q.error
            assert inline_errors(html)[f"{q.id}-error"] == q.error


def test_continue_with_nothing_shows_the_summary_and_says_what_to_do(app: Flask, patient: Patient) -> None:
    patient.reach("blood", NO_FLAGS)
    before = draft_row(patient.client).answers
    html = patient.post("/questions/blood", {}).get_data(as_text=True)
    assert title_of(html) == "Error: Your blood – Test Clinic"
    links = error_summary_links(html)
    assert ("#blood_thinner", "Select yes if you take a medicine that thins your blood or stops clots") in links
    assert [href for href, _ in links] == ["#" + q.id for q in QUESTIONNAIRE.page("blood").questions]
    assert all(message.startswith("Select yes if") for _, message in links)
    assert (
        inline_errors(html)["blood_thinner-error"]
        == "Select yes if you take a medicine that thins your blood or stops clots"
    )
    # The fieldset names the error for screen readers, and nothing was stored.
    # Every question here offers "Not sure": the page says so once, not under each question (issue 18).
    assert 'aria-describedby="blood_thinner-hint1 blood_thinner-error"' in html
    assert visible_text(html).count("Not sure\u201d") == 1 and 'id="not-sure-hint"' in html
    assert draft_row(patient.client).answers == before


def test_what_the_patient_typed_is_kept_on_an_error(patient: Patient) -> None:
    patient.reach("about", NO_FLAGS)
    typed = {
        "respondent_role": "family_or_carer",
        "patient_age_years": "abc",
        "treatment_types": ["muscle", "spine_neck"],
    }
    html = patient.post("/questions/about", typed).get_data(as_text=True)
    assert field_values(html) == typed
    errors = inline_errors(html)
    assert errors == {
        "patient_age_years-error": "Enter the patient's age in years, as a number",
        "decision_help-error": QUESTIONNAIRE.questions["decision_help"].error,
    }

    html = patient.post("/questions/about", {**typed, "patient_age_years": "130"}).get_data(as_text=True)
    assert field_values(html)["patient_age_years"] == "130"
    assert inline_errors(html)["patient_age_years-error"] == "Enter a number between 0 and 120"


def test_typed_text_with_markup_and_line_breaks_comes_back_unchanged(patient: Patient) -> None:
    patient.reach("other", NO_FLAGS)
    medicines = 'Aspirin <75mg> & "vitamin D"\nRamipril 5 mg'
    html = patient.post("/questions/other", {"medicines_list": medicines}).get_data(as_text=True)
    assert_good_page(html)
    assert "<75mg>" not in html  # escaped, never markup
    assert field_values(html)["medicines_list"].replace("\r\n", "\n") == medicines


def test_an_exclusive_choice_with_another_is_rejected_with_a_clear_message(patient: Patient) -> None:
    patient.reach("reactions", NO_FLAGS)
    data = {**form_data("reactions", NO_FLAGS), "allergy_items": ["latex", "none_of_these"]}
    response = patient.post("/questions/reactions", data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert inline_errors(html) == {
        "allergy_items-error": "Select \u201cNone of these\u201d on its own, or select the answers that apply"
    }
    assert field_values(html)["allergy_items"] == ["latex", "none_of_these"]
    assert "allergy_items" not in draft_row(patient.client).answers


TAMPERED = [
    ("blood", "blood_thinner", "maybe"),
    ("blood", "blood_thinner", ""),
    ("reactions", "allergy_items", ["latex", "gold"]),
    ("reactions", "allergy_items", ["latex", "latex"]),
    ("reactions", "allergy_items", ["none_of_these", "not_sure"]),
    ("about", "patient_age_years", "-1"),
    ("about", "patient_age_years", "4.5"),
    ("about", "patient_age_years", "1e2"),
    ("about", "treatment_types", ["not_sure", "joint"]),
    ("pregnancy", "pregnant", "YES"),
    ("other", "medicines_list", "x" * 2001),
    ("contact", "contact_phone", "call me maybe"),
    ("contact", "contact_email", "not an email"),
]


@pytest.mark.parametrize(("page_id", "question_id", "value"), TAMPERED)
def test_a_value_outside_the_allowed_answers_is_never_stored(
    patient: Patient, page_id: str, question_id: str, value: Any
) -> None:
    patient.reach(page_id, NO_FLAGS)
    before = draft_row(patient.client)
    response = patient.post(f"/questions/{page_id}", {**form_data(page_id, NO_FLAGS), question_id: value})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"{question_id}-error" in inline_errors(html)
    assert_good_page(html)
    after = draft_row(patient.client)
    # The bad value is never stored, and the page is not done; the page's good answers are kept.
    assert question_id not in after.answers and after.done_pages == before.done_pages
    assert after.answers == {**before.answers, **{k: v for k, v in after.answers.items() if k not in before.answers}}
    assert set(after.answers) - set(before.answers) <= {q.id for q in QUESTIONNAIRE.page(page_id).questions}


def test_fields_that_are_not_on_the_page_are_ignored(patient: Patient) -> None:
    patient.reach("blood", NO_FLAGS)
    data = {**form_data("blood", NO_FLAGS), "blood_thinner_name": "warfarin", "chest_pain_now": "yes", "is_admin": "1"}
    response = patient.post("/questions/blood", data)
    assert response.status_code == 302
    answers = draft_row(patient.client).answers
    assert answers["chest_pain_now"] == "no"
    assert "blood_thinner_name" not in answers and "is_admin" not in answers


# --- the other pages ----------------------------------------------------------------------------


def test_start_page_says_what_the_form_is_and_is_valid_html(client: FlaskClient) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert_good_page(html)
    text = visible_text(html)
    for expected in (
        "This is not a medical check",
        "It takes about 10 minutes",
        "Only the clinic's team",
        "Start now",
        "Test Clinic",
        "0161 496 0000",
    ):
        assert expected in text


@pytest.mark.parametrize("url", ["/nowhere", "/questions/nowhere", "/questions/../etc/passwd"])
def test_not_found_pages_are_valid_html_and_plain(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert_good_page(html)
    assert "Page not found" in visible_text(html)


def test_check_answers_page_is_valid_html_with_and_without_errors(patient: Patient) -> None:
    html = patient.reach("declaration", EVERY_PAGE).get_data(as_text=True)
    assert_good_page(html)
    assert not title_of(html).startswith("Error:")
    html = patient.post("/check-answers", {}).get_data(as_text=True)
    assert_good_page(html)
    assert title_of(html).startswith("Error: ")
    assert error_summary_links(html) == [("#declaration", "Confirm the declaration to send your answers")]


def test_delete_and_deleted_pages_are_valid_html(patient: Patient) -> None:
    patient.reach("blood", NO_FLAGS)
    for html in (
        patient.get("/").get_data(as_text=True),
        patient.get("/delete").get_data(as_text=True),
        patient.post("/delete").get_data(as_text=True),
    ):
        assert_good_page(html)


def pages_of_a_whole_journey(app: Flask, answers: dict[str, Any], lang: str) -> dict[str, str]:
    """Every patient page met on the way to this outcome, and after it, by a name for messages."""
    patient = Patient(app.test_client())
    seen: dict[str, str] = {}
    patient.get("/")
    patient.post("/language", {"lang": lang, "next": "/"})

    def keep(name: str, response: Any) -> None:
        assert response.status_code in (200, 404, 409), (name, response.status_code)
        seen[name] = response.get_data(as_text=True)

    keep("start", patient.get("/"))
    patient.start()
    page: Page | None = QUESTIONNAIRE.pages[0]
    while page is not None and page.id != "declaration":
        keep(page.id, patient.get(f"/questions/{page.id}"))
        with_errors = patient.post(f"/questions/{page.id}", {})
        if with_errors.status_code == 200:  # a page of optional questions has no error state
            keep(f"{page.id} with errors", with_errors)
        response = patient.answer(page.id, form_data(page.id, answers))
        if "/get-help-now" in response.location:
            break
        page = flow.next_page(page.id, answers)
    else:
        keep("start with a draft", patient.get("/"))
        keep("delete", patient.get("/delete"))
        keep("check answers", patient.get("/check-answers"))
        keep("check answers with errors", patient.post("/check-answers", {}))
        patient.post("/check-answers", {"declaration": "yes"})
    sent = patient.get("/get-help-now" if answers["chest_pain_now"] == "yes" else "/sent")
    keep("outcome", sent)
    keep("already sent", patient.post("/questions/urgent", form_data("urgent", answers)))
    keep("not found", patient.get("/questions/nowhere"))
    patient.post("/start-again")
    keep("start again", patient.get("/"))
    patient.start()
    patient.get("/delete")
    keep("deleted", patient.post("/delete"))
    return seen


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("level", list(PERSONAS))
def test_no_page_of_any_outcome_uses_clearance_wording_and_every_page_is_valid(
    app: Flask, level: str, lang: str
) -> None:
    pages = pages_of_a_whole_journey(app, PERSONAS[level], lang)
    assert len(pages) >= (8 if level == "urgent" else 25)
    for name, html in pages.items():
        assert f'<html lang="{lang}">' in html, name
        assert html_problems(html) == [], name
        assert banned_wording(visible_text(html)) == [], name


@pytest.mark.parametrize("level", ["none", "mention_at_consultation", "discuss_before_booking"])
def test_outcome_page_uses_the_level_wording_reference_and_booking_only_when_allowed(
    app: Flask, patient: Patient, level: str
) -> None:
    html = patient.complete(PERSONAS[level]).get_data(as_text=True)
    text = visible_text(html)
    ruleset = app.extensions["ruleset"]
    outcome = ruleset.level(level).outcome.format(working_days=2)
    for paragraph in outcome.split("\n"):
        assert " ".join(paragraph.split()) in text
    assert "within 2 working days" in text or level != "discuss_before_booking"
    assert "Your reference number" in text and "0161 496 0000" in text
    holds = ruleset.level(level).holds_booking
    assert ("https://booking.example.test/book" in html) is (not holds)
    assert "Print or save your answers" in text
    assert "Left knee" in text  # the print-friendly copy of their answers


def test_pages_with_answers_are_never_cached(patient: Patient) -> None:
    urls = []
    patient.reach("blood", NO_FLAGS)
    urls += ["/", "/questions/urgent", "/questions/blood", "/delete"]
    for url in urls:
        assert patient.get(url).headers["Cache-Control"] == "no-store", url
    assert patient.post("/questions/blood", {}).headers["Cache-Control"] == "no-store"
    patient.complete(NO_FLAGS, send=False)
    assert patient.get("/check-answers").headers["Cache-Control"] == "no-store"
    sent = patient.post("/check-answers", {"declaration": "yes"})
    assert sent.headers["Cache-Control"] == "no-store"
    assert patient.get("/sent").headers["Cache-Control"] == "no-store"
    assert patient.post("/questions/blood", {}).headers["Cache-Control"] == "no-store"


def test_emergency_page_is_never_cached(patient: Patient) -> None:
    response = patient.complete(PERSONAS["urgent"])
    assert response.request.path == "/get-help-now"
    assert response.headers["Cache-Control"] == "no-store"


def test_answers_that_are_fine_are_kept_when_the_page_has_an_error_and_the_patient_goes_back(patient: Patient) -> None:
    """Product: never lose an answer on a validation error or the back button. The page with an error
    keeps its good answers in the draft, and still has to be sent with Continue."""
    patient.reach("about", NO_FLAGS)
    saved = patient.post("/questions/about", form_data("about", NO_FLAGS))
    assert saved.status_code == 302
    patient.get("/questions/about")
    typed = {"respondent_role": "family_or_carer", "patient_age_years": "abc", "treatment_types": ["spine_neck"]}
    assert patient.post("/questions/about", typed).status_code == 200  # the page again, with its errors
    assert patient.see_other is not None  # after a redirect (Post/Redirect/Get)
    patient.get("/questions/urgent")  # Back, then forward again:
    html = patient.get("/questions/about").get_data(as_text=True)  # the page as sent, like a reload
    assert field_values(html)["patient_age_years"] == "abc" and "patient_age_years-error" in inline_errors(html)
    patient.post("/questions/urgent", form_data("urgent", NO_FLAGS))  # Back, then Continue
    values = field_values(patient.get("/questions/about").get_data(as_text=True))
    assert values["respondent_role"] == "family_or_carer" and values["treatment_types"] == ["spine_neck"]
    assert values["patient_age_years"] == str(NO_FLAGS["patient_age_years"])  # the last good age, not "abc"
    # Not sent with Continue: the form does not go past this page.
    assert patient.get("/check-answers").location == "/questions/about"


def test_a_page_sent_with_errors_redirects_to_itself_and_its_get_shows_the_errors_and_what_was_typed(
    patient: Patient,
) -> None:
    """Issue 18, Post/Redirect/Get: errors and typed values wait in the draft, never in the cookie."""
    patient.reach("about", NO_FLAGS)
    typed = {
        "respondent_role": "family_or_carer",
        "patient_age_years": "about forty",  # words, so never part of the session's random hex token
        "treatment_types": ["muscle", "not_sure"],
    }
    response = patient.client.post("/questions/about", data={"csrf_token": patient.token, **typed})
    assert response.status_code == 303 and response.location == "/questions/about"
    assert "forty" not in repr(session_data(patient.client))
    assert draft_row(patient.client).pending["values"]["patient_age_years"] == "about forty"
    for _ in range(2):  # the redirect's GET, then a reload
        html = patient.get("/questions/about").get_data(as_text=True)
        assert title_of(html).startswith("Error: ")
        assert set(inline_errors(html)) == {"patient_age_years-error", "treatment_types-error", "decision_help-error"}
        assert field_values(html) == {k: v for k, v in typed.items()}
    patient.post("/questions/about", form_data("about", NO_FLAGS))
    assert draft_row(patient.client).pending is None  # cleared by a valid Continue
    assert patient.get("/questions/about").get_data(as_text=True).count("There is a problem") == 0


def test_the_declaration_error_redirects_to_check_your_answers(patient: Patient) -> None:
    patient.complete(NO_FLAGS, send=False)
    response = patient.client.post("/check-answers", data={"csrf_token": patient.token})
    assert response.status_code == 303 and response.location == "/check-answers"
    for _ in range(2):
        html = patient.get("/check-answers").get_data(as_text=True)
        assert error_summary_links(html) == [("#declaration", "Confirm the declaration to send your answers")]
