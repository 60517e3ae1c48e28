"""The rule set (rules/contraindications.yaml) and its engine and loader (questionnaire/core/rules/)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from questionnaire.core import flow
from questionnaire.core.rules import DEFAULT_PATH, NO_LEVEL, RuleError, RulesFileError, load_ruleset

from ..helpers import ALL_NO

RULES_PATH = Path(__file__).resolve().parents[2] / "rules" / "contraindications.yaml"
TEXT = RULES_PATH.read_text(encoding="utf-8")
RULESET = load_ruleset(RULES_PATH)
RULE_IDS = [r.id for r in RULESET.rules]
EXAMPLES: list[Mapping[str, Any]] = list(RULESET.examples)
ERROR_SHAPE = re.compile(r"^(?P<file>.+):(?P<line>\d+): rule (?P<rule>\S+): (?P<message>.+)$")


def fired(answers: Mapping[str, Any]) -> list[str]:
    return RULESET.evaluate(answers).rule_ids


# --- the examples in the file ------------------------------------------------------------------


def test_the_default_rules_path_is_the_rules_file_of_the_repository() -> None:
    assert Path(DEFAULT_PATH) == RULES_PATH


def test_the_rule_set_has_every_rule_of_the_specification() -> None:
    assert len(RULE_IDS) == 65  # B1-B3 (the check-in rules of A11 included, R9), and revision 2's six (R3, R4, R6)
    assert len(set(RULE_IDS)) == len(RULE_IDS)
    # A draft is never signed off; an approved file loads only when its sign-off matches its content.
    assert RULESET.status in ("draft", "approved")
    assert RULESET.signed_off is (RULESET.status == "approved")


@pytest.mark.parametrize("example", EXAMPLES, ids=[str(e["name"]) for e in EXAMPLES])
def test_each_example_in_the_rules_file_holds(example: Mapping[str, Any]) -> None:
    result = RULESET.evaluate(example["answers"])
    assert set(example.get("fires") or ()) <= set(result.rule_ids)
    assert not set(example.get("does_not_fire") or ()) & set(result.rule_ids)
    if example.get("level") is not None:
        assert result.level == example["level"]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_fires_on_its_examples_and_not_on_the_negative_ones(rule_id: str) -> None:
    positive = [e for e in EXAMPLES if rule_id in (e.get("fires") or ())]
    negative = [e for e in EXAMPLES if rule_id in (e.get("does_not_fire") or ())]
    assert positive, f"no example fires {rule_id}"
    assert negative, f"no example shows {rule_id} not firing"
    for e in positive:
        assert rule_id in fired(e["answers"]), e["name"]
    for e in negative:
        assert rule_id not in fired(e["answers"]), e["name"]


def test_a_complete_all_no_answer_set_raises_no_flag() -> None:
    result = RULESET.evaluate(ALL_NO)
    assert result.level == NO_LEVEL
    assert result.fired == ()


# --- what evaluate returns ---------------------------------------------------------------------


def test_evaluate_returns_the_highest_level_that_fires() -> None:
    mention = ALL_NO | {"faint_with_needles": "yes"}
    discuss = mention | {"blood_thinner": "yes"}
    urgent = discuss | {"chest_pain_now": "yes"}
    assert RULESET.evaluate(mention).level == "mention_at_consultation"
    assert RULESET.evaluate(discuss).level == "discuss_before_booking"
    assert RULESET.evaluate(urgent).level == "urgent"
    assert [lv.id for lv in RULESET.levels] == ["urgent", "discuss_before_booking", "mention_at_consultation"]


def test_evaluate_lists_fired_rules_in_file_order_whatever_the_answer_order() -> None:
    answers = ALL_NO | {
        "respondent_role": "clinic_staff",
        "g6pd_deficiency": "yes",
        "chest_pain_now": "yes",
        "other_concerns": "my knee",
        "seizures": "not_sure",
    }
    ids = fired(dict(reversed(list(answers.items()))))
    assert ids == [
        "r_urgent_chest_pain_now",
        "r_g6pd_known",
        "r_seizures_unknown",
        "r_proxy_completion",
        "r_other_info",
    ]
    assert ids == sorted(ids, key=RULE_IDS.index)


def test_each_fired_rule_carries_its_messages_note_sources_and_the_answers_that_triggered_it() -> None:
    result = RULESET.evaluate(ALL_NO | {"blood_thinner": "yes", "blood_thinner_name": "warfarin"})
    [f] = result.fired
    rule = RULESET.rule("r_blood_thinner_injection")
    assert f.id == rule.id and f.level == "discuss_before_booking"
    assert f.message_ids == ("MSG_D", "MSG_DO_NOT_STOP_MEDICINES")
    assert all(RULESET.messages[m] for m in f.message_ids)
    assert f.staff_note == rule.staff_note and "NOT" in f.staff_note
    assert f.sources == ("S13", "S17", "S38") and f.evidence == "B/C"
    assert f.triggers == {"blood_thinner": "yes", "treatment_types": ["joint"]}


def test_patient_messages_are_listed_once_in_rule_order() -> None:
    result = RULESET.evaluate(
        ALL_NO
        | {
            "unwell_now": "yes",
            "g6pd_deficiency": "yes",
            "anaemia_recent": "not_sure",
            "anaemia_needed_transfusion": "no",
        }
    )
    assert result.rule_ids == ["r_current_infection_or_fever", "r_g6pd_known", "r_anaemia_recent"]
    assert result.message_ids == ["MSG_D", "MSG_AFTER_FEELING_BETTER", "MSG_M"]


def test_triggers_show_the_patients_own_treatment_answer_not_the_expanded_routes() -> None:
    result = RULESET.evaluate(ALL_NO | {"treatment_types": ["not_sure"], "hole_in_heart": "yes"})
    [pfo] = [f for f in result.fired if f.id == "r_pfo_high_risk_route"]
    assert pfo.triggers == {"hole_in_heart": "yes", "treatment_types": ["not_sure"]}


def test_evaluate_reports_the_rule_set_version_and_the_sha256_of_the_file() -> None:
    result = RULESET.evaluate({})
    assert result.sha256 == hashlib.sha256(RULES_PATH.read_bytes()).hexdigest()
    assert f'version: "{result.version}"' in TEXT
    assert result.summary() == {
        "level": result.level,
        "rules": result.rule_ids,
        "ruleset": {"version": result.version, "sha256": result.sha256},
    }


def test_changing_one_byte_of_the_file_changes_the_sha256(tmp_path: Path) -> None:
    copy = tmp_path / "rules.yaml"
    copy.write_text(TEXT + "\n# a comment\n", encoding="utf-8")
    assert load_ruleset(copy).sha256 != RULESET.sha256


# --- unanswered, not sure and hidden answers ---------------------------------------------------


def test_a_shown_safety_question_left_unanswered_fires_r_required_unanswered() -> None:
    answers = {k: v for k, v in ALL_NO.items() if k != "fainting_12m"}  # yes or no, no "Not sure"
    result = RULESET.evaluate(answers)
    assert result.rule_ids == ["r_required_unanswered"]
    assert result.level == "mention_at_consultation"
    assert result.fired[0].triggers == {"fainting_12m": None}
    assert result.fired[0].message_ids == ("MSG_QUESTIONS_UNANSWERED",)


def test_a_shown_question_that_offers_not_sure_left_unanswered_is_judged_not_sure() -> None:
    # clinical-content.md R2: the rules see "not_sure"; r_required_unanswered fires as well.
    answers = {k: v for k, v in ALL_NO.items() if k != "unwell_now"}
    result = RULESET.evaluate(answers)
    assert result.rule_ids == ["r_current_infection_or_fever", "r_required_unanswered"]
    assert result.level == "discuss_before_booking"
    assert result.fired[0].triggers == {"unwell_now": None}  # staff see it was not answered
    assert RULESET.evaluate(ALL_NO | {"unwell_now": "not_sure"}).level == result.level


def test_a_shown_follow_up_left_unanswered_fires_r_required_unanswered() -> None:
    result = RULESET.evaluate(ALL_NO | {"diabetes": "yes"})
    assert "r_required_unanswered" in result.rule_ids
    [req] = [f for f in result.fired if f.id == "r_required_unanswered"]
    assert req.triggers == {"diabetes_low_sugar_meds": None, "diabetes_unstable": None}


@pytest.mark.parametrize(
    "qid", ["medicines_list", "other_concerns", "injection_body_area", "contact_name", "contact_time", "declaration"]
)
def test_text_contact_and_declaration_questions_left_empty_are_not_unanswered_safety_questions(qid: str) -> None:
    answers = {k: v for k, v in ALL_NO.items() if k != qid}
    assert "r_required_unanswered" not in fired(answers)


def test_a_hidden_question_is_never_counted_as_unanswered() -> None:
    assert "r_required_unanswered" not in fired(ALL_NO)  # every follow-up is hidden and empty


def test_with_upto_later_pages_do_not_count_as_unanswered() -> None:
    urgent = {
        "chest_pain_now": "yes",
        "breathing_trouble_now": "no",
        "stroke_signs_now": "no",
        "recent_ozone_7d": "no",
        "unwell_now": "no",
    }
    assert RULESET.evaluate(urgent, upto="urgent").rule_ids == ["r_urgent_chest_pain_now"]
    later = RULESET.evaluate(urgent).rule_ids  # later pages unanswered: judged "not sure" too
    assert later[0] == "r_urgent_chest_pain_now" and "r_required_unanswered" in later and len(later) > 2


def test_an_answer_to_a_hidden_question_never_fires_a_rule() -> None:
    answers = ALL_NO | {"stroke_ever": "no", "stroke_recent_or_bleed": "yes"}
    result = RULESET.evaluate(answers)
    assert result.level == NO_LEVEL and result.fired == ()


@pytest.mark.parametrize(
    "hidden",
    [
        {"stroke_recent_or_bleed": "yes"},
        {"heart_condition_worse": "yes"},
        {"high_bp_controlled": "no"},
        {"thyroid_controlled": "no"},
        {"diabetes_unstable": "yes", "diabetes_low_sugar_meds": "yes"},
        {"lung_flare_4w": "yes"},
        {"anaemia_needed_transfusion": "yes"},
        {"post_ozone_red_flags": ["seizure"], "post_ozone_site_problem": "yes"},
        {"prior_ozone_types": ["direct_iv_gas"], "prior_ozone_problem": "yes", "prior_ozone_problem_type": ["seizure"]},
    ],
)
def test_hidden_answers_never_change_the_result(hidden: dict[str, Any]) -> None:
    base = RULESET.evaluate(ALL_NO)
    with_hidden = RULESET.evaluate(ALL_NO | hidden)
    assert (with_hidden.level, with_hidden.rule_ids) == (base.level, base.rule_ids)
    assert flow.visible_answers(ALL_NO | hidden) == ALL_NO


@pytest.mark.parametrize(
    ("qid", "rule_id"), [("high_bp_controlled", "r_bp_uncontrolled"), ("thyroid_controlled", "r_thyroid_uncontrolled")]
)
def test_a_control_question_left_unanswered_counts_like_not_under_control(qid: str, rule_id: str) -> None:
    parent = {"high_bp_controlled": "high_bp", "thyroid_controlled": "overactive_thyroid"}[qid]
    for value in ("no", "not_sure", None):
        answers = ALL_NO | {parent: "yes"} | ({qid: value} if value else {})
        assert rule_id in fired(answers), value
    assert rule_id not in fired(ALL_NO | {parent: "yes", qid: "yes"})


@pytest.mark.parametrize("qid", [q.id for q in RULESET.questionnaire.questions.values() if q.kind == "ynu"])
def test_not_sure_is_never_treated_as_no(qid: str) -> None:
    base = ALL_NO if flow.shown_questions(RULESET.questionnaire.questions[qid].page_id, ALL_NO) else {}
    base = {k: v for k, v in base.items() if k != qid}
    # Show the question: answer "yes" to whatever it follows.
    parent = RULESET.questionnaire.questions[qid].shown_when
    setup: dict[str, Any] = {}
    while parent:
        if "eq" in parent:
            setup[parent["q"]] = parent["eq"]
        elif "in" in parent:
            setup[parent["q"]] = parent["in"][0]
        else:
            setup[parent["q"]] = [parent["any_of"][0]]
        parent = RULESET.questionnaire.questions[parent["q"]].shown_when
    answers = {**ALL_NO, **setup}
    answers.pop(qid, None)
    no = RULESET.evaluate(answers | {qid: "no"})
    not_sure = RULESET.evaluate(answers | {qid: "not_sure"})
    unanswered = RULESET.evaluate(answers)
    assert RULESET.rank(not_sure.level) <= RULESET.rank(no.level)
    assert RULESET.rank(unanswered.level) <= RULESET.rank(no.level)
    assert "r_required_unanswered" in unanswered.rule_ids


# --- treatment "not sure" counts as every route ------------------------------------------------

ALL_ROUTES = ["blood_drip", "muscle", "joint", "under_skin", "spine_neck"]
SCOPED = {
    "r_anaemia_severe_mah",
    "r_anaemia_severe_other",
    "r_blood_thinner_injection",
    "r_blood_thinner_drip",
    "r_pfo_high_risk_route",
    "r_pfo_other",
    "r_skin_site_problem",
}


@pytest.mark.parametrize(
    "answers",
    [
        {"blood_thinner": "yes"},
        {"blood_thinner": "not_sure"},
        {"anaemia_recent": "yes", "anaemia_needed_transfusion": "yes"},
        {"anaemia_recent": "yes", "anaemia_needed_transfusion": "not_sure"},
        {"hole_in_heart": "yes"},
        {"hole_in_heart": "not_sure"},
        {"skin_problem_at_site": "yes"},
        {"skin_problem_at_site": "not_sure"},
    ],
    ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()),
)
def test_not_sure_about_the_treatment_counts_as_every_route(answers: dict[str, Any]) -> None:
    every = set(fired(ALL_NO | answers | {"treatment_types": ALL_ROUTES})) & SCOPED
    not_sure = set(fired(ALL_NO | answers | {"treatment_types": ["not_sure"]})) & SCOPED
    assert not_sure == every
    assert not_sure, "each of these answers is flagged for some route"


def test_not_sure_about_the_treatment_flags_the_route_specific_rules_at_their_highest() -> None:
    ids = fired(
        ALL_NO
        | {
            "treatment_types": ["not_sure"],
            "blood_thinner": "yes",
            "hole_in_heart": "yes",
            "anaemia_recent": "yes",
            "anaemia_needed_transfusion": "yes",
        }
    )
    assert {"r_blood_thinner_injection", "r_pfo_high_risk_route", "r_anaemia_severe_mah"} <= set(ids)
    assert not {"r_blood_thinner_drip", "r_pfo_other", "r_anaemia_severe_other"} & set(ids)


@pytest.mark.parametrize(
    ("routes", "high", "low"),
    [
        (["spine_neck"], True, False),
        (["blood_drip"], True, False),
        (["muscle", "spine_neck"], True, False),
        (["muscle"], False, True),
        (["joint", "under_skin"], False, True),
    ],
)
def test_a_known_hole_in_the_heart_is_discussed_before_booking_for_blood_drip_or_spine(
    routes: list[str], high: bool, low: bool
) -> None:
    ids = fired(ALL_NO | {"hole_in_heart": "yes", "treatment_types": routes})
    assert ("r_pfo_high_risk_route" in ids) is high
    assert ("r_pfo_other" in ids) is low


def test_not_sure_about_a_hole_in_the_heart_counts_like_yes_for_each_route() -> None:
    # clinical-content.md R3: an unknown PFO is not assumed absent.
    for routes, rule, level in (
        (["spine_neck"], "r_pfo_high_risk_route", "discuss_before_booking"),
        (["not_sure"], "r_pfo_high_risk_route", "discuss_before_booking"),
        (["muscle"], "r_pfo_other", "mention_at_consultation"),
    ):
        result = RULESET.evaluate(ALL_NO | {"hole_in_heart": "not_sure", "treatment_types": routes})
        assert result.rule_ids == [rule]
        assert result.level == level


def test_rules_that_refer_to_another_rule_see_its_result() -> None:
    assert fired(ALL_NO | {"stroke_ever": "yes", "stroke_recent_or_bleed": "no"}) == ["r_stroke_history"]
    assert fired(ALL_NO | {"stroke_ever": "yes", "stroke_recent_or_bleed": "yes"}) == ["r_stroke_recent_or_bleed"]
    assert fired(ALL_NO | {"lung_condition": "yes", "lung_flare_4w": "not_sure"}) == ["r_lung_unstable"]
    assert fired(ALL_NO | {"lung_condition": "yes", "lung_flare_4w": "no"}) == ["r_lung_stable"]


def test_the_evaluation_order_puts_referenced_rules_first() -> None:
    position = {r.id: i for i, r in enumerate(RULESET.order)}
    for r in RULESET.rules:
        for ref in re.findall(r"'rule': '(r_\w+)'", repr(r.when)):
            assert position[ref] < position[r.id]


@pytest.mark.parametrize(("age", "flag"), [(0, True), (17, True), (18, False), (120, False)])
def test_a_patient_under_18_is_discussed_before_booking(age: int, flag: bool) -> None:
    assert ("r_under_18" in fired(ALL_NO | {"patient_age_years": age})) is flag


# --- the loader refuses a broken file ----------------------------------------------------------


def write_broken(tmp_path: Path, old: str, new: str, *, at: str | None = None) -> tuple[Path, int]:
    """A copy of the real file with the first `old` replaced by `new`; the line of `at` (in `new`) in it."""
    assert old in TEXT, old
    start = TEXT.index(old)
    text = TEXT.replace(old, new, 1)
    offset = new.index(at) if at else len(new) - len(new.lstrip())
    path = tmp_path / "contraindications.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[: start + offset].count("\n") + 1


def line_of(path: Path, needle: str, after: str = "") -> int:
    text = path.read_text(encoding="utf-8")
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def refusal(path: Path) -> list[RuleError]:
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    errors = caught.value.errors
    assert errors
    for line in str(caught.value).splitlines():
        assert ERROR_SHAPE.match(line), line
    return errors


def assert_one_error(path: Path, line: int, rule: str | None, message: str) -> None:
    errors = refusal(path)
    expected = f"{path}:{line}: rule {rule or '-'}: {message}"
    assert [str(e) for e in errors] == [expected]


def test_a_yaml_syntax_error_is_refused_with_its_line(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path,
        "    staff_note: Vasovagal history. Plan to treat the patient lying down.",
        "    staff_note: Vasovagal: history. Plan to treat the patient lying down.",
    )
    [error] = refusal(path)
    assert (error.file, error.line, error.rule) == (str(path), line, None)
    assert error.message.startswith("YAML syntax: mapping values are not allowed")
    assert re.match(rf"^{re.escape(str(path))}:{line}: rule -: YAML syntax: ", str(error))


def test_an_unknown_key_in_a_rule_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path,
        "  - id: r_g6pd_known\n    level: discuss_before_booking\n",
        "  - id: r_g6pd_known\n    level: discuss_before_booking\n    severity: high\n",
        at="severity",
    )
    assert_one_error(
        path,
        line,
        "r_g6pd_known",
        "unknown key 'severity' in a rule (allowed: evidence, front_desk, id, level, patient_message, "
        "same_day, sources, staff_note, title, when)",
    )


def test_an_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(tmp_path, "no_flags:\n", "thresholds: {}\n\nno_flags:\n")
    [error] = refusal(path)
    assert (error.line, error.rule) == (line, None)
    assert error.message.startswith("unknown key 'thresholds' in the rules file")


def test_an_unknown_question_id_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(tmp_path, "{q: g6pd_deficiency, eq: yes}", "{q: g6pd_deficency, eq: yes}")
    assert_one_error(path, line, "r_g6pd_known", "unknown question 'g6pd_deficency'")


def test_an_unknown_question_id_deep_in_a_condition_is_refused_on_its_own_line(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path,
        "        - {q: blood_thinner, in: [yes, not_sure]}",
        "        - {q: blood_thiner, in: [yes, not_sure]}",
    )
    assert line == line_of(path, "{q: blood_thiner")
    assert line > line_of(path, "    when:", after="  - id: r_blood_thinner_injection")
    assert_one_error(path, line, "r_blood_thinner_injection", "unknown question 'blood_thiner'")


def test_a_value_the_question_cannot_take_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path, "{q: pregnant, in: [yes, not_sure, prefer_private]}", "{q: pregnant, in: [yes, not_sure, private]}"
    )
    assert_one_error(
        path,
        line,
        "r_pregnancy",
        "pregnant cannot take the value 'private' (it takes yes, no, not_sure, not_applicable, prefer_private)",
    )


def test_an_operator_the_question_kind_does_not_support_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(tmp_path, "when: {q: seizures, eq: yes}", "when: {q: seizures, any_of: [yes]}")
    assert_one_error(
        path, line, "r_seizures", "seizures: 'any_of' is for questions that take several answers; this one is ynu"
    )


def test_a_malformed_condition_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(tmp_path, "when: {q: seizures, eq: yes}", "when: {q: seizures, equals: yes}")
    [error] = refusal(path)
    assert (error.line, error.rule) == (line, "r_seizures")
    assert error.message.startswith("condition when: a question test needs exactly one of")


def test_a_duplicate_rule_id_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(tmp_path, "  - id: r_g6pd_unknown\n", "  - id: r_g6pd_known\n", at="id:")
    assert_one_error(path, line, "r_g6pd_known", "duplicate rule id")


def test_a_rule_cycle_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path, "    when: {q: stroke_recent_or_bleed, in: [yes, not_sure]}", "    when: {rule: r_stroke_history}"
    )
    assert_one_error(
        path,
        line,
        "r_stroke_recent_or_bleed",
        "rule cycle: r_stroke_recent_or_bleed -> r_stroke_history -> r_stroke_recent_or_bleed",
    )


def test_a_rule_that_refers_to_itself_is_a_cycle(tmp_path: Path) -> None:
    path, line = write_broken(tmp_path, "    when: {q: seizures, eq: yes}", "    when: {not: {rule: r_seizures}}")
    assert_one_error(path, line, "r_seizures", "rule cycle: r_seizures -> r_seizures")


def test_a_reference_to_an_unknown_rule_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path, "        - {not: {rule: r_lung_unstable}}", "        - {not: {rule: r_lung_unstabel}}"
    )
    [error] = refusal(path)
    assert error.rule == "r_lung_stable"
    assert error.message == "refers to unknown rule 'r_lung_unstabel'"
    assert error.line == line_of(path, "    when:", after="  - id: r_lung_stable")


def test_an_unknown_level_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path,
        "  - id: r_g6pd_known\n    level: discuss_before_booking\n",
        "  - id: r_g6pd_known\n    level: discuss_first\n",
        at="level:",
    )
    assert_one_error(
        path,
        line,
        "r_g6pd_known",
        "unknown level 'discuss_first' (levels: discuss_before_booking, mention_at_consultation, urgent)",
    )


def test_an_unknown_message_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(
        tmp_path, "patient_message: [MSG_M, MSG_NEEDLE_LIE_DOWN]", "patient_message: [MSG_M, MSG_NEEDLE_LIE_DOWM]"
    )
    assert_one_error(path, line, "r_needle_faint", "unknown message 'MSG_NEEDLE_LIE_DOWM'")


def test_an_unknown_source_is_refused(tmp_path: Path) -> None:
    path, line = write_broken(tmp_path, "    sources: [S7, S57]", "    sources: [S7, S75]")
    assert_one_error(path, line, "r_g6pd_unknown", "unknown source 'S75'")


BLOCK_START = "  - id: r_doctor_advised_unknown\n"
BLOCK = TEXT[TEXT.index(BLOCK_START) : TEXT.index("\n\n", TEXT.index(BLOCK_START)) + 1]


@pytest.mark.parametrize("key", ["level", "when", "patient_message", "staff_note", "sources", "evidence"])
def test_a_missing_key_is_refused_once(tmp_path: Path, key: str) -> None:
    without = "".join(line for line in BLOCK.splitlines(keepends=True) if not line.startswith(f"    {key}:"))
    assert without != BLOCK
    path, line = write_broken(tmp_path, BLOCK, without, at="id:")
    assert_one_error(path, line, "r_doctor_advised_unknown", f"missing key {key!r} in a rule")


@pytest.mark.parametrize(
    ("old", "new", "key", "banned"),
    [
        (
            "  MSG_BRING_INHALER: Please bring your inhaler to your visit.",
            "  MSG_BRING_INHALER: Please bring your inhaler to your visit. It is safe to come.",
            "MSG_BRING_INHALER",
            "'safe'",
        ),
        (
            "  MSG_CONTACT_PRIVATELY: We will talk about this with you in private.",
            "  MSG_CONTACT_PRIVATELY: We will talk about this with you in private. Then you are good to go.",
            "MSG_CONTACT_PRIVATELY",
            "'good to go'",
        ),
        (
            "  MSG_HOT_JOINT_FEVER: If you also have a fever, please get medical advice today.",
            "  MSG_HOT_JOINT_FEVER: If you also have a fever, you are not eligible today.",
            "MSG_HOT_JOINT_FEVER",
            "'eligible'",
        ),
    ],
)
def test_a_message_with_clearance_wording_is_refused(tmp_path: Path, old: str, new: str, key: str, banned: str) -> None:
    path, line = write_broken(tmp_path, old, new)
    assert_one_error(path, line, None, f"messages {key} uses clearance wording a patient must never read: {banned}")


def test_an_outcome_with_clearance_wording_is_refused(tmp_path: Path) -> None:
    path, _ = write_broken(
        tmp_path, "This is not a diagnosis.\n    holds_booking: false", "You are all clear.\n    holds_booking: false"
    )
    line = line_of(path, "    outcome:", after="  - id: mention_at_consultation")
    assert_one_error(
        path,
        line,
        None,
        "level mention_at_consultation outcome uses clearance wording a patient must never read: 'all clear'",
    )


def test_an_example_that_fires_a_rule_it_must_not_is_refused(tmp_path: Path) -> None:
    name = "no trouble breathing right now"
    path, _ = write_broken(
        tmp_path,
        f"  - name: {name}\n    answers: {{breathing_trouble_now: no}}",
        f"  - name: {name}\n    answers: {{breathing_trouble_now: yes}}",
    )
    line = line_of(path, "    does_not_fire:", after=f"  - name: {name}\n")
    assert_one_error(path, line, "r_urgent_breathing_now", f"example {name!r} fires this rule but must not")


def test_an_example_that_does_not_fire_a_rule_it_must_is_refused(tmp_path: Path) -> None:
    name = "stable heart condition"
    path, _ = write_broken(
        tmp_path,
        f"  - name: {name}\n    answers: {{heart_condition: yes, heart_condition_worse: no}}",
        f"  - name: {name}\n    answers: {{heart_condition: yes, heart_condition_worse: yes}}",
    )
    errors = [str(e) for e in refusal(path)]
    fires = line_of(path, "    fires:", after=f"  - name: {name}\n")
    not_fire = line_of(path, "    does_not_fire:", after=f"  - name: {name}\n")
    assert errors == [
        f"{path}:{fires}: rule r_heart_condition_stable: example {name!r} should fire this rule but does not",
        f"{path}:{not_fire}: rule r_heart_unstable: example {name!r} fires this rule but must not",
    ]


def test_an_example_with_the_wrong_level_is_refused(tmp_path: Path) -> None:
    name = "fainted in the last 12 months"
    path, _ = write_broken(
        tmp_path,
        f"  - name: {name}\n    answers: {{fainting_12m: yes}}\n    fires: [r_fainting]\n"
        "    level: mention_at_consultation",
        f"  - name: {name}\n    answers: {{fainting_12m: yes}}\n    fires: [r_fainting]\n    level: urgent",
    )
    line = line_of(path, "    level: urgent", after=f"  - name: {name}\n")
    assert_one_error(path, line, None, f"example {name!r} gives level 'mention_at_consultation', expected 'urgent'")


def test_an_example_with_an_impossible_answer_is_refused(tmp_path: Path) -> None:
    name = "fainted in the last 12 months"
    path, line = write_broken(
        tmp_path,
        f"  - name: {name}\n    answers: {{fainting_12m: yes}}",
        f"  - name: {name}\n    answers: {{fainting_12m: not_sure}}",
        at="answers",
    )
    assert_one_error(path, line, None, f"example {name!r}: fainting_12m: 'not_sure' is not one of yes, no")


def test_every_fault_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = TEXT.replace("{q: g6pd_deficiency, eq: yes}", "{q: g6pd_deficency, eq: yes}", 1)
    text = text.replace("patient_message: [MSG_M, MSG_NEEDLE_LIE_DOWN]", "patient_message: [MSG_X]", 1)
    path = tmp_path / "two.yaml"
    path.write_text(text, encoding="utf-8")
    messages = [e.message for e in refusal(path)]
    assert messages == ["unknown question 'g6pd_deficency'", "unknown message 'MSG_X'"]


def test_a_missing_rules_file_is_refused(tmp_path: Path) -> None:
    [error] = refusal(tmp_path / "nowhere.yaml")
    assert "cannot read the file" in error.message
