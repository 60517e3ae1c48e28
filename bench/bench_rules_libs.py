#!/usr/bin/env python3
"""Context benchmark: our compiled rule set against json-logic and rule-engine on the same rules.

    .venv/bin/python bench/bench_rules_libs.py           # full run (about a minute)
    .venv/bin/python bench/bench_rules_libs.py --quick   # smoke run (a few seconds)

ALL the rules of rules/contraindications.yaml (not a subset) are translated mechanically from
their conditions (`Rule.when`, the condition language of questionnaire/core/conditions.py) into
  - JsonLogic, evaluated by `json-logic-qubit` (import name json_logic), and
  - rule-engine expressions (`rule-engine`, compiled once into Rule objects),
both dev-only dependencies (setup.cfg, extras "dev"). Neither library can refer to another rule's
result or to "a shown safety question is unanswered", so the driver does what Ruleset.fire does:
it evaluates the rules in dependency order (Ruleset.order) and passes the results so far, and
whether any safety question is unanswered, as extra variables. Neither knows the term lists of
`mentions` and `only_says` (whole words, case and accents folded): both call the rules file's
term lists (rs.term_lists, TermList.found / says_only) from a custom JsonLogic operation
(`mentions`, `only_says`, registered with json_logic.add_operation) and from functions of the
same names passed in rule-engine's data.

Before timing, the three (and the hand-written rules of bench/bench_rules.py, generated from the
rules file) must fire exactly the same rules on the personas of bench_rules.py, every example of
the rules file and seeded random answer sets; any difference is an error (exit 1). Timing: the
four ways in alternating rounds on the same prepared answer sets (Ruleset.prepare, as fire() reads
them); the median over rounds of the best of short batches. Ratios (each library's rate / the
compiled rule set's rate) are printed last.
There is no target: this is context for issue 2's compiled-vs-hand-written target.
"""

from __future__ import annotations

import random
import statistics
import sys
from collections.abc import Callable, Mapping
from typing import Any

import _common as c
import bench_rules as br  # noqa: E402  (bench/ is on sys.path: the script's own folder)

from questionnaire.core.conditions import QUESTION_OPS  # noqa: E402
from questionnaire.core.definition import QUESTIONNAIRE  # noqa: E402
from questionnaire.core.rules import Ruleset, load_ruleset  # noqa: E402

UNANSWERED_VAR = "any_safety_unanswered"
RULE_PREFIX = "fired_"
MENTIONS, ONLY_SAYS = "mentions", "only_says"  # the custom operation / function calling a term list


def _list_names(arg: Any) -> list[str]:
    return list(arg) if isinstance(arg, list) else [arg]


def term_functions(rs: Ruleset) -> dict[str, Callable[..., bool]]:
    """mentions(text, list name, ...) and only_says(text, list name), over the rules file's term lists."""
    lists = rs.term_lists

    def mentions(text: Any, *names: str) -> bool:
        return any(lists[name].found(text) for name in names)

    def only_says(text: Any, name: str) -> bool:
        return lists[name].says_only(text)

    return {MENTIONS: mentions, ONLY_SAYS: only_says}


# --- translation to JsonLogic ------------------------------------------------------------------------


