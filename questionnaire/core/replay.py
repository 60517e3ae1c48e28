"""The rule set's life: a dry run of a candidate rules file on stored answers, and the clinical sign-off
(no Flask, no database: the caller passes the submissions in and stores nothing).

`replay(submissions, current, candidate)` judges every submission's stored answers with both rule
sets and reports, per rule and per level, which submissions would change outcome: counts and
reference numbers only, never answers. `sign_off(path, by, date)` records a clinician's approval in
the rules file by editing the `ruleset:` block's text alone, so comments and layout stay as written;
the approval names the content it approved (rules.content_sha256), so a later edit voids it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from questionnaire.core import flow
from questionnaire.core.checkin import RULES_QUESTIONNAIRE
from questionnaire.core.questions import Questionnaire
from questionnaire.core.rules import NO_LEVEL, Assessment, Ruleset, load_ruleset

# --- replay --------------------------------------------------------------------------------------


@dataclass
class RuleChange:
    """One rule's effect: which submissions it would newly fire on, or no longer fire on."""

    rule_id: str
    current_level: str | None  # None: the rule is not in that rule set
    candidate_level: str | None
    fires_current: int = 0
    fires_candidate: int = 0
    newly_firing: list[str] = field(default_factory=list)
    no_longer_firing: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.current_level is None:
            return "added"
        if self.candidate_level is None:
            return "removed"
        if self.current_level != self.candidate_level:
            return "level changed"
        return "kept"

    @property
    def changed(self) -> bool:
        return bool(self.newly_firing or self.no_longer_firing) or (
            self.status == "level changed" and self.fires_candidate > 0
        )


