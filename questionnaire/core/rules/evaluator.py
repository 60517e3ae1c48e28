"""The loaded rule set: what the rules see of the answers ('unanswered is judged not sure'), which fire, the level."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from questionnaire.core import flow
from questionnaire.core.questions import Questionnaire
from questionnaire.core.rules.compiler import Plan
from questionnaire.core.rules.model import NO_LEVEL, TERMS_PLACEHOLDER, Assessment, FiredRule, Level, Rule
from questionnaire.core.terms import TermList

_LISTS = (list, tuple, frozenset, set)


@dataclass(frozen=True)
class Ruleset:
    path: str
    name: str
    version: str
    status: str
    sign_off_by: str | None
    sign_off_date: str | None
    sha256: str
    levels: tuple[Level, ...]
    no_flags: Level
    messages: Mapping[str, str]
    sources: Mapping[str, str]
    rules: tuple[Rule, ...]
    examples: tuple[Mapping[str, Any], ...]
    order: tuple[Rule, ...]  # dependency order: referenced rules first
    questionnaire: Questionnaire = field(repr=False, compare=False)
    plan: Plan = field(init=False, repr=False, compare=False)
    # content_sha256(): what a sign-off approves; and the one the sign-off recorded (None: none).
    content_sha256: str = ""
    signed_content_sha256: str | None = None
    term_lists: Mapping[str, TermList] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", Plan.build(self.order, self.term_lists))

    @property
    def signed_off(self) -> bool:
        """Approved, by someone, and for exactly the rules in the file (the recorded content hash matches)."""
        return (
            self.status == "approved"
            and bool(self.sign_off_by)
            and bool(self.content_sha256)
            and self.signed_content_sha256 == self.content_sha256
        )

    def level(self, level_id: str) -> Level:
        if level_id == NO_LEVEL:
            return self.no_flags
        return next(lv for lv in self.levels if lv.id == level_id)

    @property
    def every_level(self) -> tuple[Level, ...]:
        """The levels, highest first, then no flags (id NO_LEVEL): the staff queue's order."""
        return (*self.levels, self.no_flags)

    def level_label(self, level_id: str) -> str:
        """A level's label on the staff pages ("Urgent"; no_flags' label for NO_LEVEL); the id in words
        for a level no longer in the rule set (an older submission's, or a candidate's in a replay)."""
        label = next((lv.label for lv in self.every_level if lv.id == level_id), None)
        return label or level_id.replace("_", " ").capitalize()

    def rank(self, level_id: str) -> int:
        """0 for the highest level; len(levels) for no flags. Lower sorts first in the staff queue."""
        ids = [lv.id for lv in self.levels]
        return ids.index(level_id) if level_id in ids else len(ids)

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def fire(self, answers: Mapping[str, Any], unanswered: frozenset[str] = frozenset()) -> dict[str, bool]:
        """Run the compiled rules on already visible answers; the rules that fired, by id.

        The answers are looked up in the plan's index first (in C: map and filter over dicts), so
        only the rules an answer can trigger are evaluated, in dependency order. The result is
        fire_each()'s; a property test holds the two to it.
        """
        plan = self.plan
        try:
            hits = list(filter(None, map(dict.get, plan.value_tables, map(answers.get, plan.value_questions))))
            get = answers.get
            for qid, table in plan.member_tables:
                value = get(qid)
                if isinstance(value, _LISTS):
                    hits += filter(None, map(table.get, value))
        except TypeError:  # an unhashable answer where a single value belongs: test every rule instead
            return self.fire_each(answers, unanswered)
        for qid, hit in plan.present:
            if get(qid) is not None:
                hits.append(hit)
        if unanswered:
            hits.append(plan.unanswered)
        results: dict[str, bool] = {}
        todo = list(plan.always)
        for fires, candidates in hits:
            for rule_id in fires:
                results[rule_id] = True
            todo += candidates
        if todo:
            todo.sort()  # dependency order; a check may be named twice
            checks, last = plan.checks, -1
            for number in todo:
                if number != last:
                    rule_id, check = checks[number]
                    if rule_id not in results and check(answers, results, unanswered):
                        results[rule_id] = True
                    last = number
        return results

    def fire_each(self, answers: Mapping[str, Any], unanswered: frozenset[str] = frozenset()) -> dict[str, bool]:
        """Evaluate every compiled rule in dependency order, without the index; the rules that fired, by id."""
        results: dict[str, bool] = {}
        for rule_id, predicate in self.plan.steps:
            if predicate(answers, results, unanswered):
                results[rule_id] = True
        return results

    def prepare(
        self, answers: Mapping[str, Any], upto: str | None = None, route: flow.Route | None = None
    ) -> tuple[Mapping[str, Any], Mapping[str, Any], frozenset[str]]:
        """What the rules see of a patient's answers: (the answers the patient gave to questions they
        were shown; those answers as fire() reads them, with unanswered questions that offer "Not
        sure" judged "not_sure" and "not sure" about the treatment read as every route; the shown
        safety questions left unanswered). `route`: flow.route(answers), when the caller has it."""
        qn = self.questionnaire
        route = route if route is not None else flow.route(answers, qn)
        visible = route.visible
        unanswered = frozenset(route.unanswered_safety(qn, upto=upto))
        judged, unanswered = _judged_as_not_sure(visible, qn, unanswered, upto)
        given = {k: v for k, v in judged.items() if k not in unanswered}
        return given, _expand_means_all(judged, qn, unanswered), unanswered

    def evaluate(
        self, answers: Mapping[str, Any], upto: str | None = None, route: flow.Route | None = None
    ) -> Assessment:
        """Judge a patient's answers: only shown questions count; unanswered never counts as No.

        With `upto`, questions on pages after that one are not counted as unanswered (a form
        stopped early by an urgent answer). `route`: flow.route(answers), when the caller has it
        (one walk of the questionnaire per request).
        """
        given, expanded, unanswered = self.prepare(answers, upto, route)
        results = self.fire(expanded, unanswered)
        fired: list[FiredRule] = []
        for rule in self.rules:
            if rule.id not in results:
                continue
            looked_at = rule.questions or tuple(sorted(unanswered))
            triggers = {q: given.get(q) for q in looked_at if q in given or q in unanswered}
            terms = rule.found_terms(given) if rule.term_tests else ()
            note = rule.staff_note.replace(TERMS_PLACEHOLDER, ", ".join(terms)) if rule.term_tests else rule.staff_note
            fired.append(
                FiredRule(
                    rule.id,
                    rule.level,
                    rule.shown_messages(expanded, results, unanswered),
                    note,
                    rule.sources,
                    rule.evidence,
                    triggers,
                    terms,
                    rule.same_day,
                )
            )
        level = min((f.level for f in fired), key=self.rank, default=NO_LEVEL)
        return Assessment(level, tuple(fired), self.version, self.sha256)


