"""Property tests of the rule engine over random answer sets built from the questionnaire definition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaire.core import flow, pages
from questionnaire.core.conditions import has_answer
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Question
from questionnaire.core.rules import DEFAULT_PATH, Assessment, Ruleset, load_ruleset

RULES_PATH = Path(DEFAULT_PATH)
RULESET = load_ruleset()
QUESTIONS = list(QUESTIONNAIRE.questions.values())
YNU = [q.id for q in QUESTIONS if q.kind == "ynu"]
PAGE_IDS = [p.id for p in QUESTIONNAIRE.pages]
SETTINGS = settings(max_examples=200, deadline=None)
# Each example of these evaluates the rules three times per question it shows: fewer examples.
PER_QUESTION = settings(max_examples=80, deadline=None)


def value_of(q: Question) -> st.SearchStrategy[Any]:
    """Any answer the question can take."""
    if q.kind in ("yn", "ynu", "single"):
        return st.sampled_from(q.values)
    if q.kind == "multi":
        plain = [v for v in q.values if v not in q.exclusive_values]
        combos = st.lists(st.sampled_from(plain), min_size=1, max_size=len(plain), unique=True)
        if not q.exclusive_values:
            return combos
        return st.one_of(combos, st.sampled_from(sorted(q.exclusive_values)).map(lambda v: [v]))
    if q.kind == "int":
        assert q.min is not None and q.max is not None
        return st.integers(q.min, q.max)
    return st.text(max_size=12)


# For each question: absent, or a value of its kind.
ANSWER_SETS = st.fixed_dictionaries({}, optional={q.id: value_of(q) for q in QUESTIONS})
# Values of the wrong kind that a form would refuse (flat JSON values), for robustness only.
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
JUNK = SCALARS | st.lists(SCALARS, max_size=3) | st.sampled_from([v for q in QUESTIONS for v in q.values])


def outcome(result: Assessment) -> tuple[str, list[str], list[dict[str, Any]]]:
    return result.level, result.rule_ids, [dict(f.triggers) for f in result.fired]


def shown_ids(answers: dict[str, Any]) -> set[str]:
    """Questions shown for these answers (shown-when looks only at earlier, hence visible, answers)."""
    visible = flow.visible_answers(answers)
    return {q.id for q in QUESTIONS if q.shown(visible, {}, frozenset())}


def test_shown_ids_agrees_with_the_page_by_page_flow() -> None:
    answers = {
        "recent_ozone_7d": "yes",
        "treatment_types": ["joint"],
        "prior_ozone": "yes",
        "prior_ozone_problem": "not_sure",
        "stroke_ever": "no",
        "stroke_recent_or_bleed": "yes",
    }
    by_page = {q.id for p in flow.shown_pages(answers) for q in flow.shown_questions(p.id, answers)}
    assert shown_ids(answers) == by_page
    assert {"post_ozone_site_problem", "hot_swollen_joint", "prior_ozone_problem_type"} <= by_page
    assert "stroke_recent_or_bleed" not in by_page


@PER_QUESTION
@given(ANSWER_SETS)
def test_not_sure_or_no_answer_never_gives_a_lower_level_than_no(answers: dict[str, Any]) -> None:
    # Lower rank = higher level: "not sure" and "no answer" must rank at or above "no".
    shown = shown_ids(answers)
    for qid in YNU:
        if qid not in shown:
            continue  # a hidden question's answer is dropped: all three are the same answer set
        rest = {k: v for k, v in answers.items() if k != qid}
        no = RULESET.rank(RULESET.evaluate({**rest, qid: "no"}).level)
        not_sure = RULESET.rank(RULESET.evaluate({**rest, qid: "not_sure"}).level)
        unanswered = RULESET.rank(RULESET.evaluate(rest).level)
        assert not_sure <= no, (qid, "not_sure")
        assert unanswered <= no, (qid, "unanswered")


@SETTINGS
@given(ANSWER_SETS, st.none() | st.sampled_from(PAGE_IDS))
def test_evaluation_never_raises_and_always_gives_a_known_level(answers: dict[str, Any], upto: str | None) -> None:
    result = RULESET.evaluate(answers, upto=upto)
    assert result.level in {lv.id for lv in RULESET.levels} | {"none"}
    assert (result.level == "none") == (not result.fired)
    assert result.level == min((f.level for f in result.fired), key=RULESET.rank, default="none")
    assert result.rule_ids == sorted(result.rule_ids, key=[r.id for r in RULESET.rules].index)


@SETTINGS
@given(st.fixed_dictionaries({}, optional={q.id: JUNK for q in QUESTIONS}))
def test_evaluation_never_raises_even_on_answers_a_form_would_refuse(answers: dict[str, Any]) -> None:
    RULESET.evaluate(answers)


@SETTINGS
@given(ANSWER_SETS)
def test_evaluating_only_the_visible_answers_gives_the_same_result(answers: dict[str, Any]) -> None:
    assert outcome(RULESET.evaluate(answers)) == outcome(RULESET.evaluate(flow.visible_answers(answers)))


@SETTINGS
@given(ANSWER_SETS, st.sampled_from(PAGE_IDS), st.data())
def test_a_stored_page_is_judged_and_routed_as_a_fresh_walk_of_what_was_stored(
    answers: dict[str, Any], page_id: str, data: st.DataObject
) -> None:
    """A saved page walks the questionnaire once (pages.with_page) and that walk serves the rules and
    the next page: the same as walking what was stored again."""
    page = QUESTIONNAIRE.page(page_id)
    sent = data.draw(st.fixed_dictionaries({}, optional={q.id: value_of(q) for q in page.questions}), label="page")
    saved = pages.with_page(answers, [], page_id, sent, done_page=True, route=flow.route(answers))
    fresh = flow.route(saved.answers)
    assert saved.route == fresh and dict(saved.route.visible) == saved.answers
    upto = PAGE_IDS[: PAGE_IDS.index(page_id) + 1]
    shown = shown_ids(saved.answers)
    assert saved.route.unanswered_safety(upto=page_id) == [
        q.id
        for p in QUESTIONNAIRE.pages
        if p.id in upto
        for q in p.questions
        if q.id in shown and QUESTIONNAIRE.is_safety(q) and q.id not in saved.answers
    ]
    assert outcome(RULESET.evaluate(saved.answers, upto=page_id, route=saved.route)) == outcome(
        RULESET.evaluate(saved.answers, upto=page_id)
    )
    continued = pages.after_continue(saved.answers, saved.done_pages, page_id, RULESET, route=saved.route)
    assert continued == pages.after_continue(saved.answers, saved.done_pages, page_id, RULESET)


@SETTINGS
@given(st.lists(ANSWER_SETS | st.fixed_dictionaries({}, optional={q.id: JUNK for q in QUESTIONS}), max_size=4))
def test_a_remembered_route_is_the_route_a_walk_of_the_pages_gives(answer_sets: list[dict[str, Any]]) -> None:
    """flow.route() remembers the shown pages per combination of the answers that decide them: each
    route, the first time and from memory, is what walking the pages gives."""
    for answers in answer_sets + answer_sets:
        route, steps = flow.route(answers), flow.walked_steps(answers)
        assert route.steps == steps
        assert dict(route.visible) == {
            q.id: answers[q.id]
            for _page, shown in steps
            for q in shown
            if q.id in answers and has_answer(answers[q.id])
        }
        assert {q.id for _page, shown in steps for q in shown} == shown_ids(answers)


@SETTINGS
@given(ANSWER_SETS, st.data())
def test_answers_added_for_hidden_questions_change_nothing(answers: dict[str, Any], data: st.DataObject) -> None:
    shown = shown_ids(answers)
    hidden = [q for q in QUESTIONS if q.id not in shown]
    extra = data.draw(st.fixed_dictionaries({q.id: value_of(q) for q in hidden}), label="hidden answers")
    before = RULESET.evaluate(answers)
    after = RULESET.evaluate({**answers, **extra})
    assert outcome(after) == outcome(before)
    assert flow.visible_answers({**answers, **extra}) == flow.visible_answers(answers)


def raw_fire(answers: dict[str, Any], unanswered: frozenset[str]) -> set[str]:
    """Every rule's own compiled condition, one after the other in dependency order: no index."""
    results: dict[str, bool] = {}
    for rule in RULESET.order:
        results[rule.id] = rule.predicate(answers, results, unanswered)
    return {rule_id for rule_id, hit in results.items() if hit}


