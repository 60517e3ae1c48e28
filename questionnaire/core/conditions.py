"""The one small condition language shared by shown-when conditions and rules, compiled to callables.

A condition is plain data (as written in YAML or in the question definitions):

    {all: [C, ...]}   {any: [C, ...]}   {not: C}
    {q: ID, eq: V}    {q: ID, in: [V, ...]}
    {q: ID, any_of: [V, ...]}   {q: ID, all_of: [V, ...]}   {q: ID, none_of: [V, ...]}   (multi)
    {q: ID, answered: true}     {q: ID, unanswered: true}
    {q: ID, lt: N}  {q: ID, le: N}  {q: ID, gt: N}  {q: ID, ge: N}                      (numbers)
    {q: ID, nonempty: true}                                                            (text)
    {q: ID, mentions: LIST} {q: ID, mentions: [LIST, ...]}  the text names a term of a term list
    {q: ID, only_says: LIST}            the whole text is a term of the list ("no", "N/A")   (text)
    {rule: RULE_ID}                     another rule's result (rules only)
    {safety_unanswered: true}           a shown safety question has no answer (rules only)

An unanswered question never matches `eq`, `in`, `any_of`, `all_of`, numeric comparisons or
`nonempty`; `none_of` needs an answer too, so "no answer" never reads as "none of these".
Term lists (terms.py) come from the rules file: compiling `mentions` or `only_says` needs them.
Compiling checks the shape only; which ids and values exist is checked by the caller through
`references()`, so one validator serves questions and rules alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from questionnaire.core.terms import TermList

Answers = Mapping[str, Any]
# The context a compiled condition sees: the answers, the results of rules evaluated so far,
# and the ids of shown safety questions left unanswered.
Predicate = Callable[[Answers, Mapping[str, bool], frozenset[str]], bool]

VALUE_OPS = ("eq", "in", "any_of", "all_of", "none_of")
NUMBER_OPS = ("lt", "le", "gt", "ge")
FLAG_OPS = ("answered", "unanswered", "nonempty")
TERM_OPS = ("mentions", "only_says")
QUESTION_OPS = VALUE_OPS + NUMBER_OPS + FLAG_OPS + TERM_OPS
MULTI_OPS = ("any_of", "all_of", "none_of")


class ConditionError(ValueError):
    """A condition that does not follow the language; `path` says where inside it."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.reason = message
        self.path = path


@dataclass(frozen=True)
class Reference:
    """One use of a question inside a condition: which operator and which values it names."""

    question: str
    op: str
    values: tuple[Any, ...]


def compile_condition(
    cond: Any, *, allow_rules: bool = False, path: str = "when", terms: Mapping[str, TermList] | None = None
) -> Predicate:
    """Compile a condition to a predicate, or raise ConditionError naming what is wrong.

    `terms` are the term lists `mentions` and `only_says` may name (the rules file's)."""
    if not isinstance(cond, Mapping) or not cond:
        raise ConditionError("a condition must be a mapping such as {q: id, eq: yes}", path)
    keys = set(cond)
    if keys <= {"all", "any", "not"} and len(keys) == 1:
        return _compile_logic(cond, allow_rules, path, terms)
    if "rule" in keys:
        if not allow_rules:
            raise ConditionError("'rule' can only be used in rules, not in shown-when conditions", path)
        if keys != {"rule"} or not isinstance(cond["rule"], str):
            raise ConditionError("write a rule reference as {rule: rule_id}", path)
        rule_id = cond["rule"]
        return lambda a, r, u: r.get(rule_id, False)
    if "safety_unanswered" in keys:
        if not allow_rules:
            raise ConditionError("'safety_unanswered' can only be used in rules", path)
        if keys != {"safety_unanswered"} or cond["safety_unanswered"] is not True:
            raise ConditionError("write {safety_unanswered: true}", path)
        return lambda a, r, u: bool(u)
    if "q" in keys:
        return _compile_question(cond, path, terms)
    raise ConditionError(f"unknown condition keys {sorted(map(str, keys))}", path)


