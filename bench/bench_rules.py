#!/usr/bin/env python3
"""Benchmark: the compiled rule set against the same rules written out by hand as Python `if`s.

    .venv/bin/python bench/bench_rules.py             # full run (about a minute)
    .venv/bin/python bench/bench_rules.py --quick     # smoke run (a few seconds)
    .venv/bin/python bench/bench_rules.py --show-hand # print the hand-written rules and stop

The hand-written baseline is generated from the rules file (make_hand_fire): every rule's `when`
becomes the straight-line code a person would write, `if get("x") == "yes": add("r_x")`, with
value sets as constants, term-list tests as calls of the term list, and the rules that others refer
to as local booleans in dependency order; it is compiled once. A rule change needs no edit here.

Before timing, the compiled rules, the hand-written ones and Ruleset.evaluate are run on the
personas below, on every example of the rules file and on seeded random answer sets; any
difference in the fired rule ids exits with status 1.
Timings alternate compiled and hand-written rounds in one run, so machine load hits both alike.
Targets (issue 2): compiled at least half as fast as by hand (ratio >= 0.5, printed last);
loading and validating the rules file and the definitions under 200 ms.
Figures are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import builtins
import keyword
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from questionnaire.core.checkin import CHECKIN_PAGE_DEFINITION  # noqa: E402
from questionnaire.core.definition import PAGES_DEFINITION, QUESTIONNAIRE  # noqa: E402
from questionnaire.core.questions import Question, build  # noqa: E402
from questionnaire.core.rules import DEFAULT_PATH, Ruleset, load_ruleset  # noqa: E402
from tests.helpers import ALL_NO  # noqa: E402  # the complete all-"No" form the tests use

if TYPE_CHECKING:
    from questionnaire.core.terms import TermList

RATIO_TARGET = 0.5
LOAD_TARGET_MS = 200.0

# --- the hand-written baseline, generated from the rules file --------------------------------
# The code a person would write for each rule by hand: one `if` per rule in dependency order,
# answers read with a dict look-up, value sets as constants, a rule other rules refer to kept in a
# local boolean. Generated from each rule's `when` (plain data), so a rule change needs no edit here.

_OR, _AND, _NOT, _CMP, _ATOM = range(5)  # operator precedence of a generated expression
_RESERVED = {"a", "unanswered", "get", "fired", "add", "v", "NONE", "hand_fire"}


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"_{name}"


def _parts(cond: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every sub-condition of a condition, itself first."""
    yield cond
    for key in ("all", "any"):
        for part in cond.get(key, ()):
            yield from _parts(part)
    if "not" in cond:
        yield from _parts(cond["not"])


