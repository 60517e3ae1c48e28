"""The validator's fault list and common checks, and its checks of the file's examples and translations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from questionnaire.core.checkin import RULES_QUESTIONNAIRE
from questionnaire.core.questions import Questionnaire
from questionnaire.core.rules.catalogue import catalogue_lookup
from questionnaire.core.rules.evaluator import Ruleset
from questionnaire.core.rules.model import EXAMPLE_KEYS, NO_LEVEL, PLACEHOLDER, TRANSLATION_DOMAIN, Level, RuleError
from questionnaire.core.rules.reader import LineMap, line_of
from questionnaire.core.wording import WORDS, banned_wording


class Checks:
    """Collects every fault of a rules file; the checks that are not about the file's structure
    (keys, texts, examples, translations). Validator adds the rest."""

    def __init__(
        self,
        file: str,
        sha256: str,
        qn: Questionnaire,
        *,
        verify_sign_off: bool = True,
        languages: Sequence[str] = (),
        directories: Sequence[Path] = (),
    ) -> None:
        self.file, self.sha256, self.qn = file, sha256, qn
        self.verify_sign_off = verify_sign_off
        self.languages, self.directories = languages, directories
        self.errors: list[RuleError] = []

    def error(self, line: int, rule: str | None, message: str) -> None:
        self.errors.append(RuleError(self.file, line, rule, message))

    def keys(self, obj: Any, allowed: set[str], required: set[str], what: str, rule: str | None = None) -> bool:
        if not isinstance(obj, LineMap):
            self.error(line_of(obj), rule, f"{what} must be a mapping")
            return False
        for key, line in obj.duplicates:
            self.error(line, rule, f"duplicate key {key!r} in {what}")
        for key in obj:
            if key not in allowed:
                self.error(
                    line_of(obj, key), rule, f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})"
                )
        for key in sorted(required - set(obj)):
            self.error(obj.line, rule, f"missing key {key!r} in {what}")
        return True

    def text(self, obj: Mapping[str, Any], key: str, rule: str | None, what: str, patient: bool = False) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            if key in obj:
                self.error(line_of(obj, key), rule, f"{what} must be non-empty text")
            return ""
        if patient:
            banned = banned_wording(value, lang="en")
            if banned:
                self.error(
                    line_of(obj, key),
                    rule,
                    f"{what} uses clearance wording a patient must never read: " + ", ".join(repr(b) for b in banned),
                )
        return value.strip()

    def translated(
        self,
        language: str,
        data: Mapping[str, Any],
        levels: Sequence[Level],
        no_flags: Level,
        messages: Mapping[str, str],
    ) -> None:
        """Every patient-facing text has a translation into `language`, fit for a patient to read."""
        code = language.replace("-", "_")
        lookup = catalogue_lookup(code, self.directories)
        if lookup is None:
            where = ", ".join(str(d) for d in self.directories)
            self.error(
                1,
                None,
                f"no compiled {language!r} catalogue ({code}/LC_MESSAGES/{TRANSLATION_DOMAIN}.mo "
                f"in {where}), so its translations cannot be checked: run `make translations`",
            )
            return
        wording = next((c for c in (code, code.split("_")[0]) if c in WORDS), None)
        if wording is None:
            self.error(
                1,
                None,
                f"questionnaire/core/wording.py has no clearance-wording list for {language!r}, so its "
                "translations cannot be checked",
            )
        raw_levels = [lv for lv in data.get("levels") or () if isinstance(lv, LineMap)]
        raw_no_flags, raw_messages = data.get("no_flags"), data.get("messages")
        texts: list[tuple[int, str | None, str, str]] = []  # line, id for the rule slot, what, msgid
        for lv in levels:
            raw = next((r for r in raw_levels if r.get("id") == lv.id), None)
            texts += [
                (line_of(raw, "title"), None, f"level {lv.id} title", lv.title),
                (line_of(raw, "outcome"), None, f"level {lv.id} outcome", lv.outcome),
            ]
            if lv.same_day is not None and raw is not None:
                texts += [
                    (line_of(raw.get("same_day"), "title"), None, f"level {lv.id} same_day title", lv.same_day.title),
                    (
                        line_of(raw.get("same_day"), "outcome"),
                        None,
                        f"level {lv.id} same_day outcome",
                        lv.same_day.outcome,
                    ),
                ]
        texts += [
            (line_of(raw_no_flags, "title"), None, "no_flags title", no_flags.title),
            (line_of(raw_no_flags, "outcome"), None, "no_flags outcome", no_flags.outcome),
        ]
        texts += [(line_of(raw_messages, key), key, f"message {key}", text) for key, text in messages.items()]
        for line, key, what, msgid in texts:
            if not msgid:
                continue  # reported already as missing or empty
            translation = lookup(msgid)
            if not translation.strip():
                self.error(
                    line,
                    key,
                    f"{what} has no {language!r} translation (a reworded text needs a new one: "
                    "run `make translations` and translate it)",
                )
                continue
            if wording is not None:
                banned = banned_wording(translation, lang=wording)
                if banned:
                    self.error(
                        line,
                        key,
                        f"the {language!r} translation of {what} uses clearance wording a "
                        "patient must never read: " + ", ".join(repr(b) for b in banned),
                    )
            wanted, found = sorted(set(PLACEHOLDER.findall(msgid))), sorted(set(PLACEHOLDER.findall(translation)))
            if wanted != found:
                self.error(
                    line,
                    key,
                    f"the {language!r} translation of {what} must have the placeholders "
                    f"{', '.join(wanted) or 'none'} (it has {', '.join(found) or 'none'})",
                )

    def examples(self, ruleset: Ruleset, examples: Any, base: Any) -> None:
        if base is not None:
            if not isinstance(base, Mapping):
                self.error(line_of(base), None, "example_base must be a mapping of question ids and answers")
                base = {}
            for k in base:
                for p in answer_problems({k: base[k]}, ruleset.questionnaire):
                    self.error(line_of(base, k), None, f"example_base: {p}")
        if examples is None:
            return
        if not isinstance(examples, list):
            self.error(line_of(examples), None, "examples must be a list")
            return
        rule_ids = {r.id for r in ruleset.rules}
        for ex in examples:
            if not self.keys(ex, EXAMPLE_KEYS, {"name", "answers"}, "an example"):
                continue
            name = ex.get("name")
            where = line_of(ex)
            answers = ex.get("answers")
            if isinstance(answers, Mapping):
                problems = [
                    (line_of(answers, k), p)
                    for k in answers
                    for p in answer_problems({k: answers[k]}, ruleset.questionnaire)
                ]
            else:
                problems = [(where, p) for p in answer_problems(answers, ruleset.questionnaire)]
            for line, p in problems:
                self.error(line, None, f"example {name!r}: {p}")
            expect: dict[str, list[Any]] = {k: list(ex.get(k) or []) for k in ("fires", "does_not_fire")}
            for k, ids in expect.items():
                for rid in ids:
                    if rid not in rule_ids:
                        self.error(line_of(ex, k), None, f"example {name!r}: {k} names unknown rule {rid!r}")
            shows: dict[str, list[Any]] = {k: list(ex.get(k) or []) for k in ("shows", "does_not_show")}
            for k, ids in shows.items():
                for mid in ids:
                    if mid not in ruleset.messages:
                        self.error(line_of(ex, k), None, f"example {name!r}: {k} names unknown message {mid!r}")
            level = ex.get("level")
            if level is not None and level != NO_LEVEL and level not in [lv.id for lv in ruleset.levels]:
                self.error(line_of(ex, "level"), None, f"example {name!r}: unknown level {level!r}")
            if problems:
                continue
            result = ruleset.evaluate(example_answers(ex, base or {}))
            shown = set(result.message_ids)
            for mid in shows["shows"]:
                if mid not in shown:
                    self.error(line_of(ex, "shows"), None, f"example {name!r} should show message {mid} but does not")
            for mid in shows["does_not_show"]:
                if mid in shown:
                    self.error(line_of(ex, "does_not_show"), None, f"example {name!r} shows message {mid} but must not")
            fired = set(result.rule_ids)
            for rid in expect["fires"]:
                if rid not in fired:
                    self.error(line_of(ex, "fires"), rid, f"example {name!r} should fire this rule but does not")
            for rid in expect["does_not_fire"]:
                if rid in fired:
                    self.error(line_of(ex, "does_not_fire"), rid, f"example {name!r} fires this rule but must not")
            if level is not None and result.level != level:
                self.error(
                    line_of(ex, "level"), None, f"example {name!r} gives level {result.level!r}, expected {level!r}"
                )


def example_answers(example: Mapping[str, Any], base: Mapping[str, Any]) -> Any:
    """An example's answers on top of the file's example_base (a complete answer set), so that the
    questions an example does not name are answered rather than judged "not sure"; as written
    for an example marked `alone: true` (one about unanswered questions)."""
    answers = example.get("answers")
    if example.get("alone") is True or not isinstance(answers, Mapping) or not isinstance(base, Mapping):
        return answers
    return {**base, **answers}


def answer_problems(answers: Any, qn: Questionnaire = RULES_QUESTIONNAIRE) -> list[str]:
    """Why a mapping of answers is not a valid answer set: unknown ids, impossible values."""
    if not isinstance(answers, Mapping):
        return ["answers must be an object of question ids and answers"]
    problems: list[str] = []
    for qid, value in answers.items():
        q = qn.questions.get(qid)
        if q is None:
            problems.append(f"unknown question id {qid!r}")
            continue
        problem = q.problem(value)
        if problem:
            problems.append(f"{qid}: {problem}")
    return problems