@dataclass
class Report:
    current_version: str
    current_sha256: str
    candidate_version: str
    candidate_sha256: str
    total: int = 0
    # (current level, candidate level) -> references, for the submissions whose level changes.
    level_moves: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # Same level, but a different set of rules fires.
    rules_changed_same_level: list[str] = field(default_factory=list)
    rules: dict[str, RuleChange] = field(default_factory=dict)
    current_levels: dict[str, int] = field(default_factory=dict)
    candidate_levels: dict[str, int] = field(default_factory=dict)
    # Stored outcome differs from what the current rules say now (judged by an older rule set).
    stale: list[str] = field(default_factory=list)
    stale_versions: dict[str, int] = field(default_factory=dict)

    @property
    def level_changes(self) -> int:
        return sum(len(refs) for refs in self.level_moves.values())

    @property
    def changed_rules(self) -> list[RuleChange]:
        return [r for r in self.rules.values() if r.changed]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, rule ids, levels and reference numbers only."""
        return {
            "current": {"version": self.current_version, "sha256": self.current_sha256},
            "candidate": {"version": self.candidate_version, "sha256": self.candidate_sha256},
            "submissions": self.total,
            "level_changes": self.level_changes,
            "levels": {"current": self.current_levels, "candidate": self.candidate_levels},
            "level_moves": [
                {"from": a, "to": b, "count": len(refs), "references": refs}
                for (a, b), refs in self.level_moves.items()
            ],
            "same_level_other_rules": self.rules_changed_same_level,
            "rules": [
                {
                    "id": r.rule_id,
                    "status": r.status,
                    "current_level": r.current_level,
                    "candidate_level": r.candidate_level,
                    "fires_current": r.fires_current,
                    "fires_candidate": r.fires_candidate,
                    "newly_firing": {"count": len(r.newly_firing), "references": r.newly_firing},
                    "no_longer_firing": {"count": len(r.no_longer_firing), "references": r.no_longer_firing},
                }
                for r in self.rules.values()
            ],
            "judged_by_an_older_rule_set": {
                "count": len(self.stale),
                "references": self.stale,
                "versions": self.stale_versions,
            },
        }


def _field(sub: Any, name: str, default: Any = None) -> Any:
    if isinstance(sub, Mapping):
        return sub.get(name, default)
    return getattr(sub, name, default)


def _fired_ids(fired: Any) -> set[str]:
    return {str(f.get("id") if isinstance(f, Mapping) else getattr(f, "id", f)) for f in fired or ()}


def _level_order(current: Ruleset, candidate: Ruleset) -> list[str]:
    order = [lv.id for lv in current.levels] + [
        lv.id for lv in candidate.levels if lv.id not in {c.id for c in current.levels}
    ]
    return order + [NO_LEVEL]


def replay(submissions: Iterable[Any], current: Ruleset, candidate: Ruleset) -> Report:
    """Judge each submission's stored answers with the current and the candidate rule set.

    A submission is an object or a mapping with `reference`, `answers`, and optionally `level`,
    `fired` (ids, or dicts with "id" as stored), `ruleset_version` and `stopped_early`. A form stopped
    early by an urgent answer is judged as it was, without counting the pages it never reached.
    """
    report = Report(current.version, current.sha256, candidate.version, candidate.sha256)
    rules: dict[str, RuleChange] = {}
    for r in current.rules:
        rules[r.id] = RuleChange(r.id, r.level, None)
    for r in candidate.rules:
        rules.setdefault(r.id, RuleChange(r.id, None, None)).candidate_level = r.level
    for sub in submissions:
        reference = str(_field(sub, "reference"))
        before, after = reassess(sub, current), reassess(sub, candidate)
        report.total += 1
        report.current_levels[before.level] = report.current_levels.get(before.level, 0) + 1
        report.candidate_levels[after.level] = report.candidate_levels.get(after.level, 0) + 1
        ids_before, ids_after = set(before.rule_ids), set(after.rule_ids)
        for rid in ids_before:
            rules[rid].fires_current += 1
        for rid in ids_after:
            rules[rid].fires_candidate += 1
        for rid in sorted(ids_after - ids_before):
            rules[rid].newly_firing.append(reference)
        for rid in sorted(ids_before - ids_after):
            rules[rid].no_longer_firing.append(reference)
        if before.level != after.level:
            report.level_moves.setdefault((before.level, after.level), []).append(reference)
        elif ids_before != ids_after:
            report.rules_changed_same_level.append(reference)
        stored_level = _field(sub, "level")
        stored_fired = _field(sub, "fired")
        if (stored_level is not None and stored_level != before.level) or (
            stored_fired is not None and _fired_ids(stored_fired) != ids_before
        ):
            report.stale.append(reference)
            version = str(_field(sub, "ruleset_version") or "unknown")
            report.stale_versions[version] = report.stale_versions.get(version, 0) + 1
    order = _level_order(current, candidate)
    report.level_moves = dict(
        sorted(
            report.level_moves.items(),
            key=lambda kv: (
                order.index(kv[0][0]) if kv[0][0] in order else len(order),
                order.index(kv[0][1]) if kv[0][1] in order else len(order),
            ),
        )
    )
    report.rules = rules
    return report


def _stop_page(answers: Mapping[str, Any], qn: Questionnaire) -> str | None:
    """The page a form stopped early on: the last shown page with an answer (the page whose
    Continue stopped it); later pages were never reached, so their questions are not unanswered."""
    last = None
    for page in flow.shown_pages(answers, qn):
        if any(q.id in answers for q in page.questions):
            last = page.id
    return last


def reassess(submission: Any, ruleset: Ruleset) -> Assessment:
    """What `ruleset` says about a stored submission's answers now (for "what the current rules
    would say"): judged as when it was sent, so a form stopped early by an urgent answer does not
    count the pages it never reached as unanswered."""
    answers = _field(submission, "answers") or {}
    upto = _stop_page(answers, ruleset.questionnaire) if _field(submission, "stopped_early", False) else None
    return ruleset.evaluate(answers, upto=upto)


def format_report(report: Report, max_references: int | None = None) -> str:
    """The report as text for the command line: counts and reference numbers, no answers."""

    def refs(items: list[str]) -> str:
        shown = items if max_references is None else items[:max_references]
        more = len(items) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more else "")

    lines = [
        f"Replayed {report.total} submission{'s' if report.total != 1 else ''}: current rules "
        f"{report.current_version} (sha256 {report.current_sha256[:12]}) -> candidate "
        f"{report.candidate_version} (sha256 {report.candidate_sha256[:12]}).",
        f"{report.level_changes} would change level; {len(report.rules_changed_same_level)} more would keep their "
        f"level with other rules firing; {report.total - report.level_changes - len(report.rules_changed_same_level)} "
        "unchanged.",
        "",
        "By level (current -> candidate):",
    ]
    if report.level_moves:
        for (a, b), items in report.level_moves.items():
            lines.append(f"  {a} -> {b}: {len(items)}  [{refs(items)}]")
    else:
        lines.append("  no submission changes level")
    order = list(dict.fromkeys([*report.current_levels, *report.candidate_levels]))
    lines.append(
        "  totals: "
        + ", ".join(f"{lv} {report.current_levels.get(lv, 0)} -> {report.candidate_levels.get(lv, 0)}" for lv in order)
    )
    lines += ["", "By rule:"]
    changed = report.changed_rules
    structural = [r for r in report.rules.values() if r.status != "kept" and not r.changed]
    if not changed and not structural:
        lines.append("  no rule changes outcome")
    for r in changed + structural:
        if r.status == "added":
            head = f"  {r.rule_id} (new, {r.candidate_level})"
        elif r.status == "removed":
            head = f"  {r.rule_id} (removed; was {r.current_level})"
        elif r.status == "level changed":
            head = f"  {r.rule_id} (level {r.current_level} -> {r.candidate_level})"
        else:
            head = f"  {r.rule_id} ({r.current_level})"
        lines.append(f"{head}: fires on {r.fires_current} -> {r.fires_candidate}")
        if r.newly_firing:
            lines.append(f"    newly fires: {len(r.newly_firing)}  [{refs(r.newly_firing)}]")
        if r.no_longer_firing:
            lines.append(f"    no longer fires: {len(r.no_longer_firing)}  [{refs(r.no_longer_firing)}]")
    if report.stale:
        versions = ", ".join(f"{v}: {n}" for v, n in sorted(report.stale_versions.items()))
        lines += [
            "",
            f"Note: {len(report.stale)} submission(s) were judged by an older rule set ({versions}); "
            f"the comparison uses what the current rules say now.  [{refs(report.stale)}]",
        ]
    return "\n".join(lines) + "\n"


# --- sign-off ------------------------------------------------------------------------------------


class SignOffError(ValueError):
    """The file cannot be signed off (no ruleset block, or it would not load afterwards)."""


_TOP_KEY = re.compile(r"^[^\s#]")
_BLOCK_START = re.compile(r"^ruleset:[ \t]*(#.*)?$")
_KEY_LINE = re.compile(r"^(?P<indent>[ \t]+)(?P<key>[A-Za-z_]+):(?P<rest>.*)$")


def _split_comment(rest: str) -> tuple[str, str]:
    """A value and its trailing comment (with the spaces before it); '#' inside quotes is not one."""
    quote: str | None = None
    for i, ch in enumerate(rest):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or rest[i - 1] in " \t"):
            value = rest[:i]
            stripped = value.rstrip(" \t")
            return stripped, rest[len(stripped) :]
    return rest.rstrip(" \t"), rest[len(rest.rstrip(" \t")) :]


def _line_ending(line: str) -> tuple[str, str]:
    for end in ("\r\n", "\n", "\r"):
        if line.endswith(end):
            return line[: -len(end)], end
    return line, ""


def _scalar(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def sign_off(
    path: str | Path, by: str, date: dt.date | str | None = None, *, questionnaire: Questionnaire = RULES_QUESTIONNAIRE
) -> Ruleset:
    """Record a clinical sign-off: `status: approved` and
    `sign_off: {by: NAME, date: YYYY-MM-DD, content_sha256: HASH}`.

    HASH is rules.content_sha256() of the file as it is now: the rules, levels, messages, examples
    and version the clinician approves. The loader refuses an approved file whose content no longer
    has that hash, so any later edit needs a new sign-off (or the status set back to draft).

    Only the `status:` and `sign_off:` lines of the `ruleset:` block change; every other byte of
    the file stays as it was. The file must load before (apart from an out-of-date sign-off, which
    this replaces) and after; if the edited file does not load, the original is put back and
    SignOffError is raised. Returns the loaded rule set.
    """
    path = Path(path)
    name = " ".join(str(by).split())
    if not name or len(name) > 200:
        raise SignOffError("the sign-off needs the clinician's name (at most 200 characters)")
    when = dt.date.today() if date is None else date
    if isinstance(when, str):
        try:
            when = dt.date.fromisoformat(when)
        except ValueError as exc:
            raise SignOffError(f"the date {date!r} is not YYYY-MM-DD") from exc
    if isinstance(when, dt.datetime):
        when = when.date()
    # Refuse to sign off a file that does not load; an earlier sign-off that no longer matches is
    # what this one replaces, so only that check is left out.
    content = load_ruleset(path, questionnaire, verify_sign_off=False).content_sha256
    original = path.read_bytes()
    text = original.decode("utf-8")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _BLOCK_START.match(_line_ending(line)[0])), None)
    if start is None:
        raise SignOffError(f"{path}: no top-level 'ruleset:' block")
    end = next((i for i in range(start + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines))
    block = lines[start + 1 : end]
    key_indent = next((m.group("indent") for line in block if (m := _KEY_LINE.match(_line_ending(line)[0]))), None)
    if key_indent is None:
        raise SignOffError(f"{path}: the 'ruleset:' block is not a block mapping")

    done: set[str] = set()
    out: list[str] = []
    i = 0
    while i < len(block):
        body, eol = _line_ending(block[i])
        m = _KEY_LINE.match(body)
        if not m or m.group("indent") != key_indent or m.group("key") not in ("status", "sign_off"):
            out.append(block[i])
            i += 1
            continue
        key = m.group("key")
        value, comment = _split_comment(m.group("rest"))
        value = value.strip()
        done.add(key)
        i += 1
        if key == "status":
            out.append(f"{key_indent}status: approved{comment}{eol}")
            continue
        out.append(
            f'{key_indent}sign_off: {{by: {_scalar(name)}, date: "{when.isoformat()}", '
            f'content_sha256: "{content}"}}{comment}{eol}'
        )
        if not value:
            # A block mapping below (by: / date: lines, more indented): replaced by the flow line.
            while i < len(block) and block[i].strip() and len(block[i]) - len(block[i].lstrip(" \t")) > len(key_indent):
                i += 1
        elif value.startswith("{") and "}" not in value:
            # A flow mapping continued on the next lines: up to the line that closes it.
            while i < len(block) and "}" not in block[i]:
                i += 1
            i += 1
    missing = {"status", "sign_off"} - done
    if missing:
        raise SignOffError(f"{path}: the 'ruleset:' block has no {' or '.join(sorted(missing))} line")

    new = "".join(lines[: start + 1] + out + lines[end:]).encode("utf-8")
    _write(path, new)
    try:
        return load_ruleset(path, questionnaire)
    except Exception as exc:
        _write(path, original)
        raise SignOffError(f"{path}: the signed-off file does not load, so it was left unchanged: {exc}") from exc


def _write(path: Path, data: bytes) -> None:
    """Replace the file in one step (a temporary file in the same folder, then rename), keeping its mode."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
