"""The questionnaire definition matches the contract of data-dictionary.md, and build() checks itself."""

from __future__ import annotations

import re
from typing import Any

import pytest

from questionnaire.core import languages, questions
from questionnaire.core.definition import CONTACT_LABELS, PAGES_DEFINITION, QUESTIONNAIRE
from questionnaire.core.questions import (
    NOT_SURE_HINT,
    DefinitionError,
    Page,
    Question,
    build,
    multi,
    page,
    single,
    text,
    ynu,
)
from questionnaire.core.wording import banned_wording

# An in-test copy of the table in data-dictionary.md (the contract), so that this test does not
# depend on files outside the repository. Update both together.
DATA_DICTIONARY = """
| Page | id | kind | values | when |
|---|---|---|---|---|
| urgent | chest_pain_now | yn | | |
| urgent | breathing_trouble_now | yn | | |
| urgent | stroke_signs_now | yn | | |
| urgent | recent_ozone_7d | ynu | | |
| urgent | unwell_now | ynu | | |
| urgent-follow-up | post_ozone_red_flags | multi | chest_pain, fainting, seizure, confusion, weakness_numbness_speech, vision, severe_headache, breathing, none_of_these *(exclusive)*, not_sure *(exclusive)* | recent_ozone_7d in [yes, not_sure] |
| urgent-follow-up | post_ozone_site_problem | ynu | | recent_ozone_7d in [yes, not_sure] |
| about | respondent_role | single | patient, parent_or_guardian, family_or_carer, clinic_staff, someone_else | |
| about | patient_age_years | int | 0 to 120 | |
| about | decision_help | ynu | | |
| about | treatment_types | multi | blood_drip, muscle, joint, under_skin, spine_neck, not_sure *(exclusive)* | |
| about | injection_body_area | text (optional) | | treatment_types any of [muscle, joint, under_skin, spine_neck, not_sure] |
| blood | g6pd_deficiency | ynu | | |
| blood | red_cell_breakdown | ynu | | |
| blood | anaemia_recent | ynu | | |
| blood | bleeding_problem | ynu | | |
| blood | low_platelets | ynu | | |
| blood | blood_thinner | ynu | | |
| blood-follow-up | anaemia_needed_transfusion | ynu | | anaemia_recent in [yes, not_sure] |
| blood-follow-up | blood_thinner_name | text (optional) | | blood_thinner in [yes, not_sure] |
| heart | heart_event_6m | ynu | | |
| heart | stroke_ever | ynu | | |
| heart | heart_condition | ynu | | |
| heart | chest_pain_past_month | ynu | | |
| heart | hole_in_heart | ynu | | |
| heart | high_bp | ynu | | |
| heart | pril_medicine | ynu | | |
| heart | fainting_12m | yn | | |
| heart | faint_with_needles | ynu | | |
| heart-follow-up | stroke_recent_or_bleed | ynu | | stroke_ever in [yes, not_sure] |
| heart-follow-up | heart_condition_worse | ynu | | heart_condition in [yes, not_sure] |
| heart-follow-up | high_bp_controlled | ynu | | high_bp in [yes, not_sure] |
| hormones | overactive_thyroid | ynu | | |
| hormones | diabetes | ynu | | |
| hormones-follow-up | thyroid_controlled | ynu | | overactive_thyroid in [yes, not_sure] |
| hormones-follow-up | diabetes_unstable | ynu | | diabetes in [yes, not_sure] |
| hormones-follow-up | diabetes_low_sugar_meds | ynu | | diabetes in [yes, not_sure] |
| brain-lungs | seizures | ynu | | |
| brain-lungs | lung_condition | ynu | | |
| brain-lungs-follow-up | lung_flare_4w | ynu | | lung_condition in [yes, not_sure] |
| pregnancy | pregnant | single | yes, no, not_sure, not_applicable, prefer_private | |
| pregnancy | breastfeeding | single | yes, no, not_applicable | |
| reactions | prior_ozone | ynu | | |
| reactions | severe_allergy_ever | ynu | | |
| reactions | allergy_items | multi | latex, local_anaesthetic, heparin, citrate, skin_cleaners, plasters_tape, none_of_these *(exclusive)*, not_sure *(exclusive)* | |
| reactions-follow-up | prior_ozone_types | multi | blood_drip, muscle, joint, under_skin, spine_neck, direct_iv_gas, other, not_sure *(exclusive)* | prior_ozone in [yes, not_sure] |
| reactions-follow-up | prior_ozone_problem | ynu | | prior_ozone in [yes, not_sure] |
| reactions-detail | prior_ozone_problem_type | multi | fainting, rash, swelling_or_breathing, chest_pain_or_racing_heart, seizure, confusion_weakness_vision_speech, site_infection, something_else | prior_ozone_problem in [yes, not_sure] |
| reactions-detail | prior_ozone_problem_details | text (optional) | | prior_ozone_problem in [yes, not_sure] |
| injection-site | skin_problem_at_site | ynu | | treatment_types any of [muscle, joint, under_skin, spine_neck, not_sure] |
| injection-site | hot_swollen_joint | ynu | | treatment_types any of [joint, not_sure] |
| other | recent_surgery | ynu | | |
| other | replacing_advised_treatment | ynu | | |
| other | doctor_said_no | ynu | | |
| other | immune_weakened | ynu | | |
| other | medicines_list | text | (may be "none") | |
| other | other_concerns | text (optional) | | |
| contact | contact_name | text | | |
| contact | contact_phone | text | phone or email required; phone validated leniently | |
| contact | contact_email | text | | |
| contact | contact_time | single | morning, afternoon, evening, any_time | |
| declaration | declaration | yn (checkbox) | must be `yes` to send | |
"""

