"""A treatment_types left unanswered counts like "I'm not sure": every route (clinical-content.md B:
"Not sure" counts as every route, and unanswered never counts as "No").

Before, a blank treatment_types made every route-scoped rule (INJ, MAH, SPINE) stay silent: a
patient on a blood thinner who skipped the treatment question got no flag for it at all.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from questionnaire.core.rules import DEFAULT_PATH, RulesFileError, load_ruleset

from ..helpers import ALL_NO

RULESET = load_ruleset(DEFAULT_PATH)
TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
BLANK = {k: v for k, v in ALL_NO.items() if k != "treatment_types"}
# Every rule whose condition tests the treatment, directly.
ROUTE_RULES = {r.id for r in RULESET.rules if "treatment_types" in r.questions}


def fired(answers: dict[str, Any]) -> set[str]:
    return set(RULESET.evaluate(answers).rule_ids)


def test_the_route_scoped_rules_are_the_ones_expected() -> None:
    assert ROUTE_RULES == {
        "r_anaemia_severe_mah",
        "r_anaemia_severe_other",
        "r_blood_thinner_injection",
        "r_blood_thinner_drip",
        "r_pfo_high_risk_route",
        "r_skin_site_problem",
        "r_g6pd_unknown_mah",
        "r_g6pd_unknown",
        "r_listed_thinner_injection",
        "r_listed_thinner_other",
        "r_checkin_not_eaten",
    }


@pytest.mark.parametrize(
    ("answers", "fires", "instead_of"),
    [
        ({"blood_thinner": "yes"}, "r_blood_thinner_injection", "r_blood_thinner_drip"),
        ({"blood_thinner": "not_sure"}, "r_blood_thinner_injection", "r_blood_thinner_drip"),
        ({"hole_in_heart": "yes"}, "r_pfo_high_risk_route", "r_pfo_other"),
        (
            {"anaemia_recent": "yes", "anaemia_needed_transfusion": "yes"},
            "r_anaemia_severe_mah",
            "r_anaemia_severe_other",
        ),
        (
            {"anaemia_recent": "yes", "anaemia_needed_transfusion": "not_sure"},
            "r_anaemia_severe_mah",
            "r_anaemia_severe_other",
        ),
    ],
    ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()) if isinstance(a, dict) else str(a),
)
def test_an_unanswered_treatment_fires_the_route_rule_at_its_highest(
    answers: dict[str, Any], fires: str, instead_of: str
) -> None:
    result = RULESET.evaluate(BLANK | answers)
    assert fires in result.rule_ids and instead_of not in result.rule_ids
    assert "r_required_unanswered" in result.rule_ids  # and the skipped question is still flagged
    assert result.level == "discuss_before_booking"
    [rule] = [f for f in result.fired if f.id == fires]
    assert rule.triggers["treatment_types"] is None  # staff see that it was not answered


@pytest.mark.parametrize(
    ("thinner", "transfusion", "hole"), list(itertools.product(["yes", "no", "not_sure"], repeat=3))
)
def test_unanswered_and_not_sure_about_the_treatment_fire_the_same_rules(
    thinner: str, transfusion: str, hole: str
) -> None:
    answers = BLANK | {
        "blood_thinner": thinner,
        "anaemia_recent": "yes",
        "anaemia_needed_transfusion": transfusion,
        "hole_in_heart": hole,
    }
    # A blank treatment hides the injection-site questions, so their answers are dropped; judged as
    # "not sure", it shows them again, unanswered, and they are judged "not sure" too (R2).
    blank = fired(answers) - {"r_required_unanswered"}
    site_unanswered = {k: v for k, v in answers.items() if k not in ("skin_problem_at_site", "hot_swollen_joint")}
    not_sure = fired(site_unanswered | {"treatment_types": ["not_sure"]}) - {"r_required_unanswered"}
    every = fired(site_unanswered | {"treatment_types": ["blood_drip", "muscle", "joint", "under_skin", "spine_neck"]})
    assert blank == not_sure
    assert blank & ROUTE_RULES == every & ROUTE_RULES


def test_an_answered_treatment_is_read_as_answered() -> None:
    assert "r_blood_thinner_drip" in fired(BLANK | {"blood_thinner": "yes", "treatment_types": ["blood_drip"]})
    assert "r_blood_thinner_injection" not in fired(BLANK | {"blood_thinner": "yes", "treatment_types": ["blood_drip"]})


def test_a_form_stopped_before_the_treatment_question_does_not_count_it() -> None:
    urgent = {
        "chest_pain_now": "yes",
        "breathing_trouble_now": "no",
        "stroke_signs_now": "no",
        "recent_ozone_7d": "no",
        "unwell_now": "no",
    }
    assert RULESET.evaluate(urgent, upto="urgent").rule_ids == ["r_urgent_chest_pain_now"]


def test_the_rules_file_has_examples_for_an_unanswered_treatment() -> None:
    names = [
        e["name"]
        for e in RULESET.examples
        if "treatment_types" not in e["answers"] and set(e.get("fires") or ()) & ROUTE_RULES
    ]
    assert len(names) >= 3, names


@pytest.mark.parametrize("op", ["unanswered", "answered"])
def test_a_rule_cannot_test_whether_the_treatment_was_answered(tmp_path: Path, op: str) -> None:
    old = "        - {q: treatment_types, any_of: [blood_drip, not_sure]}\n"
    assert old in TEXT
    text = TEXT.replace(old, f"        - {{q: treatment_types, {op}: true}}\n", 1)
    text = text[: text.index("\nexamples:") + 1]
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    [error] = caught.value.errors
    assert error.rule == "r_anaemia_severe_mah"
    assert error.line == text[: text.index(f"{{q: treatment_types, {op}: true}}")].count("\n") + 1
    assert error.message.startswith(
        f"treatment_types: '{op}' cannot tell here: a shown treatment_types left unanswered counts as 'not_sure'"
    )
