"""A rule's message may depend on the answers: a patient_message entry {id: MSG_X, when: CONDITION}.

The condition is validated like a rule's, compiled (no eval), and the message goes into the fired
rule's message_ids (what the outcome page shows) only when it holds. r_pregnancy uses it: "We will
talk about this with you in private." is for the answer "I'd rather talk about this in private" only
(clinical-content.md B2).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from questionnaire.core.rules import DEFAULT_PATH, RuleError, RulesFileError, load_ruleset

from ..helpers import ALL_NO

TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
RULESET = load_ruleset(DEFAULT_PATH)
PRIVATE = "MSG_CONTACT_PRIVATELY"
PREGNANCY_MESSAGES = (
    "    patient_message:\n      - MSG_D\n"
    "      - {id: MSG_CONTACT_PRIVATELY, when: {q: pregnant, eq: prefer_private}}\n"
)


def pregnancy(answer: str) -> tuple[str, ...]:
    result = RULESET.evaluate(ALL_NO | {"pregnant": answer})
    [fired] = [f for f in result.fired if f.id == "r_pregnancy"]
    assert result.message_ids == list(fired.message_ids)
    return fired.message_ids


# --- r_pregnancy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_a_pregnancy_flag_without_the_private_answer_has_no_private_message(answer: str) -> None:
    assert pregnancy(answer) == ("MSG_D",)


def test_the_private_answer_gets_the_private_message() -> None:
    assert pregnancy("prefer_private") == ("MSG_D", PRIVATE)


@pytest.mark.parametrize("answer", ["no", "not_applicable"])
def test_no_pregnancy_flag_no_message(answer: str) -> None:
    result = RULESET.evaluate(ALL_NO | {"pregnant": answer})
    assert result.fired == () and result.message_ids == []


def test_the_rule_keeps_every_message_and_its_condition() -> None:
    rule = RULESET.rule("r_pregnancy")
    assert rule.patient_message == ("MSG_D", PRIVATE)
    assert rule.message_conditions == (None, {"q": "pregnant", "eq": "prefer_private"})
    assert rule.questions == ("pregnant",)
    # A rule without a conditional message takes no detour.
    assert RULESET.rule("r_g6pd_known").message_checks == () == RULESET.rule("r_g6pd_known").message_conditions


def test_the_rule_files_own_examples_cover_both_answers() -> None:
    examples = {e["name"]: e for e in RULESET.examples}
    assert PRIVATE in examples["rather talk about pregnancy in private"]["shows"]
    assert PRIVATE in examples["pregnant"]["does_not_show"]
    assert PRIVATE in examples["not sure about pregnancy"]["does_not_show"]


# --- the loader ----------------------------------------------------------------------------------


def with_messages(tmp_path: Path, entries: str, examples: bool = True) -> tuple[Path, str]:
    """A copy of the rules file with r_pregnancy's patient_message replaced by `entries`."""
    assert PREGNANCY_MESSAGES in TEXT
    text = TEXT.replace(PREGNANCY_MESSAGES, entries, 1)
    if not examples:
        text = text[: text.index("\nexamples:") + 1]
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def refusal(path: Path) -> list[RuleError]:
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    return caught.value.errors


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("{q: pregnent, eq: prefer_private}", "unknown question 'pregnent'"),
        (
            "{q: pregnant, eq: private}",
            "pregnant cannot take the value 'private' (it takes yes, no, not_sure, not_applicable, prefer_private)",
        ),
        (
            "{q: pregnant, any_of: [yes]}",
            "pregnant: 'any_of' is for questions that take several answers; this one is single",
        ),
        ("{q: pregnant, eq: [yes]}", "message MSG_CONTACT_PRIVATELY condition when: 'eq' needs one value"),
        (
            "\"pregnant == 'prefer_private'\"",
            "message MSG_CONTACT_PRIVATELY condition when: a condition must be a mapping such as {q: id, eq: yes}",
        ),
    ],
)
def test_a_faulty_message_condition_is_refused_on_its_line(tmp_path: Path, condition: str, message: str) -> None:
    entries = f"    patient_message:\n      - MSG_D\n      - id: MSG_CONTACT_PRIVATELY\n        when: {condition}\n"
    path, text = with_messages(tmp_path, entries, examples=False)
    [error] = refusal(path)
    assert (error.line, error.rule, error.message) == (
        line_of(text, f"        when: {condition}"),
        "r_pregnancy",
        message,
    )


def test_an_unknown_message_in_an_entry_is_refused(tmp_path: Path) -> None:
    entries = "    patient_message:\n      - MSG_D\n      - {id: MSG_PRIVATELY, when: {q: pregnant, eq: yes}}\n"
    path, text = with_messages(tmp_path, entries, examples=False)
    [error] = refusal(path)
    assert (error.line, error.rule, error.message) == (
        line_of(text, "      - {id: MSG_PRIVATELY"),
        "r_pregnancy",
        "unknown message 'MSG_PRIVATELY'",
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{id: MSG_CONTACT_PRIVATELY}", "missing key 'when' in a patient_message entry"),
        ("{when: {q: pregnant, eq: yes}}", "missing key 'id' in a patient_message entry"),
        (
            "{id: MSG_CONTACT_PRIVATELY, when: {q: pregnant, eq: yes}, unless: {q: pregnant, eq: no}}",
            "unknown key 'unless' in a patient_message entry (allowed: id, when)",
        ),
    ],
)
def test_a_malformed_entry_is_refused(tmp_path: Path, entry: str, message: str) -> None:
    path, _ = with_messages(tmp_path, f"    patient_message:\n      - MSG_D\n      - {entry}\n", examples=False)
    assert [e.message for e in refusal(path)] == [message]