class _HandSource:
    """Turns rule conditions into Python expressions; collects the constants they use."""

    def __init__(self, rs: Ruleset) -> None:
        self.rs = rs
        self.names = set(_RESERVED) | set(dir(builtins))
        self.constants: dict[str, Any] = {"NONE": ()}
        self.shown: dict[str, str] = {"NONE": "()"}  # how each constant is written in --show-hand
        self.constant_names: dict[Any, str] = {}
        self.rule_locals: dict[str, str] = {}  # rule id -> local boolean (rules other rules refer to)
        self.answer_locals: dict[str, str] = {}  # question id -> local answer (questions read twice or more)

    def unique(self, base: str) -> str:
        name, n = _identifier(base), 2
        while name in self.names:
            name, n = f"{_identifier(base)}_{n}", n + 1
        self.names.add(name)
        return name

    def constant(self, key: Any, base: str, value: Any, shown: str = "") -> str:
        if key not in self.constant_names:
            name = self.unique(base)
            self.constants[name] = value
            self.shown[name] = shown or repr(value)
            self.constant_names[key] = name
        return self.constant_names[key]

    def read(self, qid: str) -> str:
        return self.answer_locals.get(qid) or f"get({qid!r})"

    def bind(self, qid: str) -> tuple[str, str]:
        """The answer read once for a test that looks at it twice: (first use, later uses)."""
        if qid in self.answer_locals:
            return self.answer_locals[qid], self.answer_locals[qid]
        return f"(v := get({qid!r}))", "v"

    @staticmethod
    def wrap(part: tuple[str, int], at_least: int) -> str:
        text, prec = part
        return text if prec >= at_least else f"({text})"

    def expr(self, cond: Mapping[str, Any]) -> tuple[str, int]:
        for key, prec in (("all", _AND), ("any", _OR)):
            if key in cond:
                parts = [self.expr(c) for c in cond[key]]
                if len(parts) == 1:
                    return parts[0]
                return f" {'and' if key == 'all' else 'or'} ".join(self.wrap(p, prec) for p in parts), prec
        if "not" in cond:
            inner = cond["not"]
            if "q" in inner and "eq" in inner:
                return f"{self.read(inner['q'])} != {inner['eq']!r}", _CMP
            if "q" in inner and "in" in inner:
                return f"{self.read(inner['q'])} not in {tuple(inner['in'])!r}", _CMP
            return f"not {self.wrap(self.expr(inner), _ATOM)}", _NOT
        if "rule" in cond:
            return self.rule_locals[cond["rule"]], _ATOM
        if "safety_unanswered" in cond:
            return "unanswered", _ATOM
        return self.question_test(cond)

    def question_test(self, cond: Mapping[str, Any]) -> tuple[str, int]:
        qid = cond["q"]
        ops = [k for k in cond if k != "q"]
        if len(ops) != 1:
            raise ValueError(f"cannot write {dict(cond)} by hand")
        op, arg = ops[0], cond[ops[0]]
        kind = self.rs.questionnaire.questions[qid].kind
        if op == "eq":
            return f"{self.read(qid)} == {arg!r}", _CMP
        if op == "in":
            return f"{self.read(qid)} in {tuple(arg)!r}", _CMP
        if op in ("any_of", "all_of", "none_of"):
            values = frozenset(arg)
            const = self.constant(
                ("set", qid, values),
                f"{qid.upper()}_SET",
                values,
                f"frozenset({{{', '.join(map(repr, sorted(values, key=str)))}}})",
            )
            if op == "any_of":
                return f"not {const}.isdisjoint({self.read(qid)} or NONE)", _NOT
            if op == "all_of":
                return f"{const}.issubset({self.read(qid)} or NONE)", _ATOM
            first, later = self.bind(qid)  # an answer is needed: no answer is not "none of these"
            return f"{first} and {const}.isdisjoint({later})", _AND
        if op in ("lt", "le", "gt", "ge"):
            first, later = self.bind(qid)
            symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
            return f"{first} is not None and {later} {symbol} {arg!r}", _AND
        if op in ("answered", "unanswered"):
            yes = op == "answered"
            if kind == "multi":
                return (self.read(qid), _ATOM) if yes else (f"not {self.read(qid)}", _NOT)
            if kind == "text":
                first, later = self.bind(qid)
                return (f"{first} and {later}.strip()", _AND) if yes else (f"not ({first} and {later}.strip())", _NOT)
            return f"{self.read(qid)} is {'not ' if yes else ''}None", _CMP
        if op == "nonempty":
            first, later = self.bind(qid)
            return f"isinstance({first}, str) and {later}.strip()", _AND
        if op == "mentions":
            names = arg if isinstance(arg, list) else [arg]
            calls = [
                self.constant(
                    ("found", n), f"FOUND_{n.upper()}", self.rs.term_lists[n].found, f"rs.term_lists[{n!r}].found"
                )
                for n in names
            ]
            if len(calls) == 1:
                return f"{calls[0]}({self.read(qid)})", _ATOM
            first, later = self.bind(qid)
            return " or ".join(f"{c}({first if i == 0 else later})" for i, c in enumerate(calls)), _OR
        if op == "only_says":
            call = self.constant(
                ("says_only", arg),
                f"SAYS_ONLY_{arg.upper()}",
                self.rs.term_lists[arg].says_only,
                f"rs.term_lists[{arg!r}].says_only",
            )
            return f"{call}({self.read(qid)})", _ATOM
        raise ValueError(f"cannot write {dict(cond)} by hand: no operator {op!r}")

    def function(self) -> str:
        rules = self.rs.order
        parts = [c for rule in rules for c in _parts(rule.when)]
        referred = {c["rule"] for c in parts if "rule" in c}
        reads = Counter(c["q"] for c in parts if "q" in c)
        lines = [
            "def hand_fire(a, unanswered):",
            f'    """The {len(rules)} rules of {self.rs.name} {self.rs.version}, written out as `if`s."""',
            "    get = a.get",
            "    fired = []",
            "    add = fired.append",
        ]
        for qid in sorted(q for q, n in reads.items() if n > 1):
            self.answer_locals[qid] = self.unique(qid)
            lines.append(f"    {self.answer_locals[qid]} = get({qid!r})")
        for rule in rules:
            text = self.wrap(self.expr(rule.when), _OR)
            lines.append(f"    # {rule.id} ({rule.level})")
            if rule.id in referred:
                self.rule_locals[rule.id] = name = self.unique(rule.id)
                lines += [f"    {name} = {text}", f"    if {name}:"]
            else:
                lines.append(f"    if {text}:")
            lines.append(f"        add({rule.id!r})")
        lines.append("    return fired")
        return "\n".join(lines) + "\n"