def _compile_logic(
    cond: Mapping[str, Any], allow_rules: bool, path: str, terms: Mapping[str, TermList] | None
) -> Predicate:
    ((op, arg),) = cond.items()
    if op == "not":
        inner = compile_condition(arg, allow_rules=allow_rules, path=f"{path}.not", terms=terms)
        if isinstance(arg, Mapping) and set(arg) == {"rule"}:  # {not: {rule: id}} in one call
            rule_id = arg["rule"]
            return lambda a, r, u: not r.get(rule_id, False)
        return lambda a, r, u: not inner(a, r, u)
    if not isinstance(arg, list) or not arg:
        raise ConditionError(f"'{op}' needs a non-empty list of conditions", path)
    parts = tuple(
        compile_condition(c, allow_rules=allow_rules, path=f"{path}.{op}[{i}]", terms=terms) for i, c in enumerate(arg)
    )
    if len(parts) == 1:
        return parts[0]
    # Unrolled two- and three-part forms keep the common cases to one call per part.
    if len(parts) == 2:
        p0, p1 = parts
        if op == "all":
            return lambda a, r, u: p0(a, r, u) and p1(a, r, u)
        return lambda a, r, u: p0(a, r, u) or p1(a, r, u)
    if len(parts) == 3:
        q0, q1, q2 = parts
        if op == "all":
            return lambda a, r, u: q0(a, r, u) and q1(a, r, u) and q2(a, r, u)
        return lambda a, r, u: q0(a, r, u) or q1(a, r, u) or q2(a, r, u)
    if op == "all":

        def every(a: Answers, r: Mapping[str, bool], u: frozenset[str]) -> bool:
            for p in parts:
                if not p(a, r, u):
                    return False
            return True

        return every

    def some(a: Answers, r: Mapping[str, bool], u: frozenset[str]) -> bool:
        for p in parts:
            if p(a, r, u):
                return True
        return False

    return some


def _compile_question(cond: Mapping[str, Any], path: str, terms: Mapping[str, TermList] | None) -> Predicate:
    qid = cond["q"]
    if not isinstance(qid, str):
        raise ConditionError("'q' must be a question id", path)
    ops = [k for k in cond if k != "q"]
    if len(ops) != 1 or ops[0] not in QUESTION_OPS:
        raise ConditionError(
            f"a question test needs exactly one of {', '.join(QUESTION_OPS)}; got {sorted(map(str, ops))}", path
        )
    op = ops[0]
    arg = cond[op]
    # Each test is one small closure that reads the answer once; the type checks are C calls.
    if op == "eq":
        if not isinstance(arg, (str, int)) or isinstance(arg, bool):
            raise ConditionError("'eq' needs one value", path)
        return lambda a, r, u: a.get(qid) == arg
    if op == "in":
        # A tuple compares with ==, so a list answer (unhashable) simply does not match.
        choices = tuple(_value_list(op, arg, path))
        return lambda a, r, u: a.get(qid) in choices
    if op in MULTI_OPS:
        values = _value_list(op, arg, path)
        if op == "any_of":
            return lambda a, r, u: isinstance(v := a.get(qid), _LISTS) and not values.isdisjoint(v)
        if op == "all_of":
            return lambda a, r, u: isinstance(v := a.get(qid), _LISTS) and values.issubset(v)
        # none_of needs an answer: an empty list is no answer, never "none of these".
        return lambda a, r, u: isinstance(v := a.get(qid), _LISTS) and bool(v) and values.isdisjoint(v)
    if op in NUMBER_OPS:
        if not isinstance(arg, (int, float)) or isinstance(arg, bool):
            raise ConditionError(f"'{op}' needs a number", path)
        limit: Any = arg  # the answer is checked to be a number first
        if op == "lt":
            return lambda a, r, u: type(v := a.get(qid)) in _NUMBERS and v < limit
        if op == "le":
            return lambda a, r, u: type(v := a.get(qid)) in _NUMBERS and v <= limit
        if op == "gt":
            return lambda a, r, u: type(v := a.get(qid)) in _NUMBERS and v > limit
        return lambda a, r, u: type(v := a.get(qid)) in _NUMBERS and v >= limit
    if op in TERM_OPS:
        lists = _term_lists(op, arg, path, terms)
        if op == "only_says":
            (only,) = lists
            return lambda a, r, u: only.says_only(a.get(qid))
        return lambda a, r, u: any(tl.found(a.get(qid)) for tl in lists)
    if arg is not True:
        raise ConditionError(f"write {{q: {qid}, {op}: true}}", path)
    if op == "answered":
        return lambda a, r, u: _has_answer(a.get(qid))
    if op == "unanswered":
        return lambda a, r, u: not _has_answer(a.get(qid))
    return lambda a, r, u: isinstance(v := a.get(qid), str) and bool(v.strip())


def _value_list(op: str, arg: Any, path: str) -> frozenset[Any]:
    if not isinstance(arg, list) or not arg:
        raise ConditionError(f"'{op}' needs a non-empty list of values", path)
    for v in arg:
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise ConditionError(f"'{op}' values must be plain values, got {v!r}", path)
    return frozenset(arg)


