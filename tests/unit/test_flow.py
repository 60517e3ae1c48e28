"""Pure page logic (questionnaire/core/flow.py): what a patient is shown, page order, visible answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from questionnaire.core import flow, pages
from questionnaire.core.definition import QUESTIONNAIRE

from ..helpers import ALL_NO
from .test_rule_properties import ANSWER_SETS

# Every question a patient who answers "no" to everything is shown, answered.

MAIN_PAGES = [
    "urgent",
    "about",
    "blood",
    "heart",
    "circulation",
    "hormones",
    "brain-lungs",
    "pregnancy",
    "reactions",
    "injection-site",
    "other",
    "contact",
    "declaration",
]


def page_ids(answers: dict[str, Any]) -> list[str]:
    return [p.id for p in flow.shown_pages(answers)]


# --- visible_answers ---------------------------------------------------------------------------


def test_an_answer_to_a_hidden_follow_up_question_is_dropped() -> None:
    visible = flow.visible_answers({"stroke_ever": "no", "stroke_recent_or_bleed": "yes"})
    assert visible == {"stroke_ever": "no"}


def test_an_answer_to_a_shown_follow_up_question_is_kept() -> None:
    answers = {"stroke_ever": "yes", "stroke_recent_or_bleed": "yes"}
    assert flow.visible_answers(answers) == answers


@pytest.mark.parametrize("stroke_ever", ["no", None])
def test_the_stroke_follow_up_counts_only_after_a_yes_or_not_sure(stroke_ever: str | None) -> None:
    answers = {"stroke_recent_or_bleed": "yes"} | ({"stroke_ever": stroke_ever} if stroke_ever else {})
    assert "stroke_recent_or_bleed" not in flow.visible_answers(answers)
    for gate in ("yes", "not_sure"):  # clinical-content.md R1
        assert "stroke_recent_or_bleed" in flow.visible_answers(answers | {"stroke_ever": gate})


def test_answers_hidden_behind_a_hidden_question_are_dropped_too() -> None:
    # prior_ozone_problem_type depends on prior_ozone_problem, which depends on prior_ozone.
    answers = {
        "prior_ozone": "no",
        "prior_ozone_problem": "yes",
        "prior_ozone_problem_type": ["rash"],
        "prior_ozone_problem_details": "a rash",
    }
    assert flow.visible_answers(answers) == {"prior_ozone": "no"}
    answers["prior_ozone"] = "yes"
    assert flow.visible_answers(answers) == answers


def test_changing_an_earlier_answer_hides_the_follow_up_answers_given_before() -> None:
    answers = {"recent_ozone_7d": "yes", "post_ozone_red_flags": ["seizure"], "post_ozone_site_problem": "yes"}
    assert flow.visible_answers(answers) == answers
    answers["recent_ozone_7d"] = "not_sure"  # both follow-ups are asked after "not sure" too (R1)
    assert flow.visible_answers(answers) == answers
    answers["recent_ozone_7d"] = "no"
    assert flow.visible_answers(answers) == {"recent_ozone_7d": "no"}


def test_injection_site_questions_count_only_for_a_local_route() -> None:
    answers = {
        "treatment_types": ["blood_drip"],
        "skin_problem_at_site": "yes",
        "hot_swollen_joint": "yes",
        "injection_body_area": "knee",
    }
    assert flow.visible_answers(answers) == {"treatment_types": ["blood_drip"]}
    answers["treatment_types"] = ["muscle"]
    assert flow.visible_answers(answers) == {
        "treatment_types": ["muscle"],
        "skin_problem_at_site": "yes",
        "injection_body_area": "knee",
    }
    answers["treatment_types"] = ["joint"]
    assert "hot_swollen_joint" in flow.visible_answers(answers)


def test_not_sure_about_the_treatment_shows_the_injection_site_questions() -> None:
    visible = flow.visible_answers({"treatment_types": ["not_sure"], "skin_problem_at_site": "no"})
    assert visible["skin_problem_at_site"] == "no"


def test_blank_answers_and_unknown_ids_are_not_visible_answers() -> None:
    visible = flow.visible_answers(
        {"other_concerns": "   ", "allergy_items": [], "unwell_now": None, "no_such_question": "yes", "seizures": "no"}
    )
    assert visible == {"seizures": "no"}


def test_visible_answers_of_a_complete_answer_set_are_all_of_it() -> None:
    assert flow.visible_answers(ALL_NO) == ALL_NO


# --- shown pages, next and previous ------------------------------------------------------------


def test_follow_up_pages_are_not_shown_when_none_of_their_questions_is() -> None:
    assert page_ids(ALL_NO) == MAIN_PAGES
    assert page_ids({}) == [p for p in MAIN_PAGES if p != "injection-site"]


@pytest.mark.parametrize(
    ("change", "follow_up"),
    [
        ({"recent_ozone_7d": "not_sure"}, "urgent-follow-up"),
        ({"anaemia_recent": "yes"}, "blood-follow-up"),
        ({"blood_thinner": "yes"}, "blood-follow-up"),
        ({"stroke_ever": "yes"}, "heart-follow-up"),
        ({"heart_condition": "yes"}, "heart-follow-up"),
        ({"high_bp": "yes"}, "heart-follow-up"),
        ({"overactive_thyroid": "yes"}, "hormones-follow-up"),
        ({"diabetes": "yes"}, "hormones-follow-up"),
        ({"lung_condition": "yes"}, "brain-lungs-follow-up"),
        ({"prior_ozone": "yes"}, "reactions-follow-up"),
        ({"prior_ozone": "yes", "prior_ozone_problem": "not_sure"}, "reactions-detail"),
    ],
)
def test_a_follow_up_page_is_shown_right_after_its_page_when_an_answer_calls_for_it(
    change: dict[str, Any], follow_up: str
) -> None:
    answers = ALL_NO | change
    shown = page_ids(answers)
    assert follow_up in shown
    before = shown[shown.index(follow_up) - 1]
    # Right after the page that asks (or the page after it: the heart's follow-up also follows up
    # "circulation"), in the same section of the progress indicator.
    assert pages.progress(before) == pages.progress(follow_up)
    assert flow.next_page(before, answers).id == follow_up  # type: ignore[union-attr]
    assert flow.previous_page(follow_up, answers).id == before  # type: ignore[union-attr]


def test_next_page_skips_a_follow_up_page_that_is_not_shown() -> None:
    assert flow.next_page("urgent", ALL_NO).id == "about"  # type: ignore[union-attr]
    assert flow.next_page("circulation", ALL_NO).id == "hormones"  # type: ignore[union-attr]
    assert flow.previous_page("about", ALL_NO).id == "urgent"  # type: ignore[union-attr]
    assert flow.previous_page("other", ALL_NO).id == "injection-site"  # type: ignore[union-attr]


def test_the_injection_site_page_is_skipped_for_a_blood_drip_only() -> None:
    answers = ALL_NO | {"treatment_types": ["blood_drip"]}
    assert flow.next_page("reactions", answers).id == "other"  # type: ignore[union-attr]
    assert flow.previous_page("other", answers).id == "reactions"  # type: ignore[union-attr]
    assert not flow.is_shown("injection-site", answers)


def test_there_is_no_page_before_the_first_or_after_the_last() -> None:
    assert flow.previous_page("urgent", ALL_NO) is None
    assert flow.next_page("declaration", ALL_NO) is None


def test_walking_next_from_the_first_page_visits_exactly_the_shown_pages() -> None:
    answers = ALL_NO | {"stroke_ever": "yes", "diabetes": "yes", "prior_ozone": "yes"}
    visited = [QUESTIONNAIRE.pages[0].id]
    while (nxt := flow.next_page(visited[-1], answers)) is not None:
        visited.append(nxt.id)
    assert visited == page_ids(answers)
    assert "heart-follow-up" in visited and "hormones-follow-up" in visited and "reactions-follow-up" in visited


def test_shown_questions_of_a_page_list_only_the_questions_its_answers_call_for() -> None:
    ids = [q.id for q in flow.shown_questions("heart-follow-up", {"stroke_ever": "yes", "high_bp": "yes"})]
    assert ids == ["stroke_recent_or_bleed", "high_bp_controlled"]
    assert flow.shown_questions("heart-follow-up", ALL_NO) == []


def test_unanswered_required_names_the_required_questions_left_empty_and_not_optional_ones() -> None:
    answers = {"treatment_types": ["joint"], "skin_problem_at_site": "no"}
    missing = [q.id for q in flow.unanswered_required("injection-site", answers)]
    assert missing == ["hot_swollen_joint"]  # injection_body_area is optional
    assert flow.unanswered_required("injection-site", answers | {"hot_swollen_joint": "no"}) == []


# --- first incomplete page ---------------------------------------------------------------------


def test_a_new_patient_starts_on_the_urgent_page() -> None:
    assert flow.first_incomplete_page({}, set()).id == "urgent"  # type: ignore[union-attr]


def test_the_first_incomplete_page_skips_pages_completed_with_continue() -> None:
    urgent = {
        k: ALL_NO[k]
        for k in ("chest_pain_now", "breathing_trouble_now", "stroke_signs_now", "recent_ozone_7d", "unwell_now")
    }
    assert flow.first_incomplete_page(urgent, {"urgent"}).id == "about"  # type: ignore[union-attr]


def test_a_page_sent_but_missing_a_required_answer_is_still_incomplete() -> None:
    answers = {"chest_pain_now": "no"}
    assert flow.first_incomplete_page(answers, {"urgent"}).id == "urgent"  # type: ignore[union-attr]


def test_a_page_answered_but_never_sent_is_incomplete() -> None:
    assert flow.first_incomplete_page(ALL_NO, set()).id == "urgent"  # type: ignore[union-attr]


def test_a_newly_shown_follow_up_page_becomes_the_first_incomplete_page() -> None:
    done = set(MAIN_PAGES)
    assert flow.first_incomplete_page(ALL_NO, done) is None
    answers = ALL_NO | {"high_bp": "yes"}
    assert flow.first_incomplete_page(answers, done).id == "heart-follow-up"  # type: ignore[union-attr]


# --- unanswered safety questions ---------------------------------------------------------------


def test_unanswered_safety_lists_shown_questions_without_an_answer_but_no_text_or_contact() -> None:
    answers = {k: v for k, v in ALL_NO.items() if k not in ("unwell_now", "medicines_list", "contact_time")}
    assert flow.unanswered_safety(answers) == ["unwell_now"]


def test_unanswered_safety_ignores_hidden_questions_and_stops_at_upto() -> None:
    assert flow.unanswered_safety(ALL_NO) == []
    assert flow.unanswered_safety(ALL_NO | {"high_bp": "yes"}) == ["high_bp_controlled"]
    assert flow.unanswered_safety({}, upto="urgent") == [
        "chest_pain_now",
        "breathing_trouble_now",
        "stroke_signs_now",
        "recent_ozone_7d",
        "unwell_now",
    ]


# --- answers a question can take ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "value"),
    [
        ("allergy_items", ["none_of_these", "latex"]),
        ("allergy_items", ["latex", "not_sure"]),
        ("allergy_items", ["none_of_these", "not_sure"]),
        ("post_ozone_red_flags", ["seizure", "none_of_these"]),
        ("treatment_types", ["not_sure", "muscle"]),
        ("prior_ozone_types", ["direct_iv_gas", "not_sure"]),
    ],
)
def test_an_exclusive_choice_cannot_be_combined_with_others(qid: str, value: list[str]) -> None:
    problem = QUESTIONNAIRE.questions[qid].problem(value)
    assert problem is not None and "cannot be combined with other choices" in problem


@pytest.mark.parametrize(
    ("qid", "value"),
    [
        ("allergy_items", ["none_of_these"]),
        ("allergy_items", ["not_sure"]),
        ("allergy_items", ["latex", "heparin"]),
        ("treatment_types", ["blood_drip", "muscle", "spine_neck"]),
        ("prior_ozone_problem_type", ["rash", "something_else"]),
        ("patient_age_years", 0),
        ("patient_age_years", 120),
        ("pregnant", "prefer_private"),
        ("other_concerns", "anything"),
        ("unwell_now", None),
    ],
)
def test_valid_answers_have_no_problem(qid: str, value: Any) -> None:
    assert QUESTIONNAIRE.questions[qid].problem(value) is None


@pytest.mark.parametrize(
    ("qid", "value", "words"),
    [
        ("unwell_now", "maybe", "'maybe' is not one of yes, no, not_sure"),
        ("chest_pain_now", "not_sure", "'not_sure' is not one of yes, no"),
        ("breastfeeding", "prefer_private", "is not one of"),
        ("allergy_items", "latex", "needs a list of values"),
        ("allergy_items", ["latex", "pollen"], "'pollen' not one of"),
        ("allergy_items", ["latex", "latex"], "repeats a value"),
        ("patient_age_years", "45", "needs a whole number"),
        ("patient_age_years", True, "needs a whole number"),
        ("patient_age_years", 121, "must be between 0 and 120"),
        ("patient_age_years", -1, "must be between 0 and 120"),
        ("medicines_list", 5, "needs text"),
        ("medicines_list", "x" * 2001, "longer than 2000 characters"),
    ],
)
def test_impossible_answers_are_named(qid: str, value: Any, words: str) -> None:
    problem = QUESTIONNAIRE.questions[qid].problem(value)
    assert problem is not None and words in problem


# --- one walk, asked many times (flow.Route) ------------------------------------------------------

ALL_PAGE_IDS = [p.id for p in QUESTIONNAIRE.pages]


@settings(max_examples=150, deadline=None)
@given(ANSWER_SETS)
def test_a_route_answers_as_the_page_by_page_rules_do(answers: dict[str, Any]) -> None:
    route = flow.route(answers)
    shown = [p.id for p in route.pages]
    # The answers that stay shown show the same pages: saving a page relies on it.
    assert route.visible == flow.visible_answers(answers)
    assert [p.id for p in flow.route(route.visible).pages] == shown
    for page_id in ALL_PAGE_IDS:
        later = [p for p in shown if ALL_PAGE_IDS.index(p) > ALL_PAGE_IDS.index(page_id)]
        earlier = [p for p in shown if ALL_PAGE_IDS.index(p) < ALL_PAGE_IDS.index(page_id)]
        after, before = route.after(page_id), route.before(page_id)
        assert (after.id if after else None) == (later[0] if later else None)
        assert (before.id if before else None) == (earlier[-1] if earlier else None)
        questions = route.questions(page_id)
        assert bool(questions) == (page_id in shown)
        assert all(q.shown(route.visible, {}, frozenset()) for q in questions)
    done = shown[: len(shown) // 2]
    first = route.first_incomplete(done)
    expected = next((p for p in shown if p not in done or flow.unanswered_required(p, answers)), None)
    assert (first.id if first else None) == expected
