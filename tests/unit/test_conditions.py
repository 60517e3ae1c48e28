"""The condition language shared by shown-when conditions and rules (questionnaire/core/conditions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from questionnaire.core.conditions import (
    ConditionError,
    Reference,
    compile_condition,
    has_answer,
    is_single_test,
    references,
    rule_references,
    trigger_facts,
)

NO_RULES: dict[str, bool] = {}
NONE: frozenset[str] = frozenset()


def holds(
    cond: Any,
    answers: dict[str, Any],
    rules: dict[str, bool] | None = None,
    unanswered: frozenset[str] = NONE,
    allow_rules: bool = False,
) -> bool:
    return compile_condition(cond, allow_rules=allow_rules)(answers, rules or NO_RULES, unanswered)


# (condition, answers, expected): every operator, both ways.
OPERATOR_CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"q": "x", "eq": "yes"}, {"x": "yes"}, True),
    ({"q": "x", "eq": "yes"}, {"x": "no"}, False),
    ({"q": "x", "eq": "yes"}, {"x": "not_sure"}, False),
    ({"q": "age", "eq": 18}, {"age": 18}, True),
    ({"q": "x", "in": ["yes", "not_sure"]}, {"x": "not_sure"}, True),
    ({"q": "x", "in": ["yes", "not_sure"]}, {"x": "no"}, False),
    ({"q": "x", "in": ["yes"]}, {"x": ["yes"]}, False),  # a list answer is not one of the values
    ({"q": "m", "any_of": ["a", "b"]}, {"m": ["c", "b"]}, True),
    ({"q": "m", "any_of": ["a", "b"]}, {"m": ["c"]}, False),
    ({"q": "m", "any_of": ["a"]}, {"m": "a"}, False),  # a single value is not a multi answer
    ({"q": "m", "all_of": ["a", "b"]}, {"m": ["b", "a", "c"]}, True),
    ({"q": "m", "all_of": ["a", "b"]}, {"m": ["a", "c"]}, False),
    ({"q": "m", "none_of": ["a", "b"]}, {"m": ["c"]}, True),
    ({"q": "m", "none_of": ["a", "b"]}, {"m": ["c", "a"]}, False),
    ({"q": "x", "answered": True}, {"x": "no"}, True),
    ({"q": "x", "answered": True}, {"x": 0}, True),  # 0 is an answer (age 0)
    ({"q": "x", "answered": True}, {"x": "  "}, False),
    ({"q": "x", "answered": True}, {"x": []}, False),
    ({"q": "x", "unanswered": True}, {}, True),
    ({"q": "x", "unanswered": True}, {"x": None}, True),
    ({"q": "x", "unanswered": True}, {"x": ""}, True),
    ({"q": "x", "unanswered": True}, {"x": []}, True),
    ({"q": "x", "unanswered": True}, {"x": "no"}, False),
    ({"q": "age", "lt": 18}, {"age": 17}, True),
    ({"q": "age", "lt": 18}, {"age": 18}, False),
    ({"q": "age", "le": 18}, {"age": 18}, True),
    ({"q": "age", "le": 18}, {"age": 19}, False),
    ({"q": "age", "gt": 65}, {"age": 66}, True),
    ({"q": "age", "gt": 65}, {"age": 65}, False),
    ({"q": "age", "ge": 65}, {"age": 65}, True),
    ({"q": "age", "ge": 65}, {"age": 64}, False),
    ({"q": "age", "lt": 18}, {"age": "17"}, False),  # text is not a number
    ({"q": "age", "lt": 18}, {"age": True}, False),  # nor is a boolean
    ({"q": "t", "nonempty": True}, {"t": "a knee operation"}, True),
    ({"q": "t", "nonempty": True}, {"t": " \n\t "}, False),
    ({"q": "t", "nonempty": True}, {"t": ["a"]}, False),
]


@pytest.mark.parametrize(
    ("cond", "answers", "expected"),
    OPERATOR_CASES,
    ids=[f"{next(k for k in c if k != 'q')}-{a}-{e}" for c, a, e in OPERATOR_CASES],
)
def test_each_operator_matches_exactly_the_answers_it_names(
    cond: dict[str, Any], answers: dict[str, Any], expected: bool
) -> None:
    assert holds(cond, answers) is expected


LOGIC_CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"all": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}]}, {"a": "yes", "b": "yes"}, True),
    ({"all": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}]}, {"a": "yes", "b": "no"}, False),
    ({"all": [{"q": "a", "eq": "yes"}]}, {"a": "yes"}, True),
    (
        {"all": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}, {"q": "c", "eq": "yes"}]},
        {"a": "yes", "b": "yes", "c": "yes"},
        True,
    ),
    (
        {"all": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}, {"q": "c", "eq": "yes"}]},
        {"a": "yes", "b": "yes", "c": "no"},
        False,
    ),
    ({"any": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}]}, {"a": "no", "b": "yes"}, True),
    ({"any": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}]}, {"a": "no", "b": "no"}, False),
    ({"any": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}, {"q": "c", "eq": "yes"}]}, {"c": "yes"}, True),
    ({"any": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "yes"}, {"q": "c", "eq": "yes"}]}, {}, False),
    ({"not": {"q": "a", "eq": "yes"}}, {"a": "no"}, True),
    ({"not": {"q": "a", "eq": "yes"}}, {"a": "yes"}, False),
    ({"not": {"not": {"q": "a", "eq": "yes"}}}, {"a": "yes"}, True),
]


@pytest.mark.parametrize(("cond", "answers", "expected"), LOGIC_CASES)
def test_all_any_and_not_combine_conditions(cond: dict[str, Any], answers: dict[str, Any], expected: bool) -> None:
    assert holds(cond, answers) is expected


VALUE_TESTS: list[dict[str, Any]] = [
    {"q": "x", "eq": "no"},
    {"q": "x", "in": ["no", "yes", "not_sure"]},
    {"q": "x", "any_of": ["a"]},
    {"q": "x", "all_of": ["a"]},
    {"q": "x", "none_of": ["a"]},
    {"q": "x", "lt": 1000},
    {"q": "x", "le": 1000},
    {"q": "x", "gt": -1000},
    {"q": "x", "ge": -1000},
    {"q": "x", "nonempty": True},
]


@pytest.mark.parametrize("cond", VALUE_TESTS, ids=[next(k for k in c if k != "q") for c in VALUE_TESTS])
@pytest.mark.parametrize("answers", [{}, {"x": None}, {"x": ""}, {"x": []}], ids=["absent", "none", "blank", "empty"])
def test_an_unanswered_question_never_matches_a_value_test(cond: dict[str, Any], answers: dict[str, Any]) -> None:
    assert holds(cond, answers) is False


def test_none_of_needs_an_answer_so_no_answer_never_reads_as_none_of_these() -> None:
    cond = {"q": "allergies", "none_of": ["latex", "heparin"]}
    assert holds(cond, {"allergies": ["none_of_these"]}) is True
    assert holds(cond, {}) is False
    assert holds(cond, {"allergies": []}) is False


def test_not_sure_never_matches_a_test_for_no() -> None:
    assert holds({"q": "x", "eq": "no"}, {"x": "not_sure"}) is False
    assert holds({"q": "x", "in": ["no"]}, {"x": "not_sure"}) is False


def test_a_rule_reference_reads_the_other_rules_result() -> None:
    cond = {"all": [{"q": "stroke_ever", "eq": "yes"}, {"not": {"rule": "r_recent"}}]}
    assert holds(cond, {"stroke_ever": "yes"}, {"r_recent": False}, allow_rules=True) is True
    assert holds(cond, {"stroke_ever": "yes"}, {"r_recent": True}, allow_rules=True) is False
    # A rule not evaluated (yet) counts as not fired.
    assert holds({"rule": "r_other"}, {}, {}, allow_rules=True) is False


def test_safety_unanswered_is_true_only_when_a_shown_safety_question_has_no_answer() -> None:
    cond = {"safety_unanswered": True}
    assert holds(cond, {}, unanswered=frozenset({"high_bp"}), allow_rules=True) is True
    assert holds(cond, {}, unanswered=frozenset(), allow_rules=True) is False


MALFORMED: list[tuple[Any, str, str]] = [
    # (condition, words the message must contain, path it must name)
    (["q", "x"], "must be a mapping", "when"),
    ({}, "must be a mapping", "when"),
    ("x = yes", "must be a mapping", "when"),
    ({"all": []}, "'all' needs a non-empty list of conditions", "when"),
    ({"any": {"q": "x", "eq": "yes"}}, "'any' needs a non-empty list of conditions", "when"),
    ({"not": "x"}, "must be a mapping", "when.not"),
    ({"q": "x"}, "needs exactly one of", "when"),
    ({"q": "x", "eq": "yes", "in": ["no"]}, "needs exactly one of", "when"),
    ({"q": "x", "equals": "yes"}, "got ['equals']", "when"),
    ({"q": 3, "eq": "yes"}, "'q' must be a question id", "when"),
    ({"q": "x", "eq": ["yes"]}, "'eq' needs one value", "when"),
    ({"q": "x", "eq": True}, "'eq' needs one value", "when"),
    ({"q": "x", "in": "yes"}, "'in' needs a non-empty list of values", "when"),
    ({"q": "x", "any_of": []}, "'any_of' needs a non-empty list of values", "when"),
    ({"q": "x", "all_of": [["a"]]}, "'all_of' values must be plain values", "when"),
    ({"q": "x", "none_of": [True]}, "'none_of' values must be plain values", "when"),
    ({"q": "x", "lt": "18"}, "'lt' needs a number", "when"),
    ({"q": "x", "ge": False}, "'ge' needs a number", "when"),
    ({"q": "x", "answered": False}, "write {q: x, answered: true}", "when"),
    ({"q": "x", "nonempty": "yes"}, "write {q: x, nonempty: true}", "when"),
    ({"frobnicate": 1}, "unknown condition keys ['frobnicate']", "when"),
    ({"all": [{"q": "a", "eq": "yes"}], "any": [{"q": "b", "eq": "yes"}]}, "unknown condition keys", "when"),
    ({"all": [{"q": "a", "eq": "yes"}, {"q": "b"}]}, "needs exactly one of", "when.all[1]"),
    ({"any": [{"q": "a", "eq": "yes"}, {"not": {"q": "b", "lt": "x"}}]}, "'lt' needs a number", "when.any[1].not"),
]


@pytest.mark.parametrize(("cond", "words", "path"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_a_malformed_condition_is_refused_naming_what_is_wrong_and_where(cond: Any, words: str, path: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(cond, allow_rules=True)
    assert words in str(caught.value)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("cond", "words"),
    [
        ({"rule": "r_x"}, "'rule' can only be used in rules"),
        ({"not": {"rule": "r_x"}}, "'rule' can only be used in rules"),
        ({"all": [{"q": "a", "eq": "yes"}, {"rule": "r_x"}]}, "'rule' can only be used in rules"),
        ({"safety_unanswered": True}, "'safety_unanswered' can only be used in rules"),
        (
            {"any": [{"q": "a", "eq": "yes"}, {"safety_unanswered": True}]},
            "'safety_unanswered' can only be used in rules",
        ),
    ],
)
def test_rule_only_forms_are_refused_in_shown_when_conditions(cond: Any, words: str) -> None:
    with pytest.raises(ConditionError, match=words):
        compile_condition(cond, path="shown_when")
    compile_condition(cond, allow_rules=True)  # the same condition is fine in a rule


@pytest.mark.parametrize(
    ("cond", "words"),
    [
        ({"rule": 5}, "write a rule reference as {rule: rule_id}"),
        ({"rule": "r_x", "q": "a"}, "write a rule reference as {rule: rule_id}"),
        ({"safety_unanswered": False}, "write {safety_unanswered: true}"),
        ({"safety_unanswered": True, "q": "a"}, "write {safety_unanswered: true}"),
    ],
)
def test_malformed_rule_only_forms_are_refused_in_rules(cond: Any, words: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(cond, allow_rules=True)
    assert words in str(caught.value)


def test_references_list_every_question_test_with_its_operator_and_values() -> None:
    cond = {
        "all": [
            {"q": "a", "in": ["yes", "not_sure"]},
            {"any": [{"q": "b", "unanswered": True}, {"not": {"q": "c", "lt": 18}}]},
            {"rule": "r_x"},
        ]
    }
    assert list(references(cond)) == [
        Reference("a", "in", ("yes", "not_sure")),
        Reference("b", "unanswered", (True,)),
        Reference("c", "lt", (18,)),
    ]
    assert list(rule_references(cond)) == ["r_x"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("   ", False), ([], False), ("no", True), (0, True), (["a"], True)],
)
def test_has_answer_counts_blank_text_and_empty_lists_as_no_answer(value: Any, expected: bool) -> None:
    assert has_answer(value) is expected


# --- trigger facts: what the rule index may skip on ------------------------------------------


@pytest.mark.parametrize(
    ("cond", "facts"),
    [
        ({"q": "a", "eq": "yes"}, {("value", "a", "yes")}),
        ({"q": "a", "in": ["yes", "not_sure"]}, {("value", "a", "yes"), ("value", "a", "not_sure")}),
        ({"q": "m", "any_of": ["x", "y"]}, {("member", "m", "x"), ("member", "m", "y")}),
        ({"q": "m", "all_of": ["x", "y"]}, {("member", "m", "x"), ("member", "m", "y")}),
        ({"q": "age", "lt": 18}, {("present", "age", None)}),
        ({"q": "t", "nonempty": True}, {("present", "t", None)}),
        ({"safety_unanswered": True}, {("unanswered", "", None)}),
        ({"all": [{"q": "a", "in": ["yes", "not_sure"]}, {"q": "b", "eq": "yes"}]}, {("value", "b", "yes")}),
        ({"any": [{"q": "a", "eq": "yes"}, {"q": "b", "eq": "no"}]}, {("value", "a", "yes"), ("value", "b", "no")}),
        ({"all": [{"q": "a", "eq": "yes"}, {"not": {"rule": "r_x"}}]}, {("value", "a", "yes")}),
    ],
)
def test_trigger_facts_name_what_must_hold_for_a_condition_to_hold(cond: Any, facts: set[Any]) -> None:
    assert trigger_facts(cond) == facts


@pytest.mark.parametrize(
    "cond",
    [
        {"not": {"q": "a", "eq": "yes"}},
        {"q": "m", "none_of": ["x"]},
        {"q": "a", "unanswered": True},
        {"rule": "r_x"},
        {"any": [{"q": "a", "eq": "yes"}, {"q": "b", "unanswered": True}]},
        {"all": [{"not": {"rule": "r_x"}}, {"q": "m", "none_of": ["x"]}]},
    ],
)
def test_conditions_that_can_hold_without_any_answer_name_no_trigger_facts(cond: Any) -> None:
    assert trigger_facts(cond) is None


def test_a_condition_with_trigger_facts_never_holds_when_none_of_them_does() -> None:
    cond = {"any": [{"all": [{"q": "a", "eq": "yes"}, {"q": "b", "unanswered": True}]}, {"q": "c", "eq": "not_sure"}]}
    assert trigger_facts(cond) == {("value", "a", "yes"), ("value", "c", "not_sure")}
    for answers in ({}, {"a": "no"}, {"a": "no", "c": "no"}, {"b": "yes", "c": "yes"}):
        assert not holds(cond, answers)
    assert holds(cond, {"a": "yes"}) and holds(cond, {"c": "not_sure"})


def test_single_tests_are_the_conditions_their_trigger_facts_decide() -> None:
    assert is_single_test({"q": "a", "in": ["yes"]})
    assert is_single_test({"q": "m", "any_of": ["x"]})
    assert is_single_test({"safety_unanswered": True})
    assert not is_single_test({"q": "m", "all_of": ["x", "y"]})  # needs every value, not one
    assert not is_single_test({"q": "age", "lt": 18})
    assert not is_single_test({"all": [{"q": "a", "eq": "yes"}]})
