"""The one small condition language shared by shown-when conditions and rules, compiled to callables.

A condition is plain data (as written in YAML or in the question definitions):

    {all: [C, ...]}   {any: [C, ...]}   {not: C}
    {q: ID, eq: V}    {q: ID, in: [V, ...]}
    {q: ID, any_of: [V, ...]}   {q: ID, all_of: [V, ...]}   {q: ID, none_of: [V, ...]}   (multi)
    {q: ID, answered: true}     {q: ID, unanswered: true}
    {q: ID, lt: N}  {q: ID, le: N}  {q: ID, gt: N}  {q: ID, ge: N}                      (numbers)
    {q: ID, nonempty: true}                                                            (text)
    {rule: RULE_ID}                     another rule's result (rules only)
    {safety_unanswered: true}           a shown safety question has no answer (rules only)

An unanswered question never matches `eq`, `in`, `any_of`, `all_of`, numeric comparisons or
`nonempty`; `none_of` needs an answer too, so "no answer" never reads as "none of these".
Compiling checks the shape only; which ids and values exist is checked by the caller through
`references()`, so one validator serves questions and rules alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Answers = Mapping[str, Any]
# The context a compiled condition sees: the answers, the results of rules evaluated so far,
# and the ids of shown safety questions left unanswered.
Predicate = Callable[[Answers, Mapping[str, bool], frozenset[str]], bool]

VALUE_OPS = ("eq", "in", "any_of", "all_of", "none_of")
NUMBER_OPS = ("lt", "le", "gt", "ge")
FLAG_OPS = ("answered", "unanswered", "nonempty")
QUESTION_OPS = VALUE_OPS + NUMBER_OPS + FLAG_OPS
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


def compile_condition(cond: Any, *, allow_rules: bool = False, path: str = "when") -> Predicate:
    """Compile a condition to a predicate, or raise ConditionError naming what is wrong."""
    if not isinstance(cond, Mapping) or not cond:
        raise ConditionError("a condition must be a mapping such as {q: id, eq: yes}", path)
    keys = set(cond)
    if keys <= {"all", "any", "not"} and len(keys) == 1:
        return _compile_logic(cond, allow_rules, path)
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
        return _compile_question(cond, path)
    raise ConditionError(f"unknown condition keys {sorted(map(str, keys))}", path)


def _compile_logic(cond: Mapping[str, Any], allow_rules: bool, path: str) -> Predicate:
    (op, arg), = cond.items()
    if op == "not":
        inner = compile_condition(arg, allow_rules=allow_rules, path=f"{path}.not")
        return lambda a, r, u: not inner(a, r, u)
    if not isinstance(arg, list) or not arg:
        raise ConditionError(f"'{op}' needs a non-empty list of conditions", path)
    parts = tuple(
        compile_condition(c, allow_rules=allow_rules, path=f"{path}.{op}[{i}]") for i, c in enumerate(arg)
    )
    if len(parts) == 1:
        return parts[0]
    # Unrolled two-part forms keep the common case to one call per part.
    if len(parts) == 2:
        p0, p1 = parts
        if op == "all":
            return lambda a, r, u: p0(a, r, u) and p1(a, r, u)
        return lambda a, r, u: p0(a, r, u) or p1(a, r, u)
    if op == "all":
        return lambda a, r, u: all(p(a, r, u) for p in parts)
    return lambda a, r, u: any(p(a, r, u) for p in parts)


def _compile_question(cond: Mapping[str, Any], path: str) -> Predicate:
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
    if op == "eq":
        if not isinstance(arg, (str, int)) or isinstance(arg, bool):
            raise ConditionError("'eq' needs one value", path)
        return lambda a, r, u: a.get(qid) == arg
    if op == "in":
        values = _value_list(op, arg, path)
        return lambda a, r, u: _hashable(a.get(qid)) in values
    if op in MULTI_OPS:
        values = _value_list(op, arg, path)
        if op == "any_of":
            return lambda a, r, u: _is_list(a.get(qid)) and not values.isdisjoint(a[qid])
        if op == "all_of":
            return lambda a, r, u: _is_list(a.get(qid)) and values.issubset(a[qid])
        # none_of needs an answer: an empty list is no answer, never "none of these".
        return lambda a, r, u: _is_list(a.get(qid)) and bool(a[qid]) and values.isdisjoint(a[qid])
    if op in NUMBER_OPS:
        if not isinstance(arg, (int, float)) or isinstance(arg, bool):
            raise ConditionError(f"'{op}' needs a number", path)
        limit = arg
        compare: Callable[[float], bool] = {
            "lt": lambda v: v < limit,
            "le": lambda v: v <= limit,
            "gt": lambda v: v > limit,
            "ge": lambda v: v >= limit,
        }[op]
        return lambda a, r, u: _is_number(a.get(qid)) and compare(a[qid])
    if arg is not True:
        raise ConditionError(f"write {{q: {qid}, {op}: true}}", path)
    if op == "answered":
        return lambda a, r, u: _has_answer(a.get(qid))
    if op == "unanswered":
        return lambda a, r, u: not _has_answer(a.get(qid))
    return lambda a, r, u: isinstance(a.get(qid), str) and bool(a[qid].strip())


def _value_list(op: str, arg: Any, path: str) -> frozenset[Any]:
    if not isinstance(arg, list) or not arg:
        raise ConditionError(f"'{op}' needs a non-empty list of values", path)
    for v in arg:
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise ConditionError(f"'{op}' values must be plain values, got {v!r}", path)
    return frozenset(arg)


def _hashable(value: Any) -> Any:
    return None if isinstance(value, (list, dict, set)) else value


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, frozenset, set))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def uses_safety_unanswered(cond: Any) -> bool:
    """Whether a condition asks about unanswered safety questions."""
    return any(c.get("safety_unanswered") is True for c in walk(cond))