CONDITION = re.compile(r"^(\w+) (=|in|any of) (.+)$")


def parse_condition(when: str) -> dict[str, Any] | None:
    if not when:
        return None
    m = CONDITION.match(when)
    assert m, f"cannot read the condition {when!r}"
    qid, op, arg = m.groups()
    if op == "=":
        return {"q": qid, "eq": arg}
    values = [v.strip() for v in arg.strip("[]").split(",")]
    return {"q": qid, "in" if op == "in" else "any_of": values}


def parse_table(markdown: str) -> list[dict[str, Any]]:
    rows = []
    for line in markdown.strip().splitlines()[2:]:
        page_id, qid, kind, values, when = (cell.strip() for cell in line.strip().strip("|").split("|"))
        base_kind = kind.split(" ")[0]
        row: dict[str, Any] = {
            "page": page_id,
            "id": qid,
            "kind": base_kind,
            "optional": "(optional)" in kind,
            "checkbox": "(checkbox)" in kind,
            "values": (),
            "exclusive": frozenset(),
            "min": None,
            "max": None,
            "when": parse_condition(when),
        }
        if base_kind == "yn":
            row["values"] = ("yes", "no")
        elif base_kind == "ynu":
            row["values"] = ("yes", "no", "not_sure")
        elif base_kind in ("single", "multi"):
            parts = [v.strip() for v in values.split(",")]
            row["values"] = tuple(p.split(" ")[0] for p in parts)
            row["exclusive"] = frozenset(p.split(" ")[0] for p in parts if "*(exclusive)*" in p)
        elif base_kind == "int":
            low, high = values.split(" to ")
            row["min"], row["max"] = int(low), int(high)
        rows.append(row)
    return rows


CONTRACT = parse_table(DATA_DICTIONARY)
BY_ID = {row["id"]: row for row in CONTRACT}


def test_the_in_test_copy_of_the_contract_was_read_completely() -> None:
    assert len(CONTRACT) == 62
    assert len(BY_ID) == len(CONTRACT)


def test_the_definition_has_exactly_the_question_ids_of_the_contract() -> None:
    # Page names are a suggestion (injection_body_area moved after the page that asks for the
    # treatment, since shown-when may only look at earlier pages); the ids are the contract.
    defined = [q.id for p in QUESTIONNAIRE.pages for q in p.questions]
    assert len(defined) == len(set(defined))
    assert set(defined) == set(BY_ID)


@pytest.mark.parametrize("row", CONTRACT, ids=[row["id"] for row in CONTRACT])
def test_each_question_has_the_contracts_kind_values_and_shown_when(row: dict[str, Any]) -> None:
    q = QUESTIONNAIRE.questions[row["id"]]
    assert q.kind == row["kind"]
    assert q.values == row["values"]
    assert q.exclusive_values == row["exclusive"]
    assert q.shown_when == row["when"]
    if row["kind"] == "int":
        assert (q.min, q.max) == (row["min"], row["max"])
    if row["optional"]:
        assert q.optional
    assert q.checkbox == row["checkbox"]


def test_questions_the_contract_does_not_mark_optional_are_required_with_an_error_message() -> None:
    # contact_phone and contact_email are "phone or email required": the form checks that pair.
    either = {"contact_phone", "contact_email"}
    for row in CONTRACT:
        q = QUESTIONNAIRE.questions[row["id"]]
        if not row["optional"] and row["id"] not in either:
            assert not q.optional, q.id
            assert q.error.strip(), q.id


def test_follow_up_pages_hold_only_questions_with_a_shown_when_condition() -> None:
    follow_ups = [p for p in QUESTIONNAIRE.pages if p.follow_up]
    assert follow_ups
    for p in follow_ups:
        assert all(q.shown_when is not None for q in p.questions), p.id