def hand_source(rs: Ruleset) -> tuple[str, dict[str, Any], str]:
    """The Python source of `hand_fire` for this rule set, the constants it names, and the whole
    as one readable listing (constants first)."""
    gen = _HandSource(rs)
    source = gen.function()
    listing = "".join(f"{name} = {shown}\n" for name, shown in gen.shown.items()) + "\n\n" + source
    return source, gen.constants, listing


def make_hand_fire(rs: Ruleset) -> Callable[[Mapping[str, Any], frozenset[str]], list[str]]:
    """The rules written out by hand, compiled once: hand_fire(expanded answers, unanswered) -> fired rule ids."""
    source, constants, _listing = hand_source(rs)
    namespace = dict(constants)
    exec(compile(source, "<hand-written rules>", "exec"), namespace)  # our own source, from the rules file
    fn: Callable[[Mapping[str, Any], frozenset[str]], list[str]] = namespace["hand_fire"]
    return fn


# --- answer sets ---------------------------------------------------------------------------

# Answer sets like real submissions: complete forms with no flag or a few, and the short ones.
TYPICAL: dict[str, dict[str, Any]] = {
    "all no": ALL_NO,
    "one mention flag": ALL_NO | {"faint_with_needles": "yes"},
    "one discuss flag": ALL_NO | {"blood_thinner": "yes", "blood_thinner_name": "warfarin"},
    "a few flags": ALL_NO
    | {
        "treatment_types": ["not_sure"],
        "high_bp": "yes",
        "high_bp_controlled": "yes",
        "pril_medicine": "yes",
        "other_concerns": "A knee operation two years ago.",
    },
    "urgent, stopped on page 1": {
        "chest_pain_now": "yes",
        "breathing_trouble_now": "no",
        "stroke_signs_now": "no",
        "recent_ozone_7d": "no",
        "unwell_now": "no",
    },
    "nothing answered": {},
}
# Stress: answer sets that trigger most rules.
FLAG_HEAVY: dict[str, dict[str, Any]] = {
    "many flags": ALL_NO
    | {
        "recent_ozone_7d": "yes",
        "post_ozone_red_flags": ["none_of_these"],
        "post_ozone_site_problem": "no",
        "respondent_role": "family_or_carer",
        "patient_age_years": 16,
        "treatment_types": ["blood_drip", "spine_neck"],
        "anaemia_recent": "yes",
        "anaemia_needed_transfusion": "not_sure",
        "blood_thinner": "yes",
        "blood_thinner_name": "warfarin",
        "stroke_ever": "yes",
        "stroke_recent_or_bleed": "no",
        "heart_condition": "yes",
        "heart_condition_worse": "no",
        "hole_in_heart": "yes",
        "high_bp": "yes",
        "high_bp_controlled": "yes",
        "diabetes": "yes",
        "diabetes_unstable": "no",
        "diabetes_low_sugar_meds": "yes",
        "lung_condition": "yes",
        "lung_flare_4w": "no",
        "prior_ozone": "yes",
        "prior_ozone_types": ["direct_iv_gas"],
        "prior_ozone_problem": "yes",
        "prior_ozone_problem_type": ["rash"],
        "allergy_items": ["latex", "citrate"],
        "other_concerns": "A knee operation two years ago.",
    },
    "not sure everywhere": {q.id: "not_sure" for q in QUESTIONNAIRE.questions.values() if q.kind == "ynu"}
    | {"treatment_types": ["not_sure"], "allergy_items": ["not_sure"], "pregnant": "not_sure"},
}
PERSONAS: dict[str, dict[str, Any]] = TYPICAL | FLAG_HEAVY


TEXTS = ["", "  ", "none", "a knee operation", "No", "n/a", "nada", "no allergies", "April"]