def test_a_message_condition_may_name_a_rule_but_not_an_unknown_one(tmp_path: Path) -> None:
    entries = (
        "    patient_message:\n      - MSG_D\n      - {id: MSG_CONTACT_PRIVATELY, when: {rule: r_breastfeeding}}\n"
    )
    path, _ = with_messages(tmp_path, entries, examples=False)
    rs = load_ruleset(path)  # a rule later in the file: every rule is evaluated before the messages
    assert [
        f.message_ids for f in rs.evaluate({"pregnant": "yes", "breastfeeding": "yes"}).fired if f.id == "r_pregnancy"
    ] == [("MSG_D", PRIVATE)]
    assert [
        f.message_ids for f in rs.evaluate({"pregnant": "yes", "breastfeeding": "no"}).fired if f.id == "r_pregnancy"
    ] == [("MSG_D",)]
    path, _ = with_messages(tmp_path, entries.replace("r_breastfeeding", "r_nursing"), examples=False)
    [error] = refusal(path)
    assert (error.rule, error.message) == (
        "r_pregnancy",
        "message MSG_CONTACT_PRIVATELY condition refers to unknown rule 'r_nursing'",
    )


def test_a_message_condition_sees_not_sure_about_the_treatment_as_every_route(tmp_path: Path) -> None:
    entries = (
        "    patient_message:\n      - MSG_D\n"
        "      - {id: MSG_CONTACT_PRIVATELY, when: {q: treatment_types, any_of: [spine_neck]}}\n"
    )
    path, _ = with_messages(tmp_path, entries, examples=False)
    rs = load_ruleset(path)
    for routes, private in ((["joint"], False), (["spine_neck"], True), (["not_sure"], True)):
        [fired] = [
            f for f in rs.evaluate({"pregnant": "yes", "treatment_types": routes}).fired if f.id == "r_pregnancy"
        ]
        assert (PRIVATE in fired.message_ids) is private, routes
        assert fired.triggers["treatment_types"] == routes  # the patient's own answer


# --- examples can pin the messages ---------------------------------------------------------------


def test_an_example_that_shows_a_message_it_must_not_is_refused(tmp_path: Path) -> None:
    text = TEXT.replace(
        "  - name: rather talk about pregnancy in private\n    answers: {pregnant: prefer_private}\n"
        "    fires: [r_pregnancy]\n    shows: [MSG_D, MSG_CONTACT_PRIVATELY]\n",
        "  - name: rather talk about pregnancy in private\n    answers: {pregnant: prefer_private}\n"
        "    fires: [r_pregnancy]\n    does_not_show: [MSG_CONTACT_PRIVATELY]\n",
        1,
    )
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    [error] = refusal(path)
    start = text.index("  - name: rather talk about pregnancy in private")
    assert error.line == text[: text.index("    does_not_show:", start)].count("\n") + 1
    assert (
        error.message == "example 'rather talk about pregnancy in private' shows message MSG_CONTACT_PRIVATELY "
        "but must not"
    )


def test_an_example_that_does_not_show_a_message_it_must_is_refused(tmp_path: Path) -> None:
    path, text = with_messages(tmp_path, "    patient_message: [MSG_D, MSG_CONTACT_PRIVATELY]\n")
    messages = sorted(e.message for e in refusal(path))
    assert messages == [
        "example 'not sure about pregnancy' shows message MSG_CONTACT_PRIVATELY but must not",
        "example 'pregnant' shows message MSG_CONTACT_PRIVATELY but must not",
    ]
    text = TEXT.replace("    shows: [MSG_D, MSG_CONTACT_PRIVATELY]\n", "    shows: [MSG_D, MSG_BRING_INHALER]\n", 1)
    path.write_text(text, encoding="utf-8")
    [error] = refusal(path)
    assert error.message == (
        "example 'rather talk about pregnancy in private' should show message MSG_BRING_INHALER but does not"
    )


def test_an_example_naming_an_unknown_message_is_refused(tmp_path: Path) -> None:
    text = TEXT.replace("    shows: [MSG_D, MSG_CONTACT_PRIVATELY]\n", "    shows: [MSG_D, MSG_NOPE]\n", 1)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    messages = [e.message for e in refusal(path)]
    assert "example 'rather talk about pregnancy in private': shows names unknown message 'MSG_NOPE'" in messages


def test_the_docs_describe_conditional_messages() -> None:
    doc = (Path(DEFAULT_PATH).parent.parent / "docs" / "rules-file.md").read_text(encoding="utf-8")
    assert re.search(r"\{id: MSG_\w+, when: ", doc) and "does_not_show" in doc
