"""Check-in on the day in the pure core: which questions are asked, what the rules judge, what the
patient-mode outcome says (clinical-content.md A11, B2, B3, R9)."""

from __future__ import annotations

from typing import Any

from questionnaire.core import checkin
from questionnaire.core.rules import load_ruleset

RULESET = load_ruleset()
ALL_NO: dict[str, Any] = dict(RULESET.examples[0]["answers"])


def ids(answers: dict[str, Any]) -> list[str]:
    return [q.id for q in checkin.shown_questions(answers)]


def test_eating_is_asked_only_when_the_blood_drip_is_planned_or_not_known() -> None:
    everything = ["checkin_health_changed", "checkin_alcohol_drugs_12h", "checkin_eaten"]
    assert ids({**ALL_NO, "treatment_types": ["blood_drip"]}) == everything
    assert ids({**ALL_NO, "treatment_types": ["not_sure"]}) == everything
    assert ids({**ALL_NO, "treatment_types": ["joint", "blood_drip"]}) == everything
    assert ids({**ALL_NO, "treatment_types": ["joint"]}) == everything[:2]


def judged(answers: dict[str, Any]) -> set[str]:
    result = RULESET.evaluate(checkin.combined_answers(ALL_NO | {"treatment_types": ["blood_drip"]}, answers))
    return {f.id for f in result.fired}


def test_the_three_rules_fire_as_the_specification_says() -> None:
    base = {"checkin_health_changed": "no", "checkin_alcohol_drugs_12h": "no", "checkin_eaten": "yes"}
    assert judged(base) == set()
    assert judged({**base, "checkin_health_changed": "yes"}) == {"r_checkin_changed"}
    assert judged({**base, "checkin_alcohol_drugs_12h": "yes"}) == {"r_checkin_intoxication"}
    assert judged({**base, "checkin_alcohol_drugs_12h": "prefer_private"}) == {"r_checkin_intoxication"}
    assert judged({**base, "checkin_eaten": "no"}) == {"r_checkin_not_eaten"}
    for rule_id in ("r_checkin_changed", "r_checkin_intoxication"):
        assert RULESET.rule(rule_id).level == "discuss_before_booking"
    assert RULESET.rule("r_checkin_not_eaten").level == "mention_at_consultation"


def test_the_patient_messages_are_the_specifications_words() -> None:
    said = {
        rule: RULESET.messages[RULESET.rule(rule).patient_message[0]]
        for rule in ("r_checkin_changed", "r_checkin_intoxication", "r_checkin_not_eaten")
    }
    assert said == {
        "r_checkin_changed": "Thank you. Please answer a few questions again so our team has up-to-date information.",
        "r_checkin_intoxication": (
            "Thank you for telling us. A clinician will talk with you before any treatment today."
        ),
        "r_checkin_not_eaten": "Thank you. Please tell the staff before treatment starts.",
    }
    for rule in said:
        assert RULESET.rule(rule).staff_note and RULESET.rule(rule).sources


def test_check_in_answers_never_replace_the_forms_own_and_only_check_in_ids_are_taken() -> None:
    combined = checkin.combined_answers(
        {"blood_thinner": "no", "checkin_eaten": "yes"}, {"blood_thinner": "yes", "checkin_eaten": "no"}
    )
    assert combined == {"blood_thinner": "no", "checkin_eaten": "no"}


def test_the_outcome_says_a_clinician_talks_with_you_today_and_each_sentence_once() -> None:
    texts = [RULESET.messages["MSG_CHECKIN_TALK_TODAY"], RULESET.messages["MSG_CHECKIN_TELL_STAFF"]]
    paragraphs = checkin.outcome_paragraphs("discuss_before_booking", texts, lambda s: s)
    assert paragraphs[0] == "A clinician will talk with you before any treatment today."
    joined = " ".join(paragraphs)
    assert joined.count("A clinician will talk with you before any treatment today.") == 1
    assert "book" not in joined.lower()
    assert checkin.outcome_paragraphs("none", [], lambda s: s) == ["Your answers have been sent to the clinic's team."]