def _judged_as_not_sure(
    visible: Mapping[str, Any], qn: Questionnaire, unanswered: frozenset[str], upto: str | None
) -> tuple[Mapping[str, Any], frozenset[str]]:
    """The answers as the rules judge them, and every shown question left unanswered.

    A shown question that offers "Not sure" and was left unanswered is judged as "Not sure"
    (clinical-content.md R2): in this one place, so that no rule can read no answer as "No", and
    no rule that needs an answer ("stable", "controlled") fires for an answer nobody gave. The
    answers are then walked again as if the patient had chosen "Not sure" there: a gate judged so
    shows its follow-ups (R1), and those left unanswered are judged the same way, until nothing
    more is shown. Answers to questions the patient was not shown stay dropped, as always.
    """
    judged, fills = visible, {}
    while True:
        new = {
            qid: reading
            for qid in unanswered
            if qid not in fills
            and qid in qn.questions
            and (reading := qn.questions[qid].unanswered_reads_as) is not None
        }
        if not new:
            return judged, unanswered
        fills.update({qid: list(v) if isinstance(v, tuple) else v for qid, v in new.items()})
        judged = flow.visible_answers({**visible, **fills}, qn)
        unanswered |= frozenset(flow.unanswered_safety(judged, qn, upto=upto))


def _expand_means_all(
    answers: Mapping[str, Any], qn: Questionnaire, unanswered: frozenset[str] = frozenset()
) -> Mapping[str, Any]:
    """`not_sure` in treatment_types counts as every route: give the rules every value. A shown
    treatment_types left unanswered counts the same (unanswered never counts as "No", so it must
    not read as "none of these routes" either)."""
    expanded: dict[str, Any] | None = None
    for q in qn.questions.values():
        if not q.means_all:
            continue
        value = answers.get(q.id)
        if (isinstance(value, list) and q.means_all in value) or q.id in unanswered:
            expanded = expanded or dict(answers)
            expanded[q.id] = list(q.values)
    return expanded if expanded is not None else answers
