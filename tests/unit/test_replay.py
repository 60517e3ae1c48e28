"""Dry-run replay of a candidate rules file, and the clinical sign-off (questionnaire/core/replay.py)."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from questionnaire.core import replay
from questionnaire.core.rules import DEFAULT_PATH, Ruleset, RulesFileError, load_ruleset
from questionnaire.data.store import fired_to_json

from ..helpers import EVERY_PAGE, NO_FLAGS, PERSONAS

TEXT = Path(DEFAULT_PATH).read_text(encoding="utf-8")
CURRENT = load_ruleset(DEFAULT_PATH)
URGENT_STOP = {
    "chest_pain_now": "yes",
    "breathing_trouble_now": "no",
    "stroke_signs_now": "no",
    "recent_ozone_7d": "no",
    "unwell_now": "no",
}


# --- candidate files -------------------------------------------------------------------------


def without_examples(text: str) -> str:
    """The examples pin today's outcomes; a candidate that changes outcomes drops them."""
    return text[: text.index("\nexamples:") + 1]


def set_level(text: str, rule_id: str, level: str) -> str:
    new, n = re.subn(rf"(  - id: {rule_id}\n    level: )\w+", rf"\g<1>{level}", text)
    assert n == 1
    return new


def remove_rule(text: str, rule_id: str) -> str:
    start = text.index(f"  - id: {rule_id}\n")
    end = text.index("\n  - id: ", start + 1) + 1
    return text[:start] + text[end:]


def add_rule(text: str, block: str) -> str:
    at = text.index("\nrules:\n") + len("\nrules:\n")
    return text[:at] + block + "\n" + text[at:]


def bump(text: str, version: str) -> str:
    return text.replace(f'version: "{CURRENT.version}"', f'version: "{version}"', 1)


def candidate(tmp_path: Path, text: str) -> Ruleset:
    path = tmp_path / "candidate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_ruleset(path)


