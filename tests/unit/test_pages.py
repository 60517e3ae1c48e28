"""The question page handler (questionnaire/core/pages.py): plain answers in, a plain step out."""

from __future__ import annotations

from typing import Any

import pytest

from questionnaire.core import pages
from questionnaire.core.rules import DEFAULT_PATH, Ruleset, load_ruleset

CALM = {"chest_pain_now": "no", "breathing_trouble_now": "no", "stroke_signs_now": "no",
        "recent_ozone_7d": "no", "unwell_now": "no"}


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
    assert pages.decide(at, sent({"chest_pain_now": "no"}, valid=False, switch=True)) == \
        pages.Step("switch_language", store={"chest_pain_now": "no"})


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