UNANSWERED = st.frozensets(st.sampled_from([q.id for q in QUESTIONS]), max_size=3)


@SETTINGS
@given(ANSWER_SETS, UNANSWERED)
def test_the_indexed_rule_set_fires_exactly_the_rules_their_conditions_give(
    answers: dict[str, Any], unanswered: frozenset[str]
) -> None:
    # Raw answers (hidden ones included): the index must agree with the conditions on any input.
    expected = raw_fire(answers, unanswered)
    assert set(RULESET.fire(answers, unanswered)) == expected
    assert set(RULESET.fire_each(answers, unanswered)) == expected
    assert all(RULESET.fire(answers, unanswered).values())


@SETTINGS
@given(st.fixed_dictionaries({}, optional={q.id: JUNK for q in QUESTIONS}), UNANSWERED)
def test_the_indexed_rule_set_agrees_with_the_conditions_on_answers_of_the_wrong_kind(
    answers: dict[str, Any], unanswered: frozenset[str]
) -> None:
    assert set(RULESET.fire(answers, unanswered)) == raw_fire(answers, unanswered)


# Condition shapes the shipped rules do not use, so that the index is held to them too.
ODD_RULES = """
  - id: r_x_single_all
    when: {all: [{q: seizures, eq: yes}]}
  - id: r_x_any_with_unanswered
    when: {any: [{q: seizures, eq: yes}, {q: fainting_12m, unanswered: true}]}
  - id: r_x_all_without_value_test
    when: {all: [{not: {q: seizures, eq: no}}, {q: patient_age_years, ge: 65}]}
  - id: r_x_only_not
    when: {not: {q: seizures, eq: no}}
  - id: r_x_all_of
    when: {all: [{q: allergy_items, all_of: [latex, heparin]}, {q: seizures, in: [yes, not_sure]}]}
  - id: r_x_nested
    when:
      any:
        - all: [{q: high_bp, eq: yes}, {any: [{q: seizures, eq: yes}, {q: diabetes, eq: yes}]}]
        - {q: allergy_items, any_of: [latex]}
  - id: r_x_refers
    when: {all: [{q: respondent_role, in: [patient, someone_else]}, {rule: r_x_single_all}]}
  - id: r_x_refers_not
    when: {any: [{q: pregnant, eq: yes}, {all: [{q: breastfeeding, eq: yes}, {not: {rule: r_x_nested}}]}]}
  - id: r_x_text_and_unanswered
    when: {all: [{q: other_concerns, nonempty: true}, {safety_unanswered: true}]}
  - id: r_x_none_of
    when: {q: prior_ozone_types, none_of: [direct_iv_gas]}
  - id: r_x_answered
    when: {q: contact_name, answered: true}
  - id: r_x_mentions
    when: {all: [{q: medicines_list, mentions: [antithrombotic, ace_inhibitor]}, {q: seizures, in: [yes, not_sure]}]}
  - id: r_x_only_says
    when: {not: {q: other_concerns, only_says: nothing_to_add}}
"""
ODD_FIELDS = (
    "    level: mention_at_consultation\n    patient_message: [MSG_M]\n    staff_note: Test.\n"
    "    sources: [S1]\n    evidence: X\n    title: Test\n"
    "    front_desk: {say: Test., do_not_say: Test., goes_to: a clinician}\n"
)


