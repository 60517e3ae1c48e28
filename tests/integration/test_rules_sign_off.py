"""A clinical sign-off is bound to the content it approved (rules.content_sha256, replay.sign_off).

An approved rules file whose rules changed after the sign-off is refused (at start-up, by
`flask rules check`), on the sign_off line, until a clinician signs off again or the status goes
back to draft. Comments and layout are not content: editing them keeps the sign-off.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from questionnaire.core import replay
from questionnaire.core.rules import DEFAULT_PATH, RuleError, RulesFileError, content_sha256, load_ruleset

from ..conftest import test_settings

TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
VERSION = load_ruleset(DEFAULT_PATH).version
BY, DATE = "Dr Jane Smith", "2026-11-29"


def signed(tmp_path: Path, text: str = TEXT) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    replay.sign_off(path, BY, DATE)
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def set_level(path: Path, rule_id: str, level: str) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(rf"(  - id: {rule_id}\n    level: )\w+", rf"\g<1>{level}", text)
    assert n == 1
    path.write_text(new, encoding="utf-8")


def sign_off_line(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith("  sign_off:"))


def refusal(path: Path, **kwargs: Any) -> list[RuleError]:
    with pytest.raises(RulesFileError) as caught:
        load_ruleset(path, **kwargs)
    return caught.value.errors


def changed_after_sign_off(path: Path) -> RuleError:
    [error] = [e for e in refusal(path) if "sign-off" in e.message]
    return error


# --- signing off -----------------------------------------------------------------------------


def test_a_signed_off_file_loads_and_reports_signed_off_for_its_content(tmp_path: Path) -> None:
    path = signed(tmp_path)
    rs = load_ruleset(path)
    assert (rs.status, rs.sign_off_by, rs.sign_off_date, rs.signed_off) == ("approved", BY, DATE, True)
    assert rs.signed_content_sha256 == rs.content_sha256 == load_ruleset(DEFAULT_PATH).content_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", rs.content_sha256)
    line = path.read_text(encoding="utf-8").splitlines()[sign_off_line(path) - 1]
    assert line == f'  sign_off: {{by: "{BY}", date: "{DATE}", content_sha256: "{rs.content_sha256}"}}'


def test_the_committed_file_loads_as_a_draft_or_as_signed_off_for_exactly_its_content() -> None:
    # Holds before and after a clinician signs the committed file off.
    rs = load_ruleset(DEFAULT_PATH)
    assert rs.content_sha256
    if rs.status == "draft":
        assert not rs.signed_off
    else:
        assert rs.signed_off and rs.signed_content_sha256 == rs.content_sha256


# --- a change after the sign-off -----------------------------------------------------------


def test_lowering_a_rule_after_sign_off_is_refused_on_the_sign_off_line(tmp_path: Path) -> None:
    """The audit's case: r_g6pd_known lowered to mention_at_consultation after the sign-off."""
    path = signed(tmp_path)
    set_level(path, "r_g6pd_known", "mention_at_consultation")
    error = changed_after_sign_off(path)
    assert (error.file, error.line, error.rule) == (str(path), sign_off_line(path), None)
    assert error.message.startswith(f"the rules changed after the sign-off by {BY} on {DATE} ")
    assert "a clinician must sign off again (`flask rules sign-off --by NAME`)" in error.message
    assert "or the status be set back to draft" in error.message
    assert str(error).startswith(f"{path}:{sign_off_line(path)}: rule -: the rules changed after the sign-off")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "staff_note: Vasovagal history. Plan to treat the patient lying down.",
            "staff_note: Vasovagal history. Plan to treat the patient lying down (any kind).",
        ),
        (
            "MSG_BRING_INHALER: Please bring your inhaler to your visit.",
            "MSG_BRING_INHALER: Please bring your inhalers to your visit.",
        ),
        ("  - name: no seizures\n", "  - name: no seizures at all\n"),
        (f'version: "{VERSION}"', f'version: "{VERSION}.1"'),
        ("sources: [S20]\n    evidence: D", "sources: [S20, S39]\n    evidence: D"),
    ],
    ids=["staff note", "message", "example", "version", "sources"],
)
def test_any_change_to_the_content_is_refused_alone(tmp_path: Path, old: str, new: str) -> None:
    path = signed(tmp_path)
    edit(path, old, new)
    [error] = refusal(path)  # the only fault: the file is otherwise valid
    assert error.line == sign_off_line(path)
    assert "the rules changed after the sign-off by" in error.message


