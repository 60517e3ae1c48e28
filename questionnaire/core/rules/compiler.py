"""The rule set compiled: the rules in dependency order, and an index from answers to the rules they trigger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from questionnaire.core.conditions import Fact, Predicate, compile_condition, is_single_test, trigger_facts
from questionnaire.core.rules.model import Rule
from questionnaire.core.terms import TermList

# What an index hit says: the rules it fires outright, and the numbers of the checks to run.
_Hit = tuple[tuple[str, ...], tuple[int, ...]]
_NO_HIT: _Hit = ((), ())


@dataclass(frozen=True)
class Plan:
    """The compiled rule set: the rules in dependency order, and an index from answers to rules.

    A rule (or a part of an {any: [...]}) that is one test (eq, in, any_of, safety_unanswered)
    fires on an index hit, without a call. Any other rule is checked only when one of its trigger
    facts (conditions.trigger_facts) holds, and then only for what the hit has not shown already;
    a rule that names no trigger facts is checked every time.
    """

    steps: tuple[tuple[str, Predicate], ...]  # every rule, in dependency order
    checks: tuple[tuple[str, Predicate], ...]  # what is left to check of a triggered rule (term)
    value_questions: tuple[str, ...]  # questions tested for a value ...
    value_tables: tuple[dict[Any, _Hit], ...]  # ... and, for each, answer -> hit
    member_tables: tuple[tuple[str, dict[Any, _Hit]], ...]  # multi questions: chosen value -> hit
    present: tuple[tuple[str, _Hit], ...]  # questions whose mere answer is a trigger
    unanswered: _Hit  # what an unanswered safety question triggers
    always: tuple[int, ...]  # checks of rules without trigger facts

    @staticmethod
    def build(order: Sequence[Rule], term_lists: Mapping[str, TermList]) -> Plan:
        index: dict[tuple[str, str], dict[Any, tuple[list[str], list[int]]]] = {}
        always: list[int] = []
        checks: list[tuple[str, Predicate]] = []
        # Checks are numbered in dependency order, so sorting their numbers orders the evaluation.
        for rule in order:
            terms = _terms(rule.when, rule.predicate, term_lists)
            if terms is None:
                always.append(len(checks))
                checks.append((rule.id, rule.predicate))
                continue
            for facts, check in terms:
                if check is not None:
                    checks.append((rule.id, check))
                for kind, qid, value in sorted(facts, key=repr):
                    fires, maybe = index.setdefault((kind, qid), {}).setdefault(value, ([], []))
                    if check is None:
                        fires.append(rule.id)
                    else:
                        maybe.append(len(checks) - 1)
        tables = {
            key: {v: (tuple(dict.fromkeys(f)), tuple(dict.fromkeys(m))) for v, (f, m) in table.items()}
            for key, table in index.items()
        }
        value_keys = [key for key in tables if key[0] == "value"]
        return Plan(
            steps=tuple((r.id, r.predicate) for r in order),
            checks=tuple(checks),
            value_questions=tuple(qid for _kind, qid in value_keys),
            value_tables=tuple(tables[key] for key in value_keys),
            member_tables=tuple((qid, table) for (kind, qid), table in tables.items() if kind == "member"),
            present=tuple((qid, table[None]) for (kind, qid), table in tables.items() if kind == "present"),
            unanswered=tables.get(("unanswered", ""), {}).get(None, _NO_HIT),
            always=tuple(always),
        )


def _terms(
    cond: Mapping[str, Any], predicate: Predicate | None, term_lists: Mapping[str, TermList]
) -> list[tuple[frozenset[Fact], Predicate | None]] | None:
    """A condition as terms, any of which makes it hold: (trigger facts, what is left to check once one holds).

    None when some term names no trigger facts (the rule is then checked every time). A single test
    holds exactly when one of its facts does, so nothing is left to check (None). For {all: [...]}
    with such a test among its parts, that test's facts trigger and the other parts are left;
    {any: [...]} gives the terms of each part. `predicate` is the compiled condition, if at hand.
    """
    if is_single_test(cond):
        return [(trigger_facts(cond) or frozenset(), None)]
    if isinstance(cond.get("any"), list):
        terms: list[tuple[frozenset[Fact], Predicate | None]] = []
        for part in cond["any"]:
            split = _terms(part, None, term_lists)
            if split is None:
                return None
            terms += split
        return terms
    parts = cond["all"] if isinstance(cond.get("all"), list) else []
    tests = [p for p in parts if is_single_test(p)]
    if tests:
        chosen = min(tests, key=lambda p: len(trigger_facts(p) or ()))
        rest = [p for p in parts if p is not chosen]
        if not rest:
            return [(trigger_facts(chosen) or frozenset(), None)]
        check = compile_condition(rest[0] if len(rest) == 1 else {"all": rest}, allow_rules=True, terms=term_lists)
        return [(trigger_facts(chosen) or frozenset(), check)]
    facts = trigger_facts(cond)
    if facts is None:
        return None
    return [(facts, predicate or compile_condition(cond, allow_rules=True, terms=term_lists))]