def random_answers(rng: random.Random, q_list: list[Question], terms: Sequence[TermList] = ()) -> dict[str, Any]:
    """An answer set like the property tests build: each question absent or a valid value; texts
    sometimes name terms of `terms` (rs.term_lists), so `mentions` and `only_says` are exercised."""
    answers: dict[str, Any] = {}
    for q in q_list:
        if rng.random() < 0.3:
            continue
        if q.kind in ("yn", "ynu", "single"):
            answers[q.id] = rng.choice(q.values)
        elif q.kind == "multi":
            plain = [v for v in q.values if v not in q.exclusive_values]
            if q.exclusive_values and rng.random() < 0.3:
                answers[q.id] = [rng.choice(sorted(q.exclusive_values))]
            else:
                answers[q.id] = rng.sample(plain, rng.randint(1, len(plain)))
        elif q.kind == "int":
            assert q.min is not None and q.max is not None
            answers[q.id] = rng.randint(q.min, q.max)
        elif terms and rng.random() < 0.4:  # names from the term lists, as a patient might type them
            picked = [rng.choice(rng.choice(terms).terms) for _ in range(rng.randint(1, 2))]
            answers[q.id] = rng.choice([", ", " and ", "; "]).join(
                rng.choice([t, t.upper(), t.capitalize(), f"{t} 5 mg"]) for t in picked
            )
        else:
            answers[q.id] = rng.choice(TEXTS)
    return answers


def prepared(rs: Ruleset, answers: Mapping[str, Any]) -> tuple[Mapping[str, Any], frozenset[str]]:
    """What Ruleset.fire sees (from Ruleset.prepare): the answers as the rules read them, and the
    shown safety questions left unanswered."""
    _given, expanded, unanswered = rs.prepare(answers)
    return expanded, unanswered


def compiled_ids(rs: Ruleset, answers: Mapping[str, Any], unanswered: frozenset[str]) -> set[str]:
    return {rid for rid, hit in rs.fire(answers, unanswered).items() if hit}


HandFire = Callable[[Mapping[str, Any], frozenset[str]], list[str]]


def check_equal(rs: Ruleset, hand_fire: HandFire, answer_sets: list[tuple[str, Mapping[str, Any]]]) -> int:
    """Compare compiled and hand-written rules (and the full evaluate) on every answer set; count differences."""
    differences = 0
    for name, answers in answer_sets:
        visible, unanswered = prepared(rs, answers)
        compiled = compiled_ids(rs, visible, unanswered)
        by_hand = hand_fire(visible, unanswered)
        evaluated = set(rs.evaluate(answers).rule_ids)
        if compiled != set(by_hand) or evaluated != compiled or len(by_hand) != len(set(by_hand)):
            differences += 1
            if differences <= 5:
                print(
                    f"DIFFERENCE on {name!r}: compiled only {sorted(compiled - set(by_hand))}, "
                    f"hand only {sorted(set(by_hand) - compiled)}, evaluate {sorted(evaluated ^ compiled)}"
                )
    return differences


# --- timing --------------------------------------------------------------------------------


def best_time(fn: Callable[[], Any], batches: int) -> float:
    """The fastest of several short batches: a batch the scheduler did not interrupt."""
    best = float("inf")
    clock = time.perf_counter
    for _ in range(batches):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def time_side_by_side(
    rs: Ruleset, hand_fire: HandFire, personas: Mapping[str, Mapping[str, Any]], rounds: int, batches: int
) -> dict[str, list[float]]:
    """Evaluations per second of each way, per round; the ways alternate within every round."""
    sets = [prepared(rs, a) for a in personas.values()]
    raw = list(personas.values())
    fire = rs.fire

    def compiled() -> None:
        for answers, unanswered in sets:
            fire(answers, unanswered)

    def by_hand() -> None:
        for answers, unanswered in sets:
            hand_fire(answers, unanswered)

    def evaluate() -> None:
        for answers in raw:
            rs.evaluate(answers)

    def evaluate_by_hand() -> None:  # the same pipeline as evaluate, with the hand-written rules
        for answers in raw:
            hand_fire(*prepared(rs, answers))

    runs: dict[str, Callable[[], None]] = {
        "compiled": compiled,
        "hand": by_hand,
        "evaluate": evaluate,
        "evaluate_hand": evaluate_by_hand,
    }
    rates: dict[str, list[float]] = {k: [] for k in runs}
    order = list(runs)
    for i in range(rounds):
        for key in order if i % 2 == 0 else order[::-1]:  # alternate, so drift hits both sides
            rates[key].append(len(sets) / best_time(runs[key], batches))
    return rates


def time_loading(times: int) -> list[float]:
    """Milliseconds to build the definitions and load + validate the rules file, in this process."""
    out = []
    for _ in range(times):
        start = time.perf_counter()
        qn = build((*PAGES_DEFINITION, CHECKIN_PAGE_DEFINITION))  # the form and the check-in, as the rules see them
        load_ruleset(DEFAULT_PATH, qn)
        out.append((time.perf_counter() - start) * 1000)
    return out


