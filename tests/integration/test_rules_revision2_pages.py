"""Clinical-content.md section R (revision 2) through the web form, `flask rules evaluate` and the staff
page: a not-sure patient is asked the follow-up, outcome pages never repeat a sentence, same-day and
emergency stops, and staff see what the medicines-list check found."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask

from questionnaire.core.wording import banned_wording

from ..helpers import ALL_NO, NO_FLAGS, Patient, parse_html, visible_text
from ..staff_factory import add_submission
from ..staff_helpers import make_staff, sign_in


def test_flask_rules_evaluate_gives_the_section_r_levels(runner: Any) -> None:
    cases = [
        (
            {
                "recent_ozone_7d": "not_sure",
                "post_ozone_red_flags": ["none_of_these"],
                "post_ozone_site_problem": "not_sure",
            },
            "urgent",
        ),
        ({"g6pd_deficiency": "not_sure", "treatment_types": ["blood_drip"]}, "discuss_before_booking"),
        ({"hole_in_heart": "not_sure", "treatment_types": ["spine_neck"]}, "discuss_before_booking"),
        ({"high_bp": "not_sure", "high_bp_controlled": "not_sure"}, "discuss_before_booking"),
        ({"blood_thinner": "no", "medicines_list": "Sintrom"}, "discuss_before_booking"),
        ({"other_concerns": "n/a"}, "none"),
        ({"immune_weakened": "not_sure"}, "mention_at_consultation"),
    ]
    for extra, level in cases:
        result = runner.invoke(args=["rules", "evaluate", "-"], input=json.dumps(ALL_NO | extra))
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["level"] == level, extra


def sentences(html: str) -> list[str]:
    """The sentences of the page's main content, without the copy of the answers (its questions may
    share a wording such as "Pick all that apply.")."""
    main = parse_html(html).find(".//main")
    for details in main.iter("details"):
        details.clear()
    text = " ".join(" ".join(main.itertext()).split())
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 12]


OUTCOMES = {
    "discuss, with extra sentences": NO_FLAGS
    | {
        "unwell_now": "yes",
        "blood_thinner": "yes",
        "blood_thinner_name": "warfarin",
        "pregnant": "prefer_private",
        "patient_age_years": 16,
        "faint_with_needles": "yes",
    },
    "mention only": NO_FLAGS
    | {
        "faint_with_needles": "yes",
        "lung_condition": "yes",
        "lung_flare_4w": "no",
        "respondent_role": "family_or_carer",
    },
    "no flags": NO_FLAGS,
}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("name", list(OUTCOMES))
def test_no_outcome_page_repeats_a_sentence(app: Flask, language: str, name: str) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    html = Patient(client).complete(OUTCOMES[name]).get_data(as_text=True)
    assert f'lang="{language}"' in html
    said = sentences(html)
    repeated = {s for s in said if said.count(s) > 1}
    assert not repeated, repeated
    assert not banned_wording(visible_text(html))


def test_the_discuss_outcome_says_we_will_contact_you_once_and_keeps_the_extra_sentences(app: Flask) -> None:
    html = Patient(app.test_client()).complete(OUTCOMES["discuss, with extra sentences"]).get_data(as_text=True)
    text = visible_text(html)
    assert text.count("We will contact you") == 1
    assert text.count("not a diagnosis") == 1
    assert "It does not mean you can't have treatment" not in text
    for sentence in [
        "We may suggest a date after you feel better.",
        "We will talk about this with you in private.",
        "Because the patient is under 18",
        "Please tell the staff before any needle is used.",
    ]:
        assert sentence in text


def test_a_same_day_stop_says_get_medical_advice_today(app: Flask) -> None:
    answers = NO_FLAGS | {
        "recent_ozone_7d": "yes",
        "post_ozone_red_flags": ["none_of_these"],
        "post_ozone_site_problem": "yes",
    }
    html = Patient(app.test_client()).complete(answers).get_data(as_text=True)
    text = visible_text(html)
    assert "Get medical advice today" in text and "can be a sign of infection" in text
    assert "Get medical help now" not in text


def test_an_emergency_wins_over_same_day_care(app: Flask) -> None:
    answers = NO_FLAGS | {
        "recent_ozone_7d": "yes",
        "post_ozone_red_flags": ["seizure"],
        "post_ozone_site_problem": "yes",
    }
    html = Patient(app.test_client()).complete(answers).get_data(as_text=True)
    text = visible_text(html)
    assert "Get medical help now" in text and "new symptoms after a recent ozone treatment" in text
    assert "Get medical advice today" not in text and "can be a sign of infection" not in text


# --- the form asks the follow-up after "Not sure" ---------------------------------------------------


@pytest.mark.parametrize(
    "gate, page, follow_up",
    [
        ("recent_ozone_7d", "urgent-follow-up", "post_ozone_site_problem"),
        ("anaemia_recent", "blood-follow-up", "anaemia_needed_transfusion"),
        ("blood_thinner", "blood-follow-up", "blood_thinner_name"),
        ("heart_condition", "heart-follow-up", "heart_condition_worse"),
        ("high_bp", "heart-follow-up", "high_bp_controlled"),
        ("overactive_thyroid", "hormones-follow-up", "thyroid_controlled"),
        ("lung_condition", "brain-lungs-follow-up", "lung_flare_4w"),
        ("prior_ozone", "reactions-follow-up", "prior_ozone_problem"),
    ],
)
def test_a_patient_not_sure_about_a_gate_is_asked_its_follow_up(
    patient: Patient, gate: str, page: str, follow_up: str
) -> None:
    html = patient.reach(page, NO_FLAGS | {gate: "not_sure"}).get_data(as_text=True)
    assert f'name="{follow_up}"' in html


# --- staff see what was answered and what the list check found ------------------------------------


def test_staff_see_the_names_found_the_limits_of_the_check_and_the_answers_beside_each_flag(app: Flask) -> None:
    reference = add_submission(
        app,
        NO_FLAGS
        | {"medicines_list": "Sintrom 4mg, omeprazole", "hole_in_heart": "not_sure", "treatment_types": ["spine_neck"]},
    )
    client = app.test_client()
    sign_in(client, "clinician@clinic.example", make_staff(app, "clinician@clinic.example", "clinician"))
    text = visible_text(client.get(f"/staff/submissions/{reference}").get_data(as_text=True))
    assert "Names found in the patient's list: Sintrom." in text
    assert "checked only for the names in the rule set's lists" in text
    assert "blood thinners (anticoagulants and antiplatelets)" in text
    assert "The medicine list names Sintrom, a blood thinner" in text
    flag = text[text.index("r_pfo_high_risk_route") :]
    assert "Not sure" in flag[:600]