@pytest.fixture(scope="module")
def odd_ruleset(tmp_path_factory: pytest.TempPathFactory) -> Ruleset:
    text = RULES_PATH.read_text(encoding="utf-8")
    text = text[: text.index("\nexamples:")]  # the shipped examples would see the extra flags
    rules = ODD_RULES.strip("\n").replace("\n  - id:", "\n" + ODD_FIELDS + "  - id:") + "\n" + ODD_FIELDS
    path = tmp_path_factory.mktemp("odd") / "odd.yaml"
    path.write_text(text.rstrip("\n") + "\n" + rules, encoding="utf-8")
    return load_ruleset(path)


def test_the_odd_rule_shapes_load_and_fire(odd_ruleset: Ruleset) -> None:
    ids = odd_ruleset.evaluate({"seizures": "yes", "respondent_role": "patient"}).rule_ids
    assert {"r_x_single_all", "r_x_any_with_unanswered", "r_x_only_not", "r_x_refers"} <= set(ids)


@SETTINGS
@given(ANSWER_SETS, UNANSWERED)
def test_the_index_agrees_with_the_conditions_for_every_condition_shape(
    odd_ruleset: Ruleset, answers: dict[str, Any], unanswered: frozenset[str]
) -> None:
    results: dict[str, bool] = {}
    for rule in odd_ruleset.order:
        results[rule.id] = rule.predicate(answers, results, unanswered)
    assert set(odd_ruleset.fire(answers, unanswered)) == {k for k, hit in results.items() if hit}


