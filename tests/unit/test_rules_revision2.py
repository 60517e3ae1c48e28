"""Clinical-content.md section R (revision 2): "Not sure" never asks less than "Yes", unanswered counts
as "Not sure", medicines typed in the list are checked, wording that never reassures (the engine and the loader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from questionnaire.core.rules import DEFAULT_PATH, RulesFileError, load_ruleset
from questionnaire.core.terms import TermList, fold
from questionnaire.core.wording import banned_wording

from ..helpers import ALL_NO

TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
RULESET = load_ruleset()


def evaluate(answers: dict[str, Any]) -> tuple[str, list[str]]:
    result = RULESET.evaluate(answers)
    return result.level, result.rule_ids


# --- R1 and R3: the cases the issue measured ----------------------------------------------------


def test_not_sure_about_ozone_this_week_is_asked_about_the_site_and_a_not_sure_site_is_urgent() -> None:
    level, rules = evaluate(
        ALL_NO
        | {
            "recent_ozone_7d": "not_sure",
            "post_ozone_red_flags": ["none_of_these"],
            "post_ozone_site_problem": "not_sure",
        }
    )
    assert level == "urgent" and "r_urgent_post_injection_infection" in rules


def test_not_sure_about_g6pd_with_the_blood_drip_holds_booking() -> None:
    level, rules = evaluate(ALL_NO | {"g6pd_deficiency": "not_sure", "treatment_types": ["blood_drip"]})
    assert level == "discuss_before_booking" and rules == ["r_g6pd_unknown_mah"]


def test_sintrom_in_the_medicines_list_is_found_although_the_question_says_no() -> None:
    level, rules = evaluate(ALL_NO | {"blood_thinner": "no", "medicines_list": "sintrom 4mg"})
    assert level == "discuss_before_booking" and rules == ["r_listed_thinner_injection"]
    fired = RULESET.evaluate(ALL_NO | {"blood_thinner": "no", "medicines_list": "sintrom 4mg"}).fired[0]
    assert fired.terms == ("Sintrom",)
    assert "names Sintrom, a blood thinner" in fired.staff_note and "{terms}" not in fired.staff_note


# --- R2: unanswered is judged "not sure" ---------------------------------------------------------


@pytest.mark.parametrize(
    "follow_up, stable, unstable",
    [
        ("heart_condition_worse", "r_heart_condition_stable", "r_heart_unstable"),
        ("lung_flare_4w", "r_lung_stable", "r_lung_unstable"),
        ("diabetes_unstable", "r_diabetes_stable", "r_diabetes_unstable"),
        ("stroke_recent_or_bleed", "r_stroke_history", "r_stroke_recent_or_bleed"),
    ],
)
def test_an_unanswered_follow_up_never_gives_a_stable_flag(follow_up: str, stable: str, unstable: str) -> None:
    gate = {
        "heart_condition_worse": "heart_condition",
        "lung_flare_4w": "lung_condition",
        "diabetes_unstable": "diabetes",
        "stroke_recent_or_bleed": "stroke_ever",
    }[follow_up]
    answers = {k: v for k, v in ALL_NO.items() if k != follow_up} | {gate: "yes"}
    level, rules = evaluate(answers)
    assert unstable in rules and stable not in rules and "r_required_unanswered" in rules
    triggers = next(f.triggers for f in RULESET.evaluate(answers).fired if f.id == unstable)
    assert triggers[follow_up] is None  # staff see that nobody answered it


def test_an_unanswered_gate_shows_nothing_less_than_not_sure_would() -> None:
    skipped = {k: v for k, v in ALL_NO.items() if k != "recent_ozone_7d"}
    assert evaluate(skipped)[0] == "urgent"  # not sure about ozone this week, not sure about symptoms


def test_the_rules_file_cannot_test_answered_or_unanswered_on_a_question_that_offers_not_sure(tmp_path: Path) -> None:
    broken = TEXT.replace("when: {q: seizures, eq: yes}", "when: {q: seizures, unanswered: true}", 1)
    path = tmp_path / "rules.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    line = broken[: broken.index("when: {q: seizures, unanswered: true}")].count("\n") + 1
    assert f"{path}:{line}: rule r_seizures: seizures: 'unanswered' cannot tell here" in str(caught.value)


# --- R4: term lists -------------------------------------------------------------------------------

ANTI = TermList("antithrombotic", "blood thinners", ("Sintrom", "acetylsalicylic acid", "fenprocumón", "heparin"))
ACE = TermList("ace_inhibitor", "ACE inhibitors", ("ramipril", "lisinopril"))


@pytest.mark.parametrize(
    "text, found",
    [
        ("SINTROM 4 mg", ("Sintrom",)),
        ("Acetylsalicylic  acid 100", ("acetylsalicylic acid",)),
        ("Fenprocumon y Heparina", ("fenprocumón",)),  # accents folded; "heparina" is not "heparin"
        ("heparin-sodium", ("heparin",)),  # a hyphen separates words
        ("nothing like that", ()),
    ],
)
def test_a_term_list_finds_whole_words_with_case_and_accents_folded(text: str, found: tuple[str, ...]) -> None:
    assert ANTI.found(text) == found


def test_a_term_never_matches_part_of_a_word() -> None:
    assert ACE.found("Since April, vitamin D") == ()
    assert ACE.found("ramiprilo") == ()
    assert ACE.found("Ramipril.") == ("ramipril",)
    assert fold("Fenprocumón") == "fenprocumon"


def test_nothing_to_add_answers_are_not_concerns() -> None:
    for text in ["no", "N/A", " nada más. ", "-", "Nope!"]:
        assert "r_other_info" not in evaluate(ALL_NO | {"other_concerns": text})[1], text
    for text in ["No, but my knee swells at night", "I faint at the dentist"]:
        assert "r_other_info" in evaluate(ALL_NO | {"other_concerns": text})[1], text


def broken_file(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    assert old in TEXT, old
    text = TEXT.replace(old, new, 1)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[: text.index(new) + len(new) - len(new.lstrip())].count("\n") + 1


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "{q: medicines_list, mentions: ace_inhibitor}",
            "{q: medicines_list, mentions: ace_inhibitors}",
            "unknown term list 'ace_inhibitors'",
        ),
        (
            "{q: medicines_list, mentions: ace_inhibitor}",
            "{q: pril_medicine, mentions: ace_inhibitor}",
            "pril_medicine: 'mentions' is for text questions",
        ),
        (
            "{not: {q: other_concerns, only_says: nothing_to_add}}",
            "{not: {q: other_concerns, only_says: ace_inhibitor}}",
            "'only_says' needs a term list with match: whole_answer",
        ),
        ("terms: [captopril,", "terms: [-pril, captopril,", "term '-pril' is not a word or words"),
        ("    sources: [S59]\n", "    sources: []\n", "term list ace_inhibitor: sources must be a list of source ids"),
        ("    sources: [S59]\n", "    sources: [S999]\n", "term list ace_inhibitor: unknown source 'S999'"),
        (
            "      Trouble breathing at form time.",
            "      Trouble breathing at form time ({terms}).",
            "staff_note uses {terms}, but the rule's condition has no `mentions` test",
        ),
    ],
)
def test_a_faulty_term_list_or_test_stops_the_loader_with_file_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path, line = broken_file(tmp_path, old, new)
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    errors = [(e.line, e.message) for e in caught.value.errors]
    assert all(e.file == str(path) for e in caught.value.errors)
    # On the line of the fault, or of the `when:` or `staff_note:` that holds it.
    assert any(message in m and line - 4 <= at <= line for at, m in errors), (line, errors)


def test_an_empty_term_list_is_refused(tmp_path: Path) -> None:
    start = TEXT.index("    terms: [captopril,")
    end = TEXT.index("]", start) + 1
    text = TEXT[:start] + "    terms: []" + TEXT[end:]
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    assert "term list ace_inhibitor: terms must be a non-empty list" in str(caught.value)


# --- R5: wording ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, lang",
    [
        ("There are no contra-indications.", "en"),
        ("No contra indications.", "en"),
        ("Fit to proceed.", "en"),
        ("You are a suitable patient.", "en"),
        ("Side effects are rare.", "en"),
        ("It is well-tolerated.", "en"),
        ("Minimal risk.", "en"),
        ("You can stop your medicines.", "en"),
        ("No hay riesgo.", "es"),
        ("Puede dejar sus medicamentos.", "es"),
        ("Los efectos secundarios son raros.", "es"),
        ("Usted es apta.", "es"),
    ],
)
def test_the_revision_2_phrases_are_banned(text: str, lang: str) -> None:
    assert banned_wording(text, lang=lang)


def test_the_loader_refuses_a_message_with_a_banned_phrase_hyphen_or_not(tmp_path: Path) -> None:
    path, line = broken_file(
        tmp_path,
        "  MSG_BLOOD_TEST_FIRST: You may be asked to have a simple blood test first.",
        "  MSG_BLOOD_TEST_FIRST: There are no contra-indications.",
    )
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    assert f"{path}:{line}:" in str(caught.value) and "no contra-indications" in str(caught.value)