FRESH = """
import time
from questionnaire.core.checkin import CHECKIN_PAGE_DEFINITION
from questionnaire.core.definition import PAGES_DEFINITION
from questionnaire.core.questions import build
from questionnaire.core.rules import DEFAULT_PATH, load_ruleset
start = time.perf_counter()
load_ruleset(DEFAULT_PATH, build((*PAGES_DEFINITION, CHECKIN_PAGE_DEFINITION)))
print((time.perf_counter() - start) * 1000)
"""


def time_loading_fresh(times: int) -> list[float]:
    """The same, as the first load in a fresh interpreter (after the imports)."""
    return [
        float(
            subprocess.run([sys.executable, "-c", FRESH], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        )
        for _ in range(times)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--show-hand", action="store_true", help="print the generated hand-written rules and stop")
    args = parser.parse_args(argv)
    rounds, batches, random_sets, loads = (3, 30, 200, 1) if args.quick else (15, 400, 3000, 5)

    rs = load_ruleset()
    if args.show_hand:
        print(hand_source(rs)[2], end="")
        return 0
    hand_fire = make_hand_fire(rs)
    rng = random.Random(20261129)
    q_list = list(QUESTIONNAIRE.questions.values())
    answer_sets: list[tuple[str, Mapping[str, Any]]] = list(PERSONAS.items())
    # rs.examples hold each example's answers laid over example_base already.
    answer_sets += [(f"example {ex['name']}", ex["answers"]) for ex in rs.examples]
    terms = list(rs.term_lists.values())
    answer_sets += [(f"random #{i}", random_answers(rng, q_list, terms)) for i in range(random_sets)]
    differences = check_equal(rs, hand_fire, answer_sets)
    print(
        f"checked {len(answer_sets)} answer sets ({len(PERSONAS)} personas, {len(rs.examples)} examples, "
        f"{random_sets} random): {differences} difference(s)"
    )
    if differences:
        print("FAIL: the hand-written rules and the compiled rule set disagree")
        return 1
    hand_ids = set(hand_fire(*prepared(rs, PERSONAS["many flags"])))
    print(f"{len(rs.rules)} rules compiled; the 'many flags' persona fires {len(hand_ids)} of them")

    in_process = time_loading(loads)
    fresh = time_loading_fresh(max(1, loads // 2))
    load_ok = statistics.median(in_process) < LOAD_TARGET_MS and statistics.median(fresh) < LOAD_TARGET_MS
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"{rounds} alternating rounds, best of {batches} batches each"
    )
    print(
        f"load + validate rules file and definitions: median {statistics.median(in_process):.1f} ms, "
        f"max {max(in_process):.1f} ms in process; {statistics.median(fresh):.1f} ms first load in a fresh "
        f"process (target < {LOAD_TARGET_MS:.0f} ms: {'met' if load_ok else 'MISSED'})"
    )

    ratios: dict[str, float] = {}
    for group, personas in (("typical", TYPICAL), ("flag-heavy", FLAG_HEAVY)):
        rates = time_side_by_side(rs, hand_fire, personas, rounds, batches)
        med = {k: statistics.median(v) for k, v in rates.items()}
        ratios[group] = statistics.median(c / h for c, h in zip(rates["compiled"], rates["hand"]))
        eval_ratio = statistics.median(c / h for c, h in zip(rates["evaluate"], rates["evaluate_hand"]))
        print(f"{group} answer sets ({', '.join(personas)}):")
        print(f"  full evaluate (visible answers + rules): {med['evaluate']:>10,.0f} evaluations/s")
        print(
            f"  same pipeline, hand-written rules:       {med['evaluate_hand']:>10,.0f} evaluations/s "
            f"(ratio {eval_ratio:.2f})"
        )
        print(f"  compiled rule set (Ruleset.fire):        {med['compiled']:>10,.0f} evaluations/s")
        print(
            f"  hand-written if statements:              {med['hand']:>10,.0f} evaluations/s "
            f"(ratio {ratios[group]:.2f})"
        )
    ratio_ok = ratios["typical"] >= RATIO_TARGET
    print(
        f"ratio compiled/hand: {ratios['typical']:.2f} on typical answer sets (target >= {RATIO_TARGET}: "
        f"{'met' if ratio_ok else 'MISSED'}); {ratios['flag-heavy']:.2f} on flag-heavy ones"
    )
    if args.strict and not (load_ok and ratio_ok):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
