"""The rules command line: `flask rules check`, `rules test` and `rules evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..helpers import ALL_NO

RULES_PATH = Path(__file__).resolve().parents[2] / "rules" / "contraindications.yaml"
TEXT = RULES_PATH.read_text(encoding="utf-8")


def broken_copy(tmp_path: Path) -> tuple[Path, int]:
    text = TEXT.replace("{q: g6pd_deficiency, eq: yes}", "{q: g6pd_deficency, eq: yes}", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[: text.index("{q: g6pd_deficency")].count("\n") + 1


def answers_file(tmp_path: Path, content: Any) -> str:
    path = tmp_path / "answers.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


# --- rules check -------------------------------------------------------------------------------


def test_check_accepts_the_rules_file_with_a_one_line_summary(runner: Any) -> None:
    result = runner.invoke(args=["rules", "check"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    summary = lines[0]
    assert summary.startswith(str(RULES_PATH))
    assert "OK" in summary and "65 rules" in summary and "3 levels" in summary
    assert "NOT clinically signed off" in summary
    assert result.stderr == ""


def test_check_accepts_a_path_argument(runner: Any, tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text(TEXT, encoding="utf-8")
    result = runner.invoke(args=["rules", "check", str(copy)])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{copy}: OK")


def test_check_refuses_a_broken_file_with_file_line_rule_and_message(runner: Any, tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path)
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    errors = result.stderr.splitlines()
    assert errors == [
        f"{path}:{line}: rule r_g6pd_known: unknown question 'g6pd_deficency'",
        "1 error(s): the rules file was refused.",
    ]


def test_check_refuses_a_file_that_does_not_exist(runner: Any, tmp_path: Path) -> None:
    result = runner.invoke(args=["rules", "check", str(tmp_path / "nowhere.yaml")])
    assert result.exit_code == 1
    assert "cannot read the file" in result.stderr


# --- rules test --------------------------------------------------------------------------------


def test_test_runs_every_example_and_reports_them_passed(runner: Any) -> None:
    result = runner.invoke(args=["rules", "test"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    examples = [line for line in lines if line.startswith("ok  ")]
    assert len(examples) >= 100
    assert "ok  chest pain right now  ->  urgent: r_urgent_chest_pain_now" in lines
    assert lines[-1] == f"{len(examples)} passed, 0 failed"


def test_test_fails_on_an_example_that_does_not_hold(runner: Any, tmp_path: Path) -> None:
    text = TEXT.replace(
        "  - name: no trouble breathing right now\n    answers: {breathing_trouble_now: no}",
        "  - name: no trouble breathing right now\n    answers: {breathing_trouble_now: yes}",
        1,
    )
    assert text != TEXT
    path = tmp_path / "bad-example.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["rules", "test", str(path)])
    assert result.exit_code == 1
    assert (
        "rule r_urgent_breathing_now: example 'no trouble breathing right now' fires this rule but must not"
        in result.stderr
    )


# --- rules evaluate ----------------------------------------------------------------------------


def evaluate(runner: Any, *args: str, input: str | None = None) -> Any:
    return runner.invoke(args=["rules", "evaluate", *args], input=input)


def test_evaluate_prints_level_rules_and_rule_set_as_json(runner: Any, app: Any, tmp_path: Path) -> None:
    result = evaluate(runner, answers_file(tmp_path, ALL_NO | {"blood_thinner": "yes"}))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    ruleset = app.extensions["ruleset"]
    assert out == {
        "level": "discuss_before_booking",
        "rules": ["r_blood_thinner_injection"],
        "ruleset": {"version": ruleset.version, "sha256": ruleset.sha256},
    }


def test_evaluate_gives_level_none_when_nothing_fires(runner: Any, tmp_path: Path) -> None:
    result = evaluate(runner, answers_file(tmp_path, ALL_NO))
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["level"] == "none" and out["rules"] == []


def test_evaluate_exits_0_for_an_urgent_result_too(runner: Any, tmp_path: Path) -> None:
    result = evaluate(runner, answers_file(tmp_path, {"chest_pain_now": "yes"}))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["level"] == "urgent"


def test_evaluate_reads_answers_from_stdin_with_a_dash(runner: Any) -> None:
    result = evaluate(runner, "-", input=json.dumps({"stroke_signs_now": "yes"}))
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["level"] == "urgent"
    # Everything else unanswered: judged "not sure" (R2), and flagged as unanswered.
    assert out["rules"][0] == "r_urgent_stroke_signs_now" and "r_required_unanswered" in out["rules"]


def test_evaluate_drops_answers_to_hidden_questions(runner: Any) -> None:
    answers = ALL_NO | {"stroke_ever": "no", "stroke_recent_or_bleed": "yes"}
    result = evaluate(runner, "-", input=json.dumps(answers))
    assert json.loads(result.stdout)["level"] == "none"


def test_evaluate_can_use_another_rules_file(runner: Any, tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text(TEXT.replace('version: "', 'version: "9', 1), encoding="utf-8")
    result = evaluate(runner, "--rules", str(copy), "-", input="{}")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ruleset"]["version"].startswith("9")


def test_evaluate_refuses_a_broken_rules_file(runner: Any, tmp_path: Path) -> None:
    path, line = broken_copy(tmp_path)
    result = evaluate(runner, "--rules", str(path), "-", input="{}")
    assert result.exit_code == 1
    assert f"{path}:{line}: rule r_g6pd_known:" in result.stderr


@pytest.mark.parametrize("text", ["{not json", "", "{'chest_pain_now': 'yes'}"])
def test_evaluate_exits_2_on_bad_json(runner: Any, text: str) -> None:
    result = evaluate(runner, "-", input=text)
    assert result.exit_code == 2
    assert "error: the answers are not valid JSON" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("text", ["[]", '"yes"', "3"])
def test_evaluate_exits_2_when_the_json_is_not_an_object(runner: Any, text: str) -> None:
    result = evaluate(runner, "-", input=text)
    assert result.exit_code == 2
    assert "answers must be an object of question ids and answers" in result.stderr


def test_evaluate_exits_2_naming_unknown_question_ids(runner: Any) -> None:
    result = evaluate(runner, "-", input=json.dumps({"chest_pain": "yes", "g6pd": "no", "seizures": "no"}))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: unknown question id 'chest_pain'",
        "error: unknown question id 'g6pd'",
    ]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"chest_pain_now": "not_sure"}, "chest_pain_now: 'not_sure' is not one of yes, no"),
        ({"unwell_now": True}, "unwell_now: True is not one of yes, no, not_sure"),
        ({"patient_age_years": 130}, "patient_age_years: must be between 0 and 120"),
        ({"patient_age_years": "45"}, "patient_age_years: needs a whole number"),
        ({"allergy_items": "latex"}, "allergy_items: needs a list of values"),
        ({"allergy_items": ["latex", "pollen"]}, "allergy_items: 'pollen' not one of"),
        ({"allergy_items": ["none_of_these", "latex"]}, "allergy_items: 'none_of_these' cannot be combined"),
    ],
)
def test_evaluate_exits_2_naming_impossible_values(runner: Any, answers: dict[str, Any], words: str) -> None:
    result = evaluate(runner, "-", input=json.dumps(answers))
    assert result.exit_code == 2
    assert words in result.stderr
    assert result.stdout == ""


def test_evaluate_exits_2_on_a_missing_answers_file(runner: Any, tmp_path: Path) -> None:
    result = evaluate(runner, str(tmp_path / "missing.json"))
    assert result.exit_code == 2
    assert "missing.json" in result.stderr