# Follow-ups by gate: the questions shown when a ynu gate is "yes" or "not sure" (R1).
FOLLOW_UPS: dict[str, list[str]] = {}
for _q in QUESTIONS:
    _when = _q.shown_when or {}
    if _when.get("q") in YNU and set(_when.get("in", ())) == {"yes", "not_sure"}:
        FOLLOW_UPS.setdefault(_when["q"], []).append(_q.id)
READS_AS_NOT_SURE = [q for q in QUESTIONS if q.unanswered_reads_as is not None]


def test_every_follow_up_after_yes_is_asked_after_not_sure_too() -> None:
    # clinical-content.md R1: no shown-when condition asks a follow-up after "yes" only.
    for q in QUESTIONS:
        for ref in (q.shown_when or {}).items():
            assert ref != ("eq", "yes"), q.id
    assert set(FOLLOW_UPS) >= {
        "recent_ozone_7d",
        "anaemia_recent",
        "blood_thinner",
        "stroke_ever",
        "heart_condition",
        "high_bp",
        "overactive_thyroid",
        "diabetes",
        "lung_condition",
        "prior_ozone",
    }


@PER_QUESTION
@given(ANSWER_SETS)
def test_not_sure_on_a_gate_never_gives_a_lower_level_than_yes_with_the_same_follow_ups(
    answers: dict[str, Any],
) -> None:
    shown = shown_ids(answers)
    for gate in FOLLOW_UPS:
        if gate not in shown:
            continue
        yes = RULESET.rank(RULESET.evaluate({**answers, gate: "yes"}).level)
        not_sure = RULESET.rank(RULESET.evaluate({**answers, gate: "not_sure"}).level)
        assert not_sure <= yes, gate


@PER_QUESTION
@given(ANSWER_SETS)
def test_no_answer_never_gives_a_lower_level_than_not_sure(answers: dict[str, Any]) -> None:
    shown = shown_ids(answers)
    for q in READS_AS_NOT_SURE:
        if q.id not in shown:
            continue
        rest = {k: v for k, v in answers.items() if k != q.id}
        reading = q.unanswered_reads_as
        not_sure = RULESET.rank(
            RULESET.evaluate({**rest, q.id: list(reading) if isinstance(reading, tuple) else reading}).level
        )
        unanswered = RULESET.rank(RULESET.evaluate(rest).level)
        assert unanswered <= not_sure, q.id


@SETTINGS
@given(ANSWER_SETS)
def test_a_stable_flag_never_fires_for_a_follow_up_nobody_answered(answers: dict[str, Any]) -> None:
    # R2: "stable" mention rules say what was answered; an unanswered follow-up is never "not worse".
    stable = {
        "r_heart_condition_stable": "heart_condition_worse",
        "r_lung_stable": "lung_flare_4w",
        "r_diabetes_stable": "diabetes_unstable",
        "r_stroke_history": "stroke_recent_or_bleed",
        "r_bp_controlled": "high_bp_controlled",
        "r_thyroid_controlled": "thyroid_controlled",
    }
    result = RULESET.evaluate(answers)
    for fired in result.fired:
        follow_up = stable.get(fired.id)
        if follow_up is not None:
            assert answers.get(follow_up) in ("no", "yes"), (fired.id, follow_up)