def test_an_approved_file_without_a_recorded_hash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        TEXT.replace(
            "  status: draft\n  sign_off: {by: null, date: null}\n",
            f'  status: approved\n  sign_off: {{by: "{BY}", date: "{DATE}"}}\n',
            1,
        ),
        encoding="utf-8",
    )
    [error] = refusal(path)
    assert error.line == sign_off_line(path)
    assert error.message.startswith(
        f"the rules may have changed after the sign-off by {BY} on {DATE}: it records no content_sha256"
    )
    assert "sign off again" in error.message


def test_a_recorded_hash_that_is_not_a_sha256_is_refused(tmp_path: Path) -> None:
    path = signed(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'content_sha256: "[0-9a-f]+"', "content_sha256: nothing", text), encoding="utf-8")
    messages = [e.message for e in refusal(path)]
    assert "sign_off content_sha256 must be 64 lowercase hex digits (written by `flask rules sign-off`)" in messages


def test_signing_off_again_makes_a_changed_file_load(tmp_path: Path) -> None:
    path = signed(tmp_path)
    before = load_ruleset(path).content_sha256
    set_level(path, "r_g6pd_known", "mention_at_consultation")
    edit(
        path,
        "  - name: known G6PD deficiency\n    answers: {g6pd_deficiency: yes}\n"
        "    fires: [r_g6pd_known]\n    does_not_fire: [r_g6pd_unknown]\n    level: discuss_before_booking",
        "  - name: known G6PD deficiency\n    answers: {g6pd_deficiency: yes}\n"
        "    fires: [r_g6pd_known]\n    does_not_fire: [r_g6pd_unknown]\n    level: mention_at_consultation",
    )
    changed_after_sign_off(path)
    rs = replay.sign_off(path, "Dr Two", "2026-12-02")
    assert rs.signed_off and rs.sign_off_by == "Dr Two" and rs.content_sha256 != before
    assert rs.rule("r_g6pd_known").level == "mention_at_consultation"
    assert load_ruleset(path).signed_off


def test_setting_the_status_back_to_draft_makes_a_changed_file_load_unsigned(tmp_path: Path) -> None:
    path = signed(tmp_path)
    edit(
        path,
        "staff_note: Vasovagal history. Plan to treat the patient lying down.",
        "staff_note: Vasovagal history. Plan to treat the patient lying down (any kind).",
    )
    edit(path, "  status: approved\n", "  status: draft\n")
    rs = load_ruleset(path)
    assert rs.status == "draft" and not rs.signed_off
    assert rs.signed_content_sha256 is not None and rs.signed_content_sha256 != rs.content_sha256


def test_sign_off_itself_may_skip_the_check_it_replaces(tmp_path: Path) -> None:
    path = signed(tmp_path)
    edit(
        path,
        "staff_note: Vasovagal history. Plan to treat the patient lying down.",
        "staff_note: Vasovagal history. Plan to treat the patient lying down (any kind).",
    )
    rs = load_ruleset(path, verify_sign_off=False)
    assert rs.status == "approved" and not rs.signed_off


# --- what is not content ---------------------------------------------------------------------


