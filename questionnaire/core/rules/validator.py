"""Validate a parsed rules file and build its Ruleset: every fault as `FILE:LINE: rule ID: message`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from questionnaire.core.conditions import (
    MULTI_OPS,
    NUMBER_OPS,
    ConditionError,
    Predicate,
    compile_condition,
    references,
    rule_references,
    walk,
)
from questionnaire.core.rules.checks import example_answers
from questionnaire.core.rules.evaluator import Ruleset
from questionnaire.core.rules.front_desk import FrontDeskChecks
from questionnaire.core.rules.model import (
    GRADE,
    LEVEL_KEYS,
    MESSAGE_ENTRY_KEYS,
    MESSAGE_ID,
    NO_FLAGS_KEYS,
    NO_LEVEL,
    OPTIONAL_LEVEL_KEYS,
    OPTIONAL_RULE_KEYS,
    OPTIONAL_TOP_KEYS,
    OUTCOME_KEYS,
    PLACEHOLDER,
    RULE_KEYS,
    RULESET_KEYS,
    SIGN_OFF_KEYS,
    STATUSES,
    TERMS_PLACEHOLDER,
    TOP_KEYS,
    Level,
    Rule,
    RulesFileError,
)
from questionnaire.core.rules.reader import LineMap, content_sha256, line_of
from questionnaire.core.rules.term_lists import TermListChecks
from questionnaire.core.terms import TermList


class Validator(FrontDeskChecks, TermListChecks):
    """Checks a parsed rules file against itself and the questionnaire; run() gives the Ruleset or
    raises RulesFileError with every fault found."""

    def run(self, data: Any) -> Ruleset:
        if not self.keys(data, TOP_KEYS, TOP_KEYS - OPTIONAL_TOP_KEYS, "the rules file"):
            raise RulesFileError(self.errors)
        meta = self.ruleset(data.get("ruleset"))
        content = content_sha256(data)
        if self.verify_sign_off:
            self.signed_content(data.get("ruleset"), meta, content)
        levels = self.levels(data.get("levels"))
        no_flags = self.no_flags(data.get("no_flags"))
        self.labels_apart(data.get("levels"), data.get("no_flags"))
        messages = self.named_texts(data.get("messages"), "messages", patient=True, pattern=MESSAGE_ID)
        sources = self.named_texts(data.get("sources"), "sources", patient=False, pattern=None)
        self.level_messages(data.get("levels"), levels, messages)
        term_lists = self.term_lists(data.get("term_lists"), sources)
        rules = self.rules(data.get("rules"), {lv.id: lv for lv in levels}, messages, sources, term_lists)
        order = self.order(rules, data.get("rules"))
        for language in self.languages:
            self.translated(language, data, levels, no_flags, messages)
        base = data.get("example_base") or {}
        examples = tuple(
            {**ex, "answers": example_answers(ex, base)} for ex in data.get("examples") or () if isinstance(ex, Mapping)
        )
        if self.errors:
            raise RulesFileError(self.errors)
        ruleset = Ruleset(
            self.file,
            meta["name"],
            meta["version"],
            meta["status"],
            meta["by"],
            meta["date"],
            self.sha256,
            tuple(levels),
            no_flags,
            messages,
            sources,
            tuple(rules),
            examples,
            tuple(order),
            self.qn,
            content,
            meta["content_sha256"],
            term_lists,
        )
        self.examples(ruleset, data.get("examples"), data.get("example_base"))
        if self.errors:
            raise RulesFileError(self.errors)
        return ruleset

    def ruleset(self, meta: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": "",
            "version": "",
            "status": "draft",
            "by": None,
            "date": None,
            "content_sha256": None,
        }
        if meta is None or not self.keys(meta, RULESET_KEYS, RULESET_KEYS, "ruleset"):
            return out
        out["name"] = self.text(meta, "name", None, "ruleset name")
        version = meta.get("version")
        if not isinstance(version, (str, int, float)) or isinstance(version, bool) or not str(version).strip():
            self.error(line_of(meta, "version"), None, 'ruleset version must be text such as "2026.11.0"')
        out["version"] = str(version)
        if meta.get("status") not in STATUSES:
            self.error(line_of(meta, "status"), None, f"ruleset status must be one of {', '.join(STATUSES)}")
        out["status"] = meta.get("status")
        sign_off = meta.get("sign_off")
        if self.keys(sign_off, SIGN_OFF_KEYS, {"by", "date"}, "sign_off"):
            out["by"] = sign_off.get("by") or None
            out["date"] = str(sign_off["date"]) if sign_off.get("date") else None
            if out["status"] == "approved" and not (out["by"] and out["date"]):
                self.error(
                    line_of(meta, "sign_off"), None, "an approved rule set needs a sign-off by someone, with a date"
                )
            recorded = sign_off.get("content_sha256")
            if recorded is not None and not (isinstance(recorded, str) and re.fullmatch(r"[0-9a-f]{64}", recorded)):
                self.error(
                    line_of(sign_off, "content_sha256"),
                    None,
                    "sign_off content_sha256 must be 64 lowercase hex digits (written by `flask rules sign-off`)",
                )
            elif recorded is not None:
                out["content_sha256"] = recorded
        return out

    def signed_content(self, meta: Any, out: Mapping[str, Any], content: str) -> None:
        """An approved rule set is approved for the content its sign-off recorded, and no other."""
        if out["status"] != "approved" or not (out["by"] and out["date"]) or not isinstance(meta, LineMap):
            return  # not approved, or already reported as an approval without a sign-off
        recorded = out["content_sha256"]
        if recorded == content:
            return
        who = f"the sign-off by {out['by']} on {out['date']}"
        remedy = (
            "a clinician must sign off again (`flask rules sign-off --by NAME`), or the status be set back to draft"
        )
        if recorded is None:
            reason = (
                f"the rules may have changed after {who}: it records no content_sha256 of the rules it "
                f"approved; {remedy}"
            )
        else:
            reason = (
                f"the rules changed after {who} (content sha256 now {content[:12]}, signed off "
                f"{recorded[:12]}); {remedy}"
            )
        self.error(line_of(meta, "sign_off"), None, reason)

    def levels(self, levels: Any) -> list[Level]:
        out: list[Level] = []
        if not isinstance(levels, list) or not levels:
            self.error(line_of(levels), None, "levels must be a non-empty list, highest first")
            return out
        for _i, lv in enumerate(levels):
            if not self.keys(lv, LEVEL_KEYS | OPTIONAL_LEVEL_KEYS, LEVEL_KEYS, "a level"):
                continue
            level_id = lv.get("id")
            if not isinstance(level_id, str) or not re.match(r"^[a-z_]+$", level_id) or level_id == NO_LEVEL:
                self.error(line_of(lv, "id"), None, f"level id {level_id!r} must be snake_case and not {NO_LEVEL!r}")
                continue
            if level_id in {o.id for o in out}:
                self.error(line_of(lv, "id"), None, f"duplicate level {level_id!r}")
            for flag in ("holds_booking", "stops_form"):
                if not isinstance(lv.get(flag), bool):
                    self.error(line_of(lv, flag), None, f"level {level_id}: {flag} must be true or false")
            label = self.level_label(lv, f"level {level_id}")
            same_day = None
            if "same_day" in lv and self.keys(lv["same_day"], OUTCOME_KEYS, OUTCOME_KEYS, f"level {level_id} same_day"):
                raw = lv["same_day"]
                same_day = Level(
                    level_id,
                    self.text(raw, "title", None, f"level {level_id} same_day title", True),
                    self.text(raw, "outcome", None, f"level {level_id} same_day outcome", True),
                    lv.get("holds_booking") is True,
                    lv.get("stops_form") is True,
                    label=label,
                )
            message = lv.get("message")
            out.append(
                Level(
                    level_id,
                    self.text(lv, "title", None, f"level {level_id} title", True),
                    self.text(lv, "outcome", None, f"level {level_id} outcome", True),
                    lv.get("holds_booking") is True,
                    lv.get("stops_form") is True,
                    message if isinstance(message, str) else None,
                    same_day,
                    self.level_desk(lv, f"level {level_id}"),
                    label,
                )
            )
        return out

    def level_messages(self, raw: Any, levels: Sequence[Level], messages: Mapping[str, str]) -> None:
        """A level's `message` names a message of the file."""
        for lv in raw if isinstance(raw, list) else ():
            if isinstance(lv, LineMap) and "message" in lv and lv["message"] not in messages:
                self.error(line_of(lv, "message"), None, f"level {lv.get('id')}: unknown message {lv['message']!r}")

    def no_flags(self, obj: Any) -> Level:
        if obj is None or not self.keys(obj, NO_FLAGS_KEYS, NO_FLAGS_KEYS, "no_flags"):
            return Level(NO_LEVEL, "", "", False, False)
        return Level(
            NO_LEVEL,
            self.text(obj, "title", None, "no_flags title", True),
            self.text(obj, "outcome", None, "no_flags outcome", True),
            False,
            False,
            front_desk=self.level_desk(obj, "no_flags"),
            label=self.level_label(obj, "no_flags"),
        )

    def named_texts(self, obj: Any, what: str, patient: bool, pattern: re.Pattern[str] | None) -> dict[str, str]:
        out: dict[str, str] = {}
        if obj is None or not self.keys(obj, set(obj or ()), set(), what):
            return out
        for key in obj:
            if pattern is not None and not (isinstance(key, str) and pattern.match(key)):
                self.error(line_of(obj, key), None, f"{what} id {key!r} must look like MSG_SOMETHING")
            out[str(key)] = self.text(obj, key, None, f"{what} {key}", patient)
        return out

    def rules(
        self,
        rules: Any,
        levels: Mapping[str, Level],
        messages: Mapping[str, str],
        sources: Mapping[str, str],
        term_lists: Mapping[str, TermList],
    ) -> list[Rule]:
        out: list[Rule] = []
        if not isinstance(rules, list) or not rules:
            self.error(line_of(rules), None, "rules must be a non-empty list")
            return out
        seen: set[str] = set()
        for item in rules:
            rid = item.get("id") if isinstance(item, LineMap) else None
            rid = rid if isinstance(rid, str) else None
            if not self.keys(item, RULE_KEYS | OPTIONAL_RULE_KEYS, RULE_KEYS, "a rule", rid):
                continue
            if rid is None or not re.match(r"^r_[a-z0-9_]+$", rid):
                self.error(line_of(item, "id"), rid, f"rule id {item.get('id')!r} must look like r_something")
                continue
            if rid in seen:
                self.error(line_of(item, "id"), rid, "duplicate rule id")
            seen.add(rid)
            # A missing key is reported once, by keys() above, not again as a bad value.
            level = item.get("level")
            if "level" in item and level not in levels:
                self.error(
                    line_of(item, "level"), rid, f"unknown level {level!r} (levels: {', '.join(sorted(levels))})"
                )
            entries = item.get("patient_message")
            if not isinstance(entries, list) or not entries:
                if "patient_message" in item:
                    self.error(line_of(item, "patient_message"), rid, "patient_message must be a list of message ids")
                entries = []
            same_day = item.get("same_day", False)
            if not isinstance(same_day, bool):
                self.error(line_of(item, "same_day"), rid, "same_day must be true or false")
            elif same_day and level in levels and levels[level].same_day is None:
                self.error(line_of(item, "same_day"), rid, f"level {level} has no same_day title and outcome")
            msg_ids, conditions, checks, msg_questions = self.patient_messages(entries, rid, messages, term_lists)
            srcs = item.get("sources")
            if not isinstance(srcs, list):
                if "sources" in item:
                    self.error(line_of(item, "sources"), rid, "sources must be a list of source ids")
                srcs = []
            for j, s in enumerate(srcs):
                if str(s) not in sources:
                    self.error(line_of(srcs, j), rid, f"unknown source {s!r}")
            evidence = str(item.get("evidence", ""))
            if "evidence" in item and not GRADE.match(evidence):
                self.error(
                    line_of(item, "evidence"), rid, f"evidence {evidence!r} must be a grade A, B, C, D or X (or B/C)"
                )
            staff_note = self.text(item, "staff_note", rid, "staff_note")
            title, desk = self.rule_desk(item, rid)
            term_tests = tuple(
                (
                    sub["q"],
                    tuple(
                        term_lists[n]
                        for n in ([sub["mentions"]] if isinstance(sub["mentions"], str) else sub["mentions"])
                        if n in term_lists
                    ),
                )
                for sub in walk(item.get("when"))
                if "q" in sub and "mentions" in sub
            )
            for placeholder in sorted(set(PLACEHOLDER.findall(staff_note))):
                if placeholder != TERMS_PLACEHOLDER:
                    self.error(
                        line_of(item, "staff_note"),
                        rid,
                        f"staff_note: unknown placeholder {placeholder} "
                        f"(the only one is {TERMS_PLACEHOLDER}, the terms a `mentions` test found)",
                    )
                elif not term_tests:
                    self.error(
                        line_of(item, "staff_note"),
                        rid,
                        f"staff_note uses {TERMS_PLACEHOLDER}, but the "
                        "rule's condition has no `mentions` test to find terms",
                    )
            predicate = self.condition(item, rid, term_lists) if "when" in item else None
            if predicate is None:
                continue
            if checks is None:
                continue
            questions = tuple(dict.fromkeys([ref.question for ref in references(item["when"])] + msg_questions))
            conditional = any(c is not None for c in conditions)
            out.append(
                Rule(
                    rid,
                    str(level),
                    item["when"],
                    tuple(msg_ids),
                    staff_note,
                    tuple(map(str, srcs)),
                    evidence,
                    questions,
                    predicate,
                    tuple(conditions) if conditional else (),
                    tuple(checks) if conditional else (),
                    same_day is True,
                    term_tests,
                    title,
                    desk,
                )
            )
        return out

    def patient_messages(
        self, entries: list[Any], rid: str, messages: Mapping[str, str], term_lists: Mapping[str, TermList]
    ) -> tuple[list[str], list[Mapping[str, Any] | None], list[Predicate | None] | None, list[str]]:
        """A rule's patient_message list: message ids, and {id: MSG_X, when: CONDITION} entries shown
        only when their condition holds. Returns the ids, their conditions (None: always), the
        compiled conditions (None instead of the list if one is faulty) and the questions they test."""
        ids: list[str] = []
        conditions: list[Mapping[str, Any] | None] = []
        checks: list[Predicate | None] | None = []
        questions: list[str] = []
        for j, entry in enumerate(entries):
            line = line_of(entries, j)
            when: Mapping[str, Any] | None = None
            if isinstance(entry, Mapping):
                if not self.keys(
                    entry, MESSAGE_ENTRY_KEYS, MESSAGE_ENTRY_KEYS, "a patient_message entry", rid
                ) or not MESSAGE_ENTRY_KEYS <= set(entry):
                    checks = None  # a missing key is reported once, by keys()
                    continue
                message, when = entry.get("id"), entry.get("when")
            else:
                message = entry
            if not isinstance(message, str) or message not in messages:
                self.error(line, rid, f"unknown message {message!r}")
            ids.append(str(message))
            conditions.append(when)
            if when is None:
                if checks is not None:
                    checks.append(None)
                continue
            check = self.check_condition(
                when, line_of(entry, "when", line), rid, f"message {message} condition", term_lists
            )
            if check is None:
                checks = None
            elif checks is not None:
                checks.append(check)
            questions += [ref.question for ref in references(when)]
        return ids, conditions, checks, questions

    def condition(self, item: LineMap, rid: str, term_lists: Mapping[str, TermList]) -> Predicate | None:
        return self.check_condition(item.get("when"), line_of(item, "when"), rid, "condition", term_lists)

    def check_condition(
        self, when: Any, line: int, rid: str, what: str, term_lists: Mapping[str, TermList]
    ) -> Predicate | None:
        """Compile a condition (of a rule, or of one of its messages) and check every question,
        operator and value it names against the questionnaire; None if anything is wrong."""
        try:
            predicate = compile_condition(when, allow_rules=True, terms=term_lists)
        except ConditionError as exc:
            self.error(line, rid, f"{what} {exc}")
            return None
        ok = True
        # Report each fault on the line of the question test that has it, not on `when:`.
        refs = [(line_of(sub, default=line), ref) for sub in walk(when) if "q" in sub for ref in references(sub)]
        for at, ref in refs:
            q = self.qn.questions.get(ref.question)
            if q is None:
                self.error(at, rid, f"unknown question {ref.question!r}")
                ok = False
                continue
            problem = _operator_problem(q.kind, ref.op)
            if q.means_all and ref.op in ("answered", "unanswered"):
                problem = (
                    f"'{ref.op}' cannot tell here: a shown {ref.question} left unanswered counts as "
                    f"{q.means_all!r}, every choice (use {{safety_unanswered: true}} for unanswered questions)"
                )
            elif q.unanswered_reads_as is not None and ref.op in ("answered", "unanswered"):
                problem = (
                    f"'{ref.op}' cannot tell here: a shown {ref.question} left unanswered counts as "
                    "'not_sure' (test not_sure; {safety_unanswered: true} finds unanswered questions)"
                )
            if problem:
                self.error(at, rid, f"{ref.question}: {problem}")
                ok = False
            elif ref.op in ("eq", "in") + MULTI_OPS:
                for v in ref.values:
                    if v not in q.values:
                        self.error(
                            at, rid, f"{ref.question} cannot take the value {v!r} (it takes {', '.join(q.values)})"
                        )
                        ok = False
        return predicate if ok else None

    def order(self, rules: list[Rule], raw: Any) -> list[Rule]:
        """Rules in dependency order; report unknown references and cycles."""
        by_id = {r.id: r for r in rules}
        lines = {it.get("id"): line_of(it, "when") for it in raw or [] if isinstance(it, LineMap)}
        deps: dict[str, list[str]] = {}
        for r in rules:
            deps[r.id] = []
            for ref in rule_references(r.when):
                if ref not in by_id:
                    self.error(lines.get(r.id, 1), r.id, f"refers to unknown rule {ref!r}")
                else:
                    deps[r.id].append(ref)
            # A message condition is evaluated once every rule has been: it may name any rule.
            for message, cond in zip(r.patient_message, r.message_conditions):
                for ref in rule_references(cond):
                    if ref not in by_id:
                        self.error(
                            line_of(cond, default=lines.get(r.id, 1)),
                            r.id,
                            f"message {message} condition refers to unknown rule {ref!r}",
                        )
        ordered: list[Rule] = []
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(rid: str, trail: list[str]) -> None:
            if state.get(rid) == 2:
                return
            if state.get(rid) == 1:
                cycle = trail[trail.index(rid) :] + [rid]
                self.error(lines.get(rid, 1), rid, "rule cycle: " + " -> ".join(cycle))
                return
            state[rid] = 1
            for d in deps[rid]:
                visit(d, trail + [rid])
            state[rid] = 2
            ordered.append(by_id[rid])

        for r in rules:
            visit(r.id, [])
        return ordered


def _operator_problem(kind: str, op: str) -> str | None:
    if op in MULTI_OPS and kind != "multi":
        return f"'{op}' is for questions that take several answers; this one is {kind}"
    if op in ("eq", "in") and kind in ("multi", "text"):
        return f"'{op}' does not apply to a {kind} question (use any_of / all_of / none_of, or nonempty)"
    if op in NUMBER_OPS and kind != "int":
        return f"'{op}' compares numbers; this question is {kind}"
    if op in ("nonempty", "mentions", "only_says") and kind != "text":
        return f"'{op}' is for text questions; this one is {kind}"
    return None