def stored(reference: str, answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A submission as the store keeps it, judged by the current rules."""
    result = CURRENT.evaluate(answers)
    return {
        "reference": reference,
        "answers": answers,
        "level": result.level,
        "fired": [fired_to_json(f) for f in result.fired],
        "ruleset_version": CURRENT.version,
        **extra,
    }


SUBMISSIONS = [
    stored("NONE-0001", PERSONAS["none"]),
    stored("MENT-0001", PERSONAS["mention_at_consultation"]),
    stored("MENT-0002", {**NO_FLAGS, "faint_with_needles": "not_sure"}),
    stored("DISC-0001", PERSONAS["discuss_before_booking"]),
    stored("URGT-0001", PERSONAS["urgent"]),
    stored("EVRY-0001", EVERY_PAGE),
]

# Values that must never appear in a report.
PRIVATE = ["Alex Example", "0161 496 0001", "warfarin", "apixaban", "Left knee", "An itchy rash", "alex@example.com"]


def assert_no_health_data(report: replay.Report) -> None:
    for text in (replay.format_report(report), json.dumps(report.as_dict())):
        for value in PRIVATE:
            assert value.lower() not in text.lower(), value
        assert "faint_with_needles" not in text and 'blood_thinner"' not in text


# --- replay ----------------------------------------------------------------------------------


def test_the_same_rules_change_nothing() -> None:
    report = replay.replay(SUBMISSIONS, CURRENT, CURRENT)
    assert report.total == len(SUBMISSIONS)
    assert report.level_moves == {} and report.rules_changed_same_level == [] and report.changed_rules == []
    assert (
        report.current_levels
        == report.candidate_levels
        == {"none": 1, "mention_at_consultation": 2, "discuss_before_booking": 2, "urgent": 1}
    )
    assert report.stale == []
    text = replay.format_report(report)
    assert "0 would change level" in text and "no submission changes level" in text
    assert "no rule changes outcome" in text


def test_raising_a_rule_level_moves_its_submissions_up(tmp_path: Path) -> None:
    cand = candidate(
        tmp_path, bump(set_level(without_examples(TEXT), "r_needle_faint", "discuss_before_booking"), "2026.12.0")
    )
    report = replay.replay(SUBMISSIONS, CURRENT, cand)
    assert report.candidate_version == "2026.12.0"
    assert report.level_moves == {("mention_at_consultation", "discuss_before_booking"): ["MENT-0001", "MENT-0002"]}
    assert report.level_changes == 2
    rule = report.rules["r_needle_faint"]
    assert (rule.status, rule.current_level, rule.candidate_level) == (
        "level changed",
        "mention_at_consultation",
        "discuss_before_booking",
    )
    assert (rule.fires_current, rule.fires_candidate, rule.newly_firing, rule.no_longer_firing) == (2, 2, [], [])
    assert [r.rule_id for r in report.changed_rules] == ["r_needle_faint"]
    assert report.candidate_levels == {"none": 1, "discuss_before_booking": 4, "urgent": 1}
    text = replay.format_report(report)
    assert "mention_at_consultation -> discuss_before_booking: 2  [MENT-0001, MENT-0002]" in text
    assert "r_needle_faint (level mention_at_consultation -> discuss_before_booking): fires on 2 -> 2" in text
    assert "2 would change level" in text
    assert_no_health_data(report)


def test_removing_a_rule_reports_where_it_no_longer_fires(tmp_path: Path) -> None:
    cand = candidate(tmp_path, remove_rule(without_examples(TEXT), "r_blood_thinner_injection"))
    report = replay.replay(SUBMISSIONS, CURRENT, cand)
    rule = report.rules["r_blood_thinner_injection"]
    assert rule.status == "removed" and rule.candidate_level is None
    assert rule.no_longer_firing == ["DISC-0001", "EVRY-0001"] and rule.newly_firing == []
    # DISC-0001 had only that rule: it drops to no flags. EVRY-0001 keeps other (mention) rules.
    assert report.level_moves == {
        ("discuss_before_booking", "mention_at_consultation"): ["EVRY-0001"],
        ("discuss_before_booking", "none"): ["DISC-0001"],
    }
    text = replay.format_report(report)
    assert "r_blood_thinner_injection (removed; was discuss_before_booking): fires on 2 -> 0" in text
    assert "no longer fires: 2  [DISC-0001, EVRY-0001]" in text
    assert_no_health_data(report)


def test_a_new_rule_reports_where_it_would_fire(tmp_path: Path) -> None:
    rule = """  - id: r_any_blood_thinner
    level: mention_at_consultation
    when: {q: blood_thinner, in: [yes, not_sure]}
    patient_message: [MSG_M]
    staff_note: Any blood thinner.
    title: Any blood thinner
    front_desk: {say: Thank you., do_not_say: Never give advice about medicines., goes_to: the clinician at the visit}
    sources: [S13]
    evidence: C
"""
    cand = candidate(tmp_path, add_rule(without_examples(TEXT), rule))
    report = replay.replay(SUBMISSIONS, CURRENT, cand)
    new = report.rules["r_any_blood_thinner"]
    assert new.status == "added" and new.newly_firing == ["DISC-0001", "EVRY-0001"]
    assert report.level_moves == {}
    assert report.rules_changed_same_level == ["DISC-0001", "EVRY-0001"]
    text = replay.format_report(report)
    assert "r_any_blood_thinner (new, mention_at_consultation): fires on 0 -> 2" in text
    assert "2 more would keep their level with other rules firing" in text


def test_a_rule_whose_level_changed_but_fires_nowhere_is_listed_without_counting_as_a_change(tmp_path: Path) -> None:
    cand = candidate(tmp_path, set_level(without_examples(TEXT), "r_urgent_breathing_now", "discuss_before_booking"))
    report = replay.replay(SUBMISSIONS, CURRENT, cand)
    assert report.level_moves == {} and report.changed_rules == []
    assert "r_urgent_breathing_now (level urgent -> discuss_before_booking): fires on 0 -> 0" in replay.format_report(
        report
    )


def test_a_form_stopped_early_is_judged_without_the_pages_it_never_reached() -> None:
    sub = stored("STOP-0001", URGENT_STOP, stopped_early=True)
    sub.update(level="urgent", fired=[{"id": "r_urgent_chest_pain_now"}])  # as patient.py stores it
    report = replay.replay([sub], CURRENT, CURRENT)
    assert report.stale == [] and report.current_levels == {"urgent": 1}
    assert report.rules["r_required_unanswered"].fires_current == 0
    # Without the flag, the same answers would count every later safety question as unanswered.
    assert replay.replay([{**sub, "stopped_early": False}], CURRENT, CURRENT).stale == ["STOP-0001"]
    assert replay.reassess(sub, CURRENT).rule_ids == ["r_urgent_chest_pain_now"]
    assert "r_required_unanswered" in replay.reassess({**sub, "stopped_early": False}, CURRENT).rule_ids


def test_submissions_judged_by_an_older_rule_set_are_noted() -> None:
    old = {
        **stored("OLDV-0001", PERSONAS["mention_at_consultation"]),
        "level": "none",
        "fired": [],
        "ruleset_version": "2026.10.0",
    }
    report = replay.replay([old, *SUBMISSIONS], CURRENT, CURRENT)
    assert report.stale == ["OLDV-0001"] and report.stale_versions == {"2026.10.0": 1}
    assert "1 submission(s) were judged by an older rule set (2026.10.0: 1)" in replay.format_report(report)


def test_submissions_can_be_objects_with_fired_ids(tmp_path: Path) -> None:
    objects = [
        SimpleNamespace(
            reference=s["reference"],
            answers=s["answers"],
            level=s["level"],
            fired=[f["id"] for f in s["fired"]],
            ruleset_version=s["ruleset_version"],
            stopped_early=False,
        )
        for s in SUBMISSIONS
    ]
    cand = candidate(tmp_path, set_level(without_examples(TEXT), "r_needle_faint", "discuss_before_booking"))
    assert replay.replay(objects, CURRENT, cand).as_dict() == replay.replay(SUBMISSIONS, CURRENT, cand).as_dict()
    # A bare minimum: reference and answers, streamed from a generator.
    minimal = (SimpleNamespace(reference=s["reference"], answers=s["answers"]) for s in SUBMISSIONS)
    assert replay.replay(minimal, CURRENT, cand).level_changes == 2


def test_the_report_as_json_has_counts_and_references_only(tmp_path: Path) -> None:
    cand = candidate(tmp_path, set_level(without_examples(TEXT), "r_needle_faint", "discuss_before_booking"))
    data = json.loads(json.dumps(replay.replay(SUBMISSIONS, CURRENT, cand).as_dict()))
    assert data["level_moves"] == [
        {
            "from": "mention_at_consultation",
            "to": "discuss_before_booking",
            "count": 2,
            "references": ["MENT-0001", "MENT-0002"],
        }
    ]
    assert data["submissions"] == 6 and data["level_changes"] == 2
    assert {r["id"] for r in data["rules"]} == {r.id for r in CURRENT.rules}


def test_long_reference_lists_can_be_shortened(tmp_path: Path) -> None:
    cand = candidate(tmp_path, set_level(without_examples(TEXT), "r_needle_faint", "discuss_before_booking"))
    text = replay.format_report(replay.replay(SUBMISSIONS, CURRENT, cand), max_references=1)
    assert "[MENT-0001 and 1 more]" in text


# --- sign-off --------------------------------------------------------------------------------


def ruleset_block(text: str) -> tuple[int, int]:
    """Start and end (character offsets) of the ruleset: block: up to the next top-level key."""
    start = re.search(r"^ruleset:", text, re.M)
    assert start is not None
    end = re.compile(r"^[^\s#]", re.M).search(text, start.end())
    return start.start(), end.start() if end else len(text)


def test_sign_off_records_approval_and_leaves_the_rest_of_the_file_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    original = Path(DEFAULT_PATH).read_bytes()
    path.write_bytes(original)
    os.chmod(path, 0o640)
    result = replay.sign_off(path, "Dr Jane Smith", "2026-11-29")
    loaded = load_ruleset(path)
    assert (loaded.status, loaded.sign_off_by, loaded.sign_off_date, loaded.signed_off) == (
        "approved",
        "Dr Jane Smith",
        "2026-11-29",
        True,
    )
    assert result.sha256 == loaded.sha256 and loaded.version == CURRENT.version
    new = path.read_bytes()
    a0, a1 = ruleset_block(original.decode())
    b0, b1 = ruleset_block(new.decode())
    assert new[:b0] == original[:a0]  # the header comments
    assert new.decode()[b1:] == original.decode()[a1:]  # everything after the block
    old_lines, new_lines = original.decode()[a0:a1].splitlines(), new.decode()[b0:b1].splitlines()
    changed = [(o, n) for o, n in zip(old_lines, new_lines) if o != n]
    assert len(old_lines) == len(new_lines)
    assert changed == [
        ("  status: draft", "  status: approved"),
        (
            "  sign_off: {by: null, date: null}",
            f'  sign_off: {{by: "Dr Jane Smith", date: "2026-11-29", content_sha256: "{CURRENT.content_sha256}"}}',
        ),
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"]  # no temporary file left behind


def test_a_block_style_sign_off_with_comments_and_crlf_line_endings(tmp_path: Path) -> None:
    head, rest = TEXT.split("ruleset:\n", 1)
    block, after = rest.split("\nlevels:", 1)
    block = (
        "  # who approved it, and when\n"
        "  name: Ozone-therapy pre-consultation flags\n"
        '  version: "2026.11.1"   # bump with every edit\n'
        "  status: draft   # draft | approved\n"
        "  sign_off:       # set by flask rules sign-off\n"
        "    by: null\n"
        "    date: null\n"
        "\n"
        "# a comment between blocks"
    )
    text = (head + "ruleset:\n" + block + "\nlevels:" + after).replace("\n", "\r\n")
    path = tmp_path / "rules.yaml"
    path.write_bytes(text.encode())
    replay.sign_off(path, 'Dra. Mar\u00eda "Mar" Garc\u00eda', "2026-12-01")
    loaded = load_ruleset(path)
    assert loaded.sign_off_by == 'Dra. Mar\u00eda "Mar" Garc\u00eda' and loaded.sign_off_date == "2026-12-01"
    new = path.read_bytes().decode()
    assert new.replace("\r\n", "") == new.replace("\r\n", "").replace("\n", "")  # no bare LF slipped in
    assert "  status: approved   # draft | approved\r\n" in new
    assert (
        '  sign_off: {by: "Dra. Mar\u00eda \\"Mar\\" Garc\u00eda", date: "2026-12-01", '
        f'content_sha256: "{loaded.content_sha256}"}}       # set by flask rules sign-off\r\n'
    ) in new
    assert "    by: null" not in new
    assert "  # who approved it, and when\r\n" in new and "\r\n\r\n# a comment between blocks\r\nlevels:" in new
    assert new.startswith(head.replace("\n", "\r\n")) and new.endswith(("\nlevels:" + after).replace("\n", "\r\n"))


def test_a_second_sign_off_replaces_the_first(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(TEXT, encoding="utf-8")
    replay.sign_off(path, "Dr One", "2026-11-29")
    import datetime as dt

    replay.sign_off(path, "  Dr   Two  ", dt.date(2026, 12, 2))
    loaded = load_ruleset(path)
    assert (loaded.sign_off_by, loaded.sign_off_date) == ("Dr Two", "2026-12-02")
    assert path.read_text(encoding="utf-8").count("sign_off:") == TEXT.count("sign_off:")


@pytest.mark.parametrize("by, date, message", [("", "2026-11-29", "name"), ("Dr X", "29/11/2026", "YYYY-MM-DD")])
def test_a_sign_off_without_a_name_or_with_a_bad_date_is_refused(
    tmp_path: Path, by: str, date: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(TEXT, encoding="utf-8")
    with pytest.raises(replay.SignOffError, match=message):
        replay.sign_off(path, by, date)
    assert path.read_text(encoding="utf-8") == TEXT


def test_a_file_that_does_not_load_is_not_signed_off(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    broken = set_level(TEXT, "r_needle_faint", "no_such_level")
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RulesFileError):
        replay.sign_off(path, "Dr Jane Smith", "2026-11-29")
    assert path.read_text(encoding="utf-8") == broken


def test_if_the_signed_off_file_does_not_load_the_original_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(TEXT, encoding="utf-8")
    calls = []
    real = load_ruleset

    def second_load_fails(*args: Any, **kwargs: Any) -> Ruleset:
        calls.append(args)
        if len(calls) == 2:
            raise RulesFileError([])
        return real(*args, **kwargs)

    monkeypatch.setattr(replay, "load_ruleset", second_load_fails)
    with pytest.raises(replay.SignOffError, match="left unchanged"):
        replay.sign_off(path, "Dr Jane Smith", "2026-11-29")
    assert path.read_text(encoding="utf-8") == TEXT


def test_a_file_without_a_ruleset_block_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(TEXT.replace("\nruleset:\n", "\nruleset :\n"), encoding="utf-8")
    monkeypatch.setattr(replay, "load_ruleset", lambda *a, **k: CURRENT)
    with pytest.raises(replay.SignOffError, match="no top-level 'ruleset:' block"):
        replay.sign_off(path, "Dr Jane Smith", "2026-11-29")