def _term_lists(op: str, arg: Any, path: str, terms: Mapping[str, TermList] | None) -> tuple[TermList, ...]:
    names = arg if isinstance(arg, list) and op == "mentions" else [arg]
    if not names or not all(isinstance(n, str) and n for n in names):
        shape = "a term list name, or a list of them" if op == "mentions" else "one term list name"
        raise ConditionError(f"'{op}' needs {shape}", path)
    if terms is None:
        raise ConditionError(f"'{op}' can only be used in rules, which have term lists", path)
    unknown = [n for n in names if n not in terms]
    if unknown:
        known = ", ".join(sorted(terms)) or "none"
        raise ConditionError(f"unknown term list {unknown[0]!r} (term lists: {known})", path)
    wanted = "whole_answer" if op == "only_says" else "words"
    wrong = [n for n in names if terms[n].match != wanted]
    if wrong:
        raise ConditionError(
            f"'{op}' needs a term list with match: {wanted}; {wrong[0]!r} has match: {terms[wrong[0]].match}", path
        )
    return tuple(terms[n] for n in names)


_LISTS = (list, tuple, frozenset, set)
_NUMBERS = (int, float)  # exact types: True and False are not numbers here


def _is_list(value: Any) -> bool:
    return isinstance(value, _LISTS)


def _has_answer(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if _is_list(value):
        return bool(value)
    return True


def has_answer(value: Any) -> bool:
    """Whether a stored answer counts as given (an empty list or blank text does not)."""
    return _has_answer(value)


def walk(cond: Any) -> Iterator[Mapping[str, Any]]:
    """Every sub-condition of a (well-formed) condition, itself first."""
    if not isinstance(cond, Mapping):
        return
    yield cond
    for key in ("all", "any"):
        if isinstance(cond.get(key), list):
            for c in cond[key]:
                yield from walk(c)
    if "not" in cond:
        yield from walk(cond["not"])


def references(cond: Any) -> Iterator[Reference]:
    """Every question a condition tests, with the operator and the values it names."""
    for c in walk(cond):
        if "q" in c:
            for op in QUESTION_OPS:
                if op in c:
                    arg = c[op]
                    values: Sequence[Any] = arg if isinstance(arg, list) else [arg]
                    yield Reference(c["q"], op, tuple(values))


def rule_references(cond: Any) -> Iterator[str]:
    """Ids of the rules a condition refers to with {rule: id}."""
    for c in walk(cond):
        if isinstance(c.get("rule"), str):
            yield c["rule"]


# A fact about the answers, as the rule index reads it: ("value", q, v) the answer to q is v;
# ("member", q, v) the multi answer to q includes v; ("present", q, None) q has some answer;
# ("unanswered", "", None) a shown safety question has no answer.
Fact = tuple[str, str, Any]
_PRESENT_OPS = ("lt", "le", "gt", "ge", "nonempty", "answered", "mentions", "only_says")


def trigger_facts(cond: Any) -> frozenset[Fact] | None:
    """Facts of which at least one holds whenever a (well-formed) condition holds; None if none can be named.

    The rule set uses them as an index: a rule none of whose facts holds cannot fire, so it is not
    evaluated at all. `not`, `none_of`, `unanswered` and rule references name no facts.
    """
    if not isinstance(cond, Mapping):
        return None
    if "q" in cond:
        qid = cond["q"]
        if "eq" in cond:
            return frozenset({("value", qid, cond["eq"])})
        if "in" in cond:
            return frozenset(("value", qid, v) for v in cond["in"])
        for op in ("any_of", "all_of"):
            if op in cond:
                return frozenset(("member", qid, v) for v in cond[op])
        if any(op in cond for op in _PRESENT_OPS):
            return frozenset({("present", qid, None)})
        return None
    if cond.get("safety_unanswered") is True:
        return frozenset({("unanswered", "", None)})
    if isinstance(cond.get("all"), list):
        # Every part must hold: the facts of any one part will do; take the fewest.
        named = [f for f in map(trigger_facts, cond["all"]) if f is not None]
        return min(named, key=len) if named else None
    if isinstance(cond.get("any"), list):
        # Some part must hold: every part must name facts, and any of them may be the one.
        parts = [trigger_facts(c) for c in cond["any"]]
        if not parts or any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    return None


def is_single_test(cond: Any) -> bool:
    """Whether a condition is one test that holds exactly when one of its trigger facts does."""
    if not isinstance(cond, Mapping):
        return False
    if "q" in cond:
        return any(op in cond for op in ("eq", "in", "any_of"))
    return cond.get("safety_unanswered") is True