def test_the_urgent_questions_come_first_on_their_own_page() -> None:
    first = QUESTIONNAIRE.pages[0]
    assert first.id == "urgent"
    assert [q.id for q in first.questions] == [r["id"] for r in CONTRACT if r["page"] == "urgent"]
    assert all(q.shown_when is None for q in first.questions)


def test_treatment_types_not_sure_is_read_by_the_rules_as_every_route() -> None:
    assert QUESTIONNAIRE.questions["treatment_types"].means_all == "not_sure"


YNU = [q for q in QUESTIONNAIRE.questions.values() if q.kind == "ynu"]


@pytest.mark.parametrize("q", YNU, ids=[q.id for q in YNU])
def test_every_ynu_question_tells_the_patient_not_sure_is_fine(q: Question) -> None:
    assert NOT_SURE_HINT in q.hints
    assert "Not sure" in NOT_SURE_HINT
    assert q.hints[-1] == NOT_SURE_HINT  # after the question's own hint


def test_questions_without_a_not_sure_choice_do_not_show_the_not_sure_hint() -> None:
    others = [q for q in QUESTIONNAIRE.questions.values() if q.kind != "ynu"]
    assert others
    for q in others:
        assert NOT_SURE_HINT not in q.hints, q.id


def test_each_question_lives_on_the_page_that_holds_it() -> None:
    for p in QUESTIONNAIRE.pages:
        for q in p.questions:
            assert q.page_id == p.id
            assert QUESTIONNAIRE.questions[q.id] is q


def patient_strings() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = [("NOT_SURE_HINT", NOT_SURE_HINT)]
    for p in QUESTIONNAIRE.pages:
        found.append((f"{p.id} title", p.title))
        if p.intro:
            found.append((f"{p.id} intro", p.intro))
        for q in p.questions:
            found += [(f"{q.id} text", q.text), (f"{q.id} error", q.error)]
            found += [(f"{q.id} hint", q.hint)] if q.hint else []
            found += [(f"{q.id} why", q.why)] if q.why else []
            found += [(f"{q.id} suffix", q.suffix)] if q.suffix else []
            found += [(f"{q.id} choice {c.value}", c.label) for c in q.choices]
    return found


def test_no_question_hint_why_or_choice_uses_a_banned_clearance_word() -> None:
    strings = patient_strings()
    assert len(strings) > 300
    offending = [
        (where, s, banned_wording(s, phrases=False)) for where, s in strings if banned_wording(s, phrases=False)
    ]
    assert offending == []


def test_the_wording_check_used_above_does_catch_a_banned_word() -> None:
    assert banned_wording("This treatment is not safe for you.", phrases=False) == ["safe"]


# --- build() refuses a broken definition -------------------------------------------------------


def q_yes(id: str, **kw: Any) -> Question:
    return ynu(id, f"Question {id}?", f"Answer {id}", **kw)


def test_build_accepts_a_small_well_formed_definition() -> None:
    qn = build(
        (page("one", "One", q_yes("a")), page("one-follow-up", "More", q_yes("b", shown_when={"q": "a", "eq": "yes"})))
    )
    assert [p.id for p in qn.pages] == ["one", "one-follow-up"]
    assert qn.questions["b"].shown({"a": "yes"}, {}, frozenset())
    assert not qn.questions["b"].shown({"a": "no"}, {}, frozenset())


def refused(pages: tuple[Page, ...]) -> str:
    with pytest.raises(DefinitionError) as caught:
        build(pages)
    return str(caught.value)


def test_build_refuses_a_question_id_used_twice() -> None:
    message = refused((page("one", "One", q_yes("a")), page("two", "Two", q_yes("a"))))
    assert "page two: question a: duplicate question id" in message


def test_build_refuses_a_question_id_used_twice_on_one_page() -> None:
    assert "question a: duplicate question id" in refused((page("one", "One", q_yes("a"), q_yes("a")),))


def test_build_refuses_a_page_id_used_twice() -> None:
    assert "page one: duplicate page id" in refused((page("one", "One", q_yes("a")), page("one", "One", q_yes("b"))))


def test_build_refuses_shown_when_referring_to_a_later_page() -> None:
    message = refused(
        (page("one", "One", q_yes("a", shown_when={"q": "b", "eq": "yes"})), page("two", "Two", q_yes("b")))
    )
    assert "page one: question a: shown_when refers to 'b', which is not a question on an earlier page" in message


def test_build_refuses_shown_when_referring_to_the_same_page() -> None:
    message = refused((page("one", "One", q_yes("a"), q_yes("b", shown_when={"q": "a", "eq": "yes"})),))
    assert "question b: shown_when refers to 'a', which is not a question on an earlier page" in message


def test_build_refuses_shown_when_referring_to_an_unknown_question() -> None:
    message = refused(
        (page("one", "One", q_yes("a")), page("two", "Two", q_yes("b", shown_when={"q": "nowhere", "eq": "yes"})))
    )
    assert "shown_when refers to 'nowhere'" in message


