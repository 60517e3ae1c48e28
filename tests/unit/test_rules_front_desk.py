"""The rules file's words for the front desk: a title and front_desk words (say, do_not_say, goes_to)
on every rule, front_desk on every level and on no_flags; refused with file and line when missing,
when they hold clearance wording, or when they name a rule by its id."""

from __future__ import annotations

from pathlib import Path

import pytest

from questionnaire.core.rules import RulesFileError, load_ruleset
from questionnaire.core.wording import banned_wording

RULES_PATH = Path(__file__).resolve().parents[2] / "rules" / "contraindications.yaml"
TEXT = RULES_PATH.read_text(encoding="utf-8")
RULESET = load_ruleset(RULES_PATH)
CHEST = '    title: "Chest pain or tightness right now"\n'
CHEST_SAY = (
    '      say: "You told us you have chest pain right now. Please call your local emergency number now, '
    'and do not drive yourself."\n'
)


def broken(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the real file with `old` replaced by `new`; the line where `old` began."""
    assert TEXT.count(old) == 1, old
    line = TEXT[: TEXT.index(old)].count("\n") + 1
    path = tmp_path / "contraindications.yaml"
    path.write_text(TEXT.replace(old, new), encoding="utf-8")
    return path, line


def rule_line() -> int:
    """The line of the first rule (a missing key is reported on the rule's first line)."""
    return TEXT[: TEXT.index("  - id: r_urgent_chest_pain_now")].count("\n") + 1


def errors(path: Path) -> list[str]:
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path)
    return [str(e) for e in caught.value.errors]


def test_every_rule_level_and_no_flags_has_its_front_desk_words() -> None:
    for rule in RULESET.rules:
        assert rule.title and rule.front_desk.say and rule.front_desk.do_not_say and rule.front_desk.goes_to, rule.id
    for level in (*RULESET.levels, RULESET.no_flags):
        assert level.front_desk, level.id
    texts = [
        t for r in RULESET.rules for t in (r.title, r.front_desk.say, r.front_desk.do_not_say, r.front_desk.goes_to)
    ]
    texts += [lv.front_desk for lv in (*RULESET.levels, RULESET.no_flags)]
    assert not [t for t in texts if banned_wording(t)]
    assert not [t for t in texts if "r_" in t]
    assert len({r.title for r in RULESET.rules}) == len(RULESET.rules)  # each flag is told apart by its title


def test_a_rule_without_a_title_is_refused_on_its_line(tmp_path: Path) -> None:
    path, _ = broken(tmp_path, CHEST, "")
    [error] = errors(path)
    assert error == f"{path}:{rule_line()}: rule r_urgent_chest_pain_now: missing key 'title' in a rule"


def test_a_rule_without_front_desk_words_is_refused_on_its_line(tmp_path: Path) -> None:
    block = TEXT[TEXT.index(CHEST) + len(CHEST) :]
    block = block[: block.index("\n\n") + 1]
    path, _ = broken(tmp_path, CHEST + block, CHEST)
    [error] = errors(path)
    assert error == f"{path}:{rule_line()}: rule r_urgent_chest_pain_now: missing key 'front_desk' in a rule"


def test_front_desk_words_without_what_to_say_are_refused_on_their_line(tmp_path: Path) -> None:
    path, line = broken(tmp_path, CHEST_SAY, "")
    [error] = errors(path)
    assert error == f"{path}:{line}: rule r_urgent_chest_pain_now: missing key 'say' in front_desk"


def test_clearance_wording_for_the_front_desk_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path, line = broken(tmp_path, CHEST_SAY, '      say: "Tell them it is safe to wait, they are all clear."\n')
    [error] = errors(path)
    assert error.startswith(f"{path}:{line}: rule r_urgent_chest_pain_now: front_desk say uses clearance wording")
    assert "'safe'" in error and "'all clear'" in error


def test_a_rule_id_in_a_front_desk_text_is_refused(tmp_path: Path) -> None:
    path, line = broken(tmp_path, CHEST, '    title: "r_urgent_chest_pain_now"\n')
    [error] = errors(path)
    assert error.startswith(f"{path}:{line}: rule r_urgent_chest_pain_now: title names a rule by its id")


def test_a_level_without_front_desk_words_is_refused(tmp_path: Path) -> None:
    start = TEXT.index("  - id: mention_at_consultation")
    old = TEXT[TEXT.index("    front_desk: |", start) : TEXT.index("    message: MSG_M", start)]
    path, _ = broken(tmp_path, old, "")
    [error] = errors(path)
    assert ": rule -: missing key 'front_desk' in a level" in error


def test_a_level_front_desk_text_with_clearance_wording_is_refused_on_its_line(tmp_path: Path) -> None:
    old = "      The patient can book as usual.\n      Make sure"
    path, line = broken(tmp_path, old, "      The patient is cleared and can book.\n      Make sure")
    [error] = errors(path)
    assert error.startswith(f"{path}:{line - 1}: rule -: level mention_at_consultation front_desk uses clearance")


def test_no_flags_without_front_desk_words_is_refused(tmp_path: Path) -> None:
    start = TEXT.index("no_flags:")
    old = TEXT[TEXT.index("  front_desk: |", start) : TEXT.index("\nmessages:", start)]
    path, _ = broken(tmp_path, old, "")
    [error] = errors(path)
    assert ": rule -: missing key 'front_desk' in no_flags" in error


# --- each level's label: its name on the staff pages ----------------------------------------------

URGENT_LABEL = "    label: Urgent             # the level's name on the staff pages (not shown to patients)\n"


def test_every_level_and_no_flags_has_a_label_and_the_rule_set_looks_it_up() -> None:
    assert [(lv.id, lv.label) for lv in RULESET.every_level] == [
        ("urgent", "Urgent"),
        ("discuss_before_booking", "Discuss before booking"),
        ("mention_at_consultation", "Mention at consultation"),
        ("none", "No flags"),
    ]
    assert RULESET.level_label("discuss_before_booking") == "Discuss before booking"
    assert RULESET.level_label("none") == RULESET.no_flags.label == "No flags"
    # A level an older submission had, no longer in the rule set: its id in words.
    assert RULESET.level_label("see_the_doctor_first") == "See the doctor first"


def test_a_level_without_a_label_is_refused_on_the_levels_line(tmp_path: Path) -> None:
    path, line = broken(tmp_path, URGENT_LABEL, "")
    [error] = errors(path)
    assert error == f"{path}:{line - 1}: rule -: missing key 'label' in a level"


@pytest.mark.parametrize("empty", ['""', "'   '", "null"])
def test_an_empty_level_label_is_refused_on_its_line(tmp_path: Path, empty: str) -> None:
    path, line = broken(tmp_path, URGENT_LABEL, f"    label: {empty}\n")
    [error] = errors(path)
    assert error == f"{path}:{line}: rule -: level urgent label must be non-empty text"


def test_no_flags_without_a_label_is_refused(tmp_path: Path) -> None:
    path, line = broken(tmp_path, "no_flags:\n  label: No flags\n", "no_flags:\n")
    [error] = errors(path)
    assert error == f"{path}:{line + 1}: rule -: missing key 'label' in no_flags"


def test_a_label_that_is_not_one_short_line_is_refused_on_its_line(tmp_path: Path) -> None:
    long = "Urgent, call the patient back before doing anything else today"
    path, line = broken(tmp_path, URGENT_LABEL, f"    label: {long}\n")
    [error] = errors(path)
    assert error.startswith(f"{path}:{line}: rule -: level urgent label must be one short line (at most 40")
    path, line = broken(tmp_path, URGENT_LABEL, "    label: |\n      Urgent\n      case\n")
    [error] = errors(path)
    assert error.startswith(f"{path}:{line}: rule -: level urgent label must be one short line")


def test_two_levels_with_one_label_are_refused_on_the_second(tmp_path: Path) -> None:
    path, line = broken(tmp_path, "  label: No flags\n", "  label: urgent\n")
    [error] = errors(path)
    assert error == f"{path}:{line}: rule -: no_flags label 'urgent' is already the label of level urgent"


def test_a_level_label_with_clearance_wording_is_refused_on_its_line(tmp_path: Path) -> None:
    path, line = broken(tmp_path, "  label: No flags\n", "  label: All clear\n")
    [error] = errors(path)
    assert error.startswith(f"{path}:{line}: rule -: no_flags label uses clearance wording")