def test_comment_and_layout_edits_keep_the_sign_off(tmp_path: Path) -> None:
    path = signed(tmp_path)
    signed_rs = load_ruleset(path)
    text = path.read_text(encoding="utf-8")
    text = "# reviewed in the December meeting\n\n" + text
    text = text.replace("\nrules:\n", "\n\n# --- the rules ---\nrules:   # see docs/rules-file.md\n", 1)
    text = text.replace("    when: {q: g6pd_deficiency, eq: yes}", "    when: {  q: g6pd_deficiency,   eq: yes  }", 1)
    text = text.replace(f'version: "{VERSION}"', f"version: '{VERSION}'", 1)
    text = text.replace("    sources: [S53, S39]\n", "    sources:\n      - S53\n      - S39   # HSE, PAR-Q+\n", 1)
    text = text.replace("\nrules:", "\n\n\nrules:", 1).replace("\n", "\r\n")  # blank lines; CRLF everywhere
    path.write_bytes(text.encode("utf-8"))
    rs = load_ruleset(path)
    assert rs.signed_off and rs.content_sha256 == signed_rs.content_sha256
    assert rs.sha256 != signed_rs.sha256  # the file's own hash (stored per submission) did change


def test_the_content_hash_leaves_out_only_status_and_sign_off() -> None:
    import yaml

    from questionnaire.core.rules import YamlLoader

    data = yaml.load(TEXT, Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
    base = content_sha256(data)
    approved = dict(
        data,
        ruleset=dict(data["ruleset"], status="approved", sign_off={"by": BY, "date": DATE, "content_sha256": "0" * 64}),
    )
    assert content_sha256(approved) == base
    assert content_sha256(dict(data, ruleset=dict(data["ruleset"], name="Other name"))) != base
    assert content_sha256(dict(data, examples=[])) != base
    assert content_sha256(dict(data, levels=list(reversed(data["levels"])))) != base  # order counts


# --- start-up and the command line -------------------------------------------------------------


def test_the_app_refuses_to_start_on_rules_changed_after_sign_off(tmp_path: Path) -> None:
    from questionnaire import create_app

    path = signed(tmp_path)
    set_level(path, "r_needle_faint", "discuss_before_booking")
    with pytest.raises(RulesFileError) as caught:
        create_app(test_settings("sqlite://", RULES_PATH=str(path)))
    assert f"{path}:{sign_off_line(path)}: rule -: the rules changed after the sign-off by {BY} on {DATE}" in str(
        caught.value
    )


def test_the_app_starts_on_a_signed_off_file(tmp_path: Path) -> None:
    from questionnaire import create_app

    path = signed(tmp_path)
    app = create_app(test_settings("sqlite://", RULES_PATH=str(path)))
    assert app.extensions["ruleset"].signed_off


def test_check_reports_a_signed_off_file(runner: Any, tmp_path: Path) -> None:
    path = signed(tmp_path)
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 0, result.output
    rs = load_ruleset(path)
    assert f"(approved, signed off by {BY} on {DATE} for exactly this content)" in result.stdout
    assert f"content sha256 {rs.content_sha256[:12]}" in result.stdout


def test_check_refuses_a_file_changed_after_sign_off(runner: Any, tmp_path: Path) -> None:
    path = signed(tmp_path)
    edit(
        path,
        "staff_note: Vasovagal history. Plan to treat the patient lying down.",
        "staff_note: Vasovagal history. Plan to treat the patient lying down (any kind).",
    )
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    first, last = result.stderr.splitlines()
    assert first.startswith(f"{path}:{sign_off_line(path)}: rule -: the rules changed after the sign-off by {BY}")
    assert last == "1 error(s): the rules file was refused."


def test_the_sign_off_command_records_the_hash_and_signs_a_changed_file_again(runner: Any, tmp_path: Path) -> None:
    path = signed(tmp_path)
    edit(
        path,
        "staff_note: Vasovagal history. Plan to treat the patient lying down.",
        "staff_note: Vasovagal history. Plan to treat the patient lying down (any kind).",
    )
    result = runner.invoke(args=["rules", "sign-off", "--by", "Dr Two", "--date", "2026-12-02", str(path)])
    assert result.exit_code == 0, result.output
    rs = load_ruleset(path)
    assert rs.signed_off and rs.sign_off_by == "Dr Two"
    assert f"(content sha256 {rs.content_sha256[:12]})" in result.stdout