def test_build_refuses_shown_when_with_a_value_the_question_cannot_take() -> None:
    message = refused(
        (page("one", "One", q_yes("a")), page("two", "Two", q_yes("b", shown_when={"q": "a", "eq": "maybe"})))
    )
    assert "shown_when uses 'maybe', which a cannot take" in message


def test_build_refuses_a_malformed_shown_when() -> None:
    message = refused(
        (page("one", "One", q_yes("a")), page("two", "Two", q_yes("b", shown_when={"q": "a", "equals": "yes"})))
    )
    assert "question b: shown_when: a question test needs exactly one of" in message


def test_build_refuses_a_rule_reference_in_shown_when() -> None:
    message = refused((page("one", "One", q_yes("a")), page("two", "Two", q_yes("b", shown_when={"rule": "r_x"}))))
    assert "'rule' can only be used in rules" in message


@pytest.mark.parametrize("value", ["NotSure", "not-sure", "not sure", "1st", "yes_", "_no"])
def test_build_refuses_a_choice_value_that_is_not_snake_case(value: str) -> None:
    message = refused((page("one", "One", single("a", "A?", "Answer a", [("yes", "Yes"), (value, "Odd")])),))
    assert f"question a: choice value {value!r} is not snake_case" in message


def test_build_refuses_a_question_id_that_is_not_snake_case() -> None:
    assert "question chestPain: id is not snake_case" in refused((page("one", "One", q_yes("chestPain")),))


def test_build_refuses_a_required_question_without_an_error_message() -> None:
    assert "question a: a required question needs an error message" in refused((page("one", "One", text("a", "A?")),))


def test_build_refuses_exclusive_choices_outside_multi_questions() -> None:
    odd = Question(
        id="a",
        kind="single",
        text="A?",
        error="Answer a",
        choices=(questions.Choice("x", "X", exclusive=True), questions.Choice("y", "Y")),
    )
    assert "only multi questions have exclusive choices" in refused((page("one", "One", odd),))


def test_build_reports_every_fault_at_once() -> None:
    message = refused(
        (page("one", "One", q_yes("a"), q_yes("a"), multi("m", "M?", "Answer m", [("Bad Value", "x"), ("ok", "y")])),)
    )
    assert "duplicate question id" in message
    assert "'Bad Value' is not snake_case" in message


def test_the_shipped_definition_builds_without_faults() -> None:
    qn = build(PAGES_DEFINITION)
    assert set(qn.questions) == set(BY_ID)


# --- check-in on the day (data-dictionary.md "check-in" rows; clinical-content.md A11, R9) ----------
CHECKIN_DICTIONARY = """
| page | id | type | values | when |
|---|---|---|---|---|
| check-in | checkin_health_changed | yn | | |
| check-in | checkin_alcohol_drugs_12h | single | yes, no, prefer_private | |
| check-in | checkin_eaten | yn | | treatment_types any of [blood_drip, not_sure] |
"""
CHECKIN_CONTRACT = parse_table(CHECKIN_DICTIONARY)


def test_the_check_in_page_has_exactly_the_contracts_check_in_questions() -> None:
    from questionnaire.core.checkin import CHECKIN_IDS, CHECKIN_PAGE, RULES_QUESTIONNAIRE

    assert CHECKIN_IDS == tuple(row["id"] for row in CHECKIN_CONTRACT)
    # Not a page of the patient form; the rules' questionnaire is the form's pages, then the check-in.
    assert not set(CHECKIN_IDS) & set(QUESTIONNAIRE.questions)
    assert [p.id for p in RULES_QUESTIONNAIRE.pages] == [p.id for p in QUESTIONNAIRE.pages] + ["check-in"]
    for row in CHECKIN_CONTRACT:
        q = RULES_QUESTIONNAIRE.questions[row["id"]]
        assert q.page_id == CHECKIN_PAGE.id and q.kind == row["kind"] and q.values == row["values"]
        assert q.shown_when == row["when"] and not q.optional and q.error
        assert not RULES_QUESTIONNAIRE.is_safety(q)  # a form sent without a check-in is not "unanswered"


def test_the_staff_pages_name_every_contact_question_in_the_pages_order() -> None:
    assert list(CONTACT_LABELS) == [q.id for q in QUESTIONNAIRE.page("contact").questions]
    assert all(label.strip() for label in CONTACT_LABELS.values())


def test_each_language_has_a_name_for_the_staff_and_one_in_itself() -> None:
    assert set(languages.NAMES) == set(languages.NATIVE_NAMES) >= {"en", "es"}
    assert languages.name("es") == "Spanish" and languages.native_name("es") == "Español"
    assert languages.name("xx") == "xx" and languages.name(None) == ""