def to_jsonlogic(cond: Mapping[str, Any]) -> Any:
    if "all" in cond:
        return {"and": [to_jsonlogic(x) for x in cond["all"]]}
    if "any" in cond:
        return {"or": [to_jsonlogic(x) for x in cond["any"]]}
    if "not" in cond:
        return {"!": [to_jsonlogic(cond["not"])]}
    if "rule" in cond:
        return {"var": [RULE_PREFIX + cond["rule"], False]}
    if "safety_unanswered" in cond:
        return {"var": [UNANSWERED_VAR, False]}
    qid = cond["q"]
    (op,) = [k for k in cond if k in QUESTION_OPS]
    arg = cond[op]
    var = {"var": qid}
    if op == "eq":
        return {"===": [var, arg]}
    if op == "in":
        return {"in": [var, list(arg)]}
    if op == "any_of":  # a multi answer is a list: "in" is membership of the list
        return {"or": [{"in": [v, var]} for v in arg]}
    if op == "all_of":
        return {"and": [{"in": [v, var]} for v in arg]}
    if op == "none_of":  # needs an answer: no answer is never "none of these"
        return {"and": [{"!!": [var]}, {"!": [{"or": [{"in": [v, var]} for v in arg]}]}]}
    if op in ("lt", "le", "gt", "ge"):
        return {{"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]: [var, arg]}
    if op == "answered":
        return {"!=": [var, None]} if QUESTIONNAIRE.questions[qid].kind == "int" else {"!!": [var]}
    if op == "unanswered":
        return {"==": [var, None]} if QUESTIONNAIRE.questions[qid].kind == "int" else {"!": [var]}
    if op == "nonempty":
        return {"!!": [var]}
    if op == "mentions":  # custom operations (jsonlogic_runner): a term list's found() / says_only()
        return {MENTIONS: [var, *_list_names(arg)]}
    if op == "only_says":
        return {ONLY_SAYS: [var, arg]}
    raise ValueError(f"no JsonLogic for {cond}")


# --- translation to rule-engine ---------------------------------------------------------------------


def _lit(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def to_rule_engine(cond: Mapping[str, Any]) -> str:
    if "all" in cond:
        return "(" + " and ".join(to_rule_engine(x) for x in cond["all"]) + ")"
    if "any" in cond:
        return "(" + " or ".join(to_rule_engine(x) for x in cond["any"]) + ")"
    if "not" in cond:
        return f"(not {to_rule_engine(cond['not'])})"
    if "rule" in cond:
        return RULE_PREFIX + cond["rule"]
    if "safety_unanswered" in cond:
        return UNANSWERED_VAR
    qid = cond["q"]
    (op,) = [k for k in cond if k in QUESTION_OPS]
    arg = cond[op]
    if op == "eq":
        return f"{qid} == {_lit(arg)}"
    if op == "in":
        return f"{qid} in [{', '.join(map(_lit, arg))}]"
    if op in ("any_of", "all_of", "none_of"):
        joined = (" or " if op != "all_of" else " and ").join(f"{_lit(v)} in {qid}" for v in arg)
        if op == "none_of":
            return f"({qid} != null and {qid}.length > 0 and not ({joined}))"
        return f"({qid} != null and ({joined}))"
    if op in ("lt", "le", "gt", "ge"):
        symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
        return f"({qid} != null and {qid} {symbol} {arg})"
    if op == "answered":
        return f"({qid} != null and {qid} != '' and {qid} != [])"
    if op == "unanswered":
        return f"({qid} == null or {qid} == '' or {qid} == [])"
    if op == "nonempty":
        return f"({qid} != null and {qid} != '')"
    if op == "mentions":  # functions in the data (rule_engine_runner): a term list's found() / says_only()
        return "(" + " or ".join(f"{MENTIONS}({qid}, {_lit(name)})" for name in _list_names(arg)) + ")"
    if op == "only_says":
        return f"{ONLY_SAYS}({qid}, {_lit(arg)})"
    raise ValueError(f"no rule-engine expression for {cond}")


# --- the drivers ---------------------------------------------------------------------------------


def jsonlogic_runner(rs: Ruleset) -> Callable[[Mapping[str, Any], frozenset[str]], list[str]]:
    from json_logic import add_operation, jsonLogic

    for name, fn in term_functions(rs).items():
        add_operation(name, fn)
    compiled = [(rule.id, to_jsonlogic(rule.when)) for rule in rs.order]

    def run(answers: Mapping[str, Any], unanswered: frozenset[str]) -> list[str]:
        data = dict(answers)
        data[UNANSWERED_VAR] = bool(unanswered)
        fired = []
        for rule_id, logic in compiled:
            if jsonLogic(logic, data):
                data[RULE_PREFIX + rule_id] = True
                fired.append(rule_id)
        return fired

    return run


def rule_engine_runner(rs: Ruleset) -> Callable[[Mapping[str, Any], frozenset[str]], list[str]]:
    import rule_engine

    context = rule_engine.Context(default_value=None)
    compiled = [(rule.id, rule_engine.Rule(to_rule_engine(rule.when), context=context)) for rule in rs.order]
    # Every symbol present (None / False): a symbol missing from the data costs rule-engine a
    # spelling-suggestion search before it falls back to the context's default.
    base: dict[str, Any] = {q: None for q in QUESTIONNAIRE.questions}
    base.update({RULE_PREFIX + rule.id: False for rule in rs.rules})
    base.update(term_functions(rs))

    def run(answers: Mapping[str, Any], unanswered: frozenset[str]) -> list[str]:
        data = base.copy()
        data.update(answers)
        data[UNANSWERED_VAR] = bool(unanswered)
        fired = []
        for rule_id, rule in compiled:
            if rule.matches(data):
                data[RULE_PREFIX + rule_id] = True
                fired.append(rule_id)
        return fired

    return run


def main(argv: list[str] | None = None) -> int:
    parser = c.parser(__doc__, targets=False)
    args = parser.parse_args(argv)
    rounds, batches, random_sets = (2, 3, 100) if args.quick else (9, 30, 2000)
    failures = c.Failures()
    print(c.machine_summary())
    try:
        import json_logic  # noqa: F401
        import rule_engine
    except ImportError as exc:
        failures.error(f"{exc.name} is not installed: pip install -e '.[dev]' (json-logic-qubit, rule-engine)")
        return failures.exit_code()

    rs = load_ruleset()
    ways: dict[str, Callable[[Mapping[str, Any], frozenset[str]], Any]] = {
        "compiled": lambda a, u: rs.fire(a, u),
        "hand-written": br.make_hand_fire(rs),
        "json-logic": jsonlogic_runner(rs),
        "rule-engine": rule_engine_runner(rs),
    }
    print(
        f"{len(rs.rules)} rules translated to JsonLogic and to rule-engine (all of them); "
        f"rule-engine {rule_engine.__version__}"
    )

    rng = random.Random(20261129)
    q_list = list(QUESTIONNAIRE.questions.values())
    answer_sets = list(br.PERSONAS.items()) + [(f"example {ex['name']}", ex["answers"]) for ex in rs.examples]
    terms = list(rs.term_lists.values())
    answer_sets += [(f"random #{i}", br.random_answers(rng, q_list, terms)) for i in range(random_sets)]
    differences = 0
    for name, answers in answer_sets:
        visible, unanswered = br.prepared(rs, answers)
        expected = br.compiled_ids(rs, visible, unanswered)
        for way in ("hand-written", "json-logic", "rule-engine"):
            got = set(ways[way](visible, unanswered))
            if got != expected:
                differences += 1
                if differences <= 5:
                    failures.error(
                        f"{way} disagrees on {name!r}: only compiled {sorted(expected - got)}, "
                        f"only {way} {sorted(got - expected)}"
                    )
    print(f"checked {len(answer_sets)} answer sets: {differences} difference(s)")
    if differences:
        failures.error(f"{differences} disagreement(s) between the compiled rules and the libraries")
        return failures.exit_code()

    groups = {"typical": br.TYPICAL, "flag-heavy": br.FLAG_HEAVY}
    results: dict[str, dict[str, float]] = {}
    for group, personas in groups.items():
        sets = [br.prepared(rs, a) for a in personas.values()]
        rates: dict[str, list[float]] = {k: [] for k in ways}
        order = list(ways)
        for r in range(rounds):
            for way in order if r % 2 == 0 else order[::-1]:
                fn = ways[way]

                def batch(fn: Callable[..., Any] = fn) -> None:
                    for answers, unanswered in sets:
                        fn(answers, unanswered)

                repeat = 1 if way in ("json-logic", "rule-engine") else 50
                best = br.best_time(lambda: [batch() for _ in range(repeat)], batches)
                rates[way].append(len(sets) * repeat / best)
        results[group] = {k: statistics.median(v) for k, v in rates.items()}
        print(f"{group} answer sets ({', '.join(personas)}): evaluations per second")
        for way, rate in results[group].items():
            print(f"  {way:<14} {rate:>12,.0f}/s")
    for group, med in results.items():
        print(
            f"ratio json-logic/compiled ({group}): {med['json-logic'] / med['compiled']:.3f}; "
            f"rule-engine/compiled: {med['rule-engine'] / med['compiled']:.3f}; "
            f"hand-written/compiled: {med['hand-written'] / med['compiled']:.2f}"
        )
    return failures.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
