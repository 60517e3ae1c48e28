"""The question page handler (questionnaire/core/pages.py): plain answers in, a plain step out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaire.core import flow, pages
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import NOT_SURE_HINT
from questionnaire.core.rules import DEFAULT_PATH, Ruleset, load_ruleset

from ..helpers import ALL_NO

CALM = {
    "chest_pain_now": "no",
    "breathing_trouble_now": "no",
    "stroke_signs_now": "no",
    "recent_ozone_7d": "no",
    "unwell_now": "no",
}


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return load_ruleset(DEFAULT_PATH)


def sent(answers: dict[str, Any], valid: bool = True, token_ok: bool = True, switch: bool = False) -> pages.Sent:
    return pages.Sent(answers, valid and token_ok, token_ok, switch)


def test_a_get_shows_the_page_with_its_shown_questions() -> None:
    at = pages.visit({}, [], "urgent")
    assert pages.decide(at, None) == pages.Step("show")
    assert [q.id for q in at.questions] == list(CALM)


def test_a_page_after_the_first_gap_sends_the_patient_to_the_gap_keeping_what_was_typed() -> None:
    at = pages.visit({}, [], "about")
    assert at.ahead and at.first_incomplete is not None and at.first_incomplete.id == "urgent"
    typed = {"respondent_role": "self"}
    assert pages.decide(at, sent(typed)) == pages.Step("ahead", store=typed, go_to=at.first_incomplete)
    assert pages.decide(at, sent(typed, valid=False)).store is None
    assert pages.decide(at, None).kind == "ahead"


def test_a_page_not_shown_stores_nothing() -> None:
    at = pages.visit(CALM, ["urgent"], "urgent-follow-up")
    assert not at.shown and at.questions == ()
    step = pages.decide(at, sent({"post_ozone_site_problem": "no"}))
    assert step.kind == "ahead" and step.store is None


def test_a_page_with_errors_keeps_the_answers_that_are_fine_over_the_saved_ones() -> None:
    at = pages.visit({**CALM, "unwell_now": "yes"}, [], "urgent")
    step = pages.decide(at, sent({"chest_pain_now": "yes"}, valid=False))
    assert step.kind == "invalid" and not step.done
    assert step.store == {**CALM, "unwell_now": "yes", "chest_pain_now": "yes"}


def test_a_token_that_does_not_match_stores_nothing() -> None:
    at = pages.visit({}, [], "urgent")
    assert pages.decide(at, sent(CALM, token_ok=False)) == pages.Step("token_failed")
    assert pages.decide(at, sent(CALM, token_ok=False, switch=True)) == pages.Step("token_failed")


def test_the_language_switcher_keeps_what_was_typed_without_completing_the_page() -> None:
    at = pages.visit({}, [], "urgent")
    assert pages.decide(at, sent({"chest_pain_now": "no"}, valid=False, switch=True)) == pages.Step(
        "switch_language", store={"chest_pain_now": "no"}
    )


def test_a_complete_page_is_stored_as_done() -> None:
    at = pages.visit({}, [], "urgent")
    assert pages.decide(at, sent(CALM)) == pages.Step("continue", store=CALM, done=True)


def test_an_urgent_answer_stops_the_form(ruleset: Ruleset) -> None:
    then = pages.after_continue({**CALM, "chest_pain_now": "yes"}, ["urgent"], "urgent", ruleset)
    assert then.stops and then.go_to is None
    assert ruleset.level(then.assessment.level).stops_form


def test_calm_answers_go_on_to_the_next_shown_page(ruleset: Ruleset) -> None:
    then = pages.after_continue(CALM, ["urgent"], "urgent", ruleset)
    assert not then.stops and then.go_to is not None and then.go_to.id == "about"
    follow_up = pages.after_continue({**CALM, "recent_ozone_7d": "yes"}, ["urgent"], "urgent", ruleset)
    assert follow_up.go_to is not None and follow_up.go_to.id == "urgent-follow-up"


def test_from_check_your_answers_the_next_page_is_the_first_still_to_answer(ruleset: Ruleset) -> None:
    then = pages.after_continue(CALM, ["urgent"], "urgent", ruleset, back_to_check=True)
    assert then.go_to is not None and then.go_to.id == "about"


# --- short pages, the progress indicator, the "Not sure" line, the Back link (issue 18) ---------


def test_no_page_has_more_than_six_questions_and_the_heart_is_two_pages() -> None:
    assert max(len(p.questions) for p in QUESTIONNAIRE.pages) <= 6
    assert [q.id for q in QUESTIONNAIRE.page("heart").questions] == [
        "heart_event_6m",
        "stroke_ever",
        "heart_condition",
        "chest_pain_past_month",
        "hole_in_heart",
    ]
    assert [q.id for q in QUESTIONNAIRE.page("circulation").questions] == [
        "high_bp",
        "pril_medicine",
        "fainting_12m",
        "faint_with_needles",
    ]


# Every answer that reveals (or hides) a page, one at a time and together.
REVEALING = {
    "recent_ozone_7d": "yes",
    "treatment_types": ["blood_drip"],
    "anaemia_recent": "yes",
    "stroke_ever": "yes",
    "high_bp": "not_sure",
    "diabetes": "yes",
    "lung_condition": "yes",
    "prior_ozone": "yes",
    "prior_ozone_problem": "yes",
}


def shown_progress(answers: dict[str, Any]) -> list[tuple[int, int]]:
    return [pages.progress(p.id) for p in flow.route(answers).pages if p.id != "declaration"]


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(sorted(REVEALING))))
def test_the_section_total_never_changes_and_the_number_never_goes_back(chosen: set[str]) -> None:
    answers = {**ALL_NO, **{k: REVEALING[k] for k in chosen}}
    seen = shown_progress(answers)
    assert {total for _n, total in seen} == {len(pages.section_heads())}
    numbers = [n for n, _total in seen]
    assert numbers == sorted(numbers) and numbers[0] == 1 and numbers[-1] == len(pages.section_heads())
    assert set(numbers) == set(range(1, len(pages.section_heads()) + 1)), "a section number was skipped"


def test_answering_in_a_way_that_reveals_follow_up_pages_keeps_section_2_of_the_same_total() -> None:
    calm, revealing = shown_progress(ALL_NO), shown_progress({**ALL_NO, **REVEALING})
    assert len(revealing) > len(calm)
    assert calm[0][1] == revealing[0][1]  # the same total either way
    assert pages.progress("about") == (2, calm[0][1])  # "Section 2 of N" stays so


def test_the_not_sure_line_is_said_once_only_where_every_question_offers_it() -> None:
    heart, circulation = QUESTIONNAIRE.page("heart"), QUESTIONNAIRE.page("circulation")
    assert all(NOT_SURE_HINT in q.hints for q in heart.questions) and pages.not_sure_once(heart.questions)
    assert not pages.not_sure_once(circulation.questions)  # fainting_12m offers Yes or No only
    assert not pages.not_sure_once(QUESTIONNAIRE.page("brain-lungs-follow-up").questions)  # a single question


def test_after_a_change_the_follow_up_page_goes_back_to_the_page_just_changed() -> None:
    answers = {**ALL_NO, "stroke_ever": "yes"}
    route = flow.route(answers)
    changed = QUESTIONNAIRE.page("circulation")
    assert pages.back_to(route, "heart-follow-up", True, "circulation") == changed
    assert pages.back_to(route, "heart-follow-up", True, None) is True  # opened by a Change link
    assert pages.back_to(route, "heart", True, "contact") is True  # not a page before it
    assert pages.back_to(route, "heart-follow-up", False, "circulation") == changed  # the usual way
    assert pages.back_to(route, "urgent", False, None) is None
