"""Load and validate rules/contraindications.yaml, and evaluate answers against it (no Flask).

The loader collects every fault as `FILE:LINE: rule ID: message` and refuses the file if there is
one; the app refuses to start on such a file. Evaluation sees only the answers to questions the
patient was shown (flow.visible_answers) and never gives a clearance: it only raises flags.
"""

from __future__ import annotations

import gettext
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from questionnaire.core import flow
from questionnaire.core.conditions import (MULTI_OPS, NUMBER_OPS, ConditionError, Fact, Predicate, compile_condition,
                         is_single_test, references, rule_references, trigger_facts, walk)
from questionnaire.core.questions import QUESTIONNAIRE, Questionnaire
from questionnaire.core.terms import MATCHES, TermList, term_problem
from questionnaire.core.wording import WORDS, banned_wording

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "rules" / "contraindications.yaml"
# The compiled catalogues: <dir>/<lang>/LC_MESSAGES/messages.mo (Flask-Babel's layout and default).
TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"
TRANSLATION_DOMAIN = "messages"
NO_LEVEL = "none"
_PLACEHOLDER = re.compile(r"\{\w*\}")
GRADE = re.compile(r"^[ABCDX](/[ABCDX])*( via [ABCDX])?( \+ [ABCDX])?$")
MESSAGE_ID = re.compile(r"^MSG_[A-Z0-9_]+$")

TOP_KEYS = {"ruleset", "levels", "no_flags", "messages", "sources", "term_lists", "rules", "example_base", "examples"}
OPTIONAL_TOP_KEYS = {"examples", "example_base", "term_lists"}
RULESET_KEYS = {"name", "version", "status", "sign_off"}
SIGN_OFF_KEYS = {"by", "date", "content_sha256"}
# What the content hash leaves out: the fields a sign-off itself writes.
UNSIGNED_KEYS = ("status", "sign_off")
LEVEL_KEYS = {"id", "title", "outcome", "holds_booking", "stops_form"}
# `message`: the generic message whose words this level's outcome already says (not repeated on
# the outcome page); `same_day`: another title and outcome for rules of this level marked same_day
# (get medical advice today rather than call an emergency number).
OPTIONAL_LEVEL_KEYS = {"message", "same_day"}
OUTCOME_KEYS = {"title", "outcome"}
RULE_KEYS = {"id", "level", "when", "patient_message", "staff_note", "sources", "evidence"}
OPTIONAL_RULE_KEYS = {"same_day"}
TERM_LIST_KEYS = {"title", "terms", "sources"}
OPTIONAL_TERM_LIST_KEYS = {"match"}
# The one placeholder a staff note may hold: the terms a `mentions` test found in the answers.
TERMS_PLACEHOLDER = "{terms}"
EXAMPLE_KEYS = {"name", "answers", "fires", "does_not_fire", "level", "shows", "does_not_show", "alone"}
MESSAGE_ENTRY_KEYS = {"id", "when"}
STATUSES = ("draft", "approved")


# --- YAML with line numbers, where yes and no stay strings -------------------------------------

class _Map(dict[str, Any]):
    line = 0
    lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]


class _List(list[Any]):
    line = 0
    lines: list[int]


try:   # libyaml's parser reads the file about ten times faster than the pure-Python one
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """SafeLoader that reads only true/false as booleans and remembers where everything was."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line, result.lines, result.duplicates = node.start_mark.line + 1, {}, []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            result.duplicates.append((key, key_node.start_mark.line + 1))
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> _List:
    result = _List(loader.construct_object(n, deep=True) for n in node.value)
    result.line, result.lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


def _line(obj: Any, key: Any = None, default: int = 1) -> int:
    if isinstance(obj, _Map):
        return obj.lines.get(key, obj.line) if key is not None else obj.line
    if isinstance(obj, _List):
        return obj.lines[key] if isinstance(key, int) and key < len(obj.lines) else obj.line
    return default


# --- the loaded rule set --------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    id: str
    title: str
    outcome: str
    holds_booking: bool
    stops_form: bool
    message: str | None = None          # the generic message this outcome already says
    same_day: Level | None = None       # the title and outcome of this level's same-day rules


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    when: Mapping[str, Any]
    patient_message: tuple[str, ...]
    staff_note: str
    sources: tuple[str, ...]
    evidence: str
    questions: tuple[str, ...]
    predicate: Predicate = field(compare=False, repr=False)
    # A message that depends on the answers: patient_message entry {id: MSG_X, when: CONDITION}.
    # One condition per patient_message id, in order (None: always shown); () when none has one.
    message_conditions: tuple[Mapping[str, Any] | None, ...] = ()
    message_checks: tuple[Predicate | None, ...] = field(default=(), compare=False, repr=False)
    # Medical advice today rather than an emergency (a level with a same_day outcome).
    same_day: bool = False
    # The term lists its `mentions` tests look for, by question: what staff are told was found.
    term_tests: tuple[tuple[str, tuple[TermList, ...]], ...] = field(default=(), compare=False, repr=False)

    def found_terms(self, answers: Mapping[str, Any]) -> tuple[str, ...]:
        """The terms this rule's `mentions` tests find in the answers, each once."""
        return tuple(dict.fromkeys(t for qid, lists in self.term_tests for tl in lists
                                   for t in tl.found(answers.get(qid))))

    def shown_messages(self, answers: Mapping[str, Any], results: Mapping[str, bool],
                       unanswered: frozenset[str]) -> tuple[str, ...]:
        """The ids of the messages this (fired) rule gives for these answers, each once, in order."""
        if not self.message_checks:
            return self.patient_message
        shown = (m for m, check in zip(self.patient_message, self.message_checks)
                 if check is None or check(answers, results, unanswered))
        return tuple(dict.fromkeys(shown))


@dataclass(frozen=True)
class FiredRule:
    id: str
    level: str
    message_ids: tuple[str, ...]
    staff_note: str
    sources: tuple[str, ...]
    evidence: str
    # The patient's answers that the rule looked at (None: shown but not answered).
    triggers: Mapping[str, Any]
    # Terms of the rule set's term lists found in the answers (a `mentions` test), shown to staff.
    terms: tuple[str, ...] = ()
    same_day: bool = False


@dataclass(frozen=True)
class Assessment:
    level: str
    fired: tuple[FiredRule, ...]
    version: str
    sha256: str

    @property
    def rule_ids(self) -> list[str]:
        return [f.id for f in self.fired]

    @property
    def message_ids(self) -> list[str]:
        """Each patient message once, in the order the rules give them."""
        seen: dict[str, None] = {}
        for f in self.fired:
            seen.update(dict.fromkeys(f.message_ids))
        return list(seen)

    def summary(self) -> dict[str, Any]:
        return {"level": self.level, "rules": self.rule_ids, "ruleset": {"version": self.version, "sha256": self.sha256}}


@dataclass(frozen=True)
class RuleError:
    file: str
    line: int
    rule: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: rule {self.rule or '-'}: {self.message}"


class RulesFileError(ValueError):
    """A rules file that cannot be used; `errors` lists every fault found."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(map(str, self.errors)))


_LISTS = (list, tuple, frozenset, set)
# What an index hit says: the rules it fires outright, and the numbers of the checks to run.
_Hit = tuple[tuple[str, ...], tuple[int, ...]]
_NO_HIT: _Hit = ((), ())


@dataclass(frozen=True)
class _Plan:
    """The compiled rule set: the rules in dependency order, and an index from answers to rules.

    A rule (or a part of an {any: [...]}) that is one test (eq, in, any_of, safety_unanswered)
    fires on an index hit, without a call. Any other rule is checked only when one of its trigger
    facts (conditions.trigger_facts) holds, and then only for what the hit has not shown already;
    a rule that names no trigger facts is checked every time.
    """

    steps: tuple[tuple[str, Predicate], ...]               # every rule, in dependency order
    checks: tuple[tuple[str, Predicate], ...]              # what is left to check of a triggered rule (term)
    value_questions: tuple[str, ...]                       # questions tested for a value ...
    value_tables: tuple[dict[Any, _Hit], ...]              # ... and, for each, answer -> hit
    member_tables: tuple[tuple[str, dict[Any, _Hit]], ...]  # multi questions: chosen value -> hit
    present: tuple[tuple[str, _Hit], ...]                  # questions whose mere answer is a trigger
    unanswered: _Hit                                       # what an unanswered safety question triggers
    always: tuple[int, ...]                                # checks of rules without trigger facts

    @staticmethod
    def build(order: Sequence[Rule], term_lists: Mapping[str, TermList]) -> _Plan:
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
        tables = {key: {v: (tuple(dict.fromkeys(f)), tuple(dict.fromkeys(m))) for v, (f, m) in table.items()}
                  for key, table in index.items()}
        value_keys = [key for key in tables if key[0] == "value"]
        return _Plan(
            steps=tuple((r.id, r.predicate) for r in order),
            checks=tuple(checks),
            value_questions=tuple(qid for _kind, qid in value_keys),
            value_tables=tuple(tables[key] for key in value_keys),
            member_tables=tuple((qid, table) for (kind, qid), table in tables.items() if kind == "member"),
            present=tuple((qid, table[None]) for (kind, qid), table in tables.items() if kind == "present"),
            unanswered=tables.get(("unanswered", ""), {}).get(None, _NO_HIT),
            always=tuple(always),
        )


def _terms(cond: Mapping[str, Any], predicate: Predicate | None,
           term_lists: Mapping[str, TermList]) -> list[tuple[frozenset[Fact], Predicate | None]] | None:
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
    order: tuple[Rule, ...]            # dependency order: referenced rules first
    questionnaire: Questionnaire = field(repr=False, compare=False)
    plan: _Plan = field(init=False, repr=False, compare=False)
    # content_sha256(): what a sign-off approves; and the one the sign-off recorded (None: none).
    content_sha256: str = ""
    signed_content_sha256: str | None = None
    term_lists: Mapping[str, TermList] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", _Plan.build(self.order, self.term_lists))

    @property
    def signed_off(self) -> bool:
        """Approved, by someone, and for exactly the rules in the file (the recorded content hash matches)."""
        return (self.status == "approved" and bool(self.sign_off_by) and bool(self.content_sha256)
                and self.signed_content_sha256 == self.content_sha256)

    def level(self, level_id: str) -> Level:
        if level_id == NO_LEVEL:
            return self.no_flags
        return next(lv for lv in self.levels if lv.id == level_id)

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
        except TypeError:   # an unhashable answer where a single value belongs: test every rule instead
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
            todo.sort()     # dependency order; a check may be named twice
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

    def prepare(self, answers: Mapping[str, Any], upto: str | None = None) -> tuple[
            Mapping[str, Any], Mapping[str, Any], frozenset[str]]:
        """What the rules see of a patient's answers: (the answers the patient gave to questions they
        were shown; those answers as fire() reads them, with unanswered questions that offer "Not
        sure" judged "not_sure" and "not sure" about the treatment read as every route; the shown
        safety questions left unanswered)."""
        qn = self.questionnaire
        visible = flow.visible_answers(answers, qn)
        unanswered = frozenset(flow.unanswered_safety(visible, qn, upto=upto))
        judged, unanswered = _judged_as_not_sure(visible, qn, unanswered, upto)
        given = {k: v for k, v in judged.items() if k not in unanswered}
        return given, _expand_means_all(judged, qn, unanswered), unanswered

    def evaluate(self, answers: Mapping[str, Any], upto: str | None = None) -> Assessment:
        """Judge a patient's answers: only shown questions count; unanswered never counts as No.

        With `upto`, questions on pages after that one are not counted as unanswered (a form
        stopped early by an urgent answer).
        """
        given, expanded, unanswered = self.prepare(answers, upto)
        results = self.fire(expanded, unanswered)
        fired: list[FiredRule] = []
        for rule in self.rules:
            if rule.id not in results:
                continue
            looked_at = rule.questions or tuple(sorted(unanswered))
            triggers = {q: given.get(q) for q in looked_at if q in given or q in unanswered}
            terms = rule.found_terms(given) if rule.term_tests else ()
            note = rule.staff_note.replace(TERMS_PLACEHOLDER, ", ".join(terms)) if rule.term_tests else rule.staff_note
            fired.append(FiredRule(rule.id, rule.level, rule.shown_messages(expanded, results, unanswered),
                                   note, rule.sources, rule.evidence, triggers, terms, rule.same_day))
        level = min((f.level for f in fired), key=self.rank, default=NO_LEVEL)
        return Assessment(level, tuple(fired), self.version, self.sha256)


def _judged_as_not_sure(visible: Mapping[str, Any], qn: Questionnaire, unanswered: frozenset[str],
                        upto: str | None) -> tuple[Mapping[str, Any], frozenset[str]]:
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
        new = {qid: reading for qid in unanswered if qid not in fills and qid in qn.questions
               and (reading := qn.questions[qid].unanswered_reads_as) is not None}
        if not new:
            return judged, unanswered
        fills.update({qid: list(v) if isinstance(v, tuple) else v for qid, v in new.items()})
        judged = flow.visible_answers({**visible, **fills}, qn)
        unanswered |= frozenset(flow.unanswered_safety(judged, qn, upto=upto))


def _expand_means_all(answers: Mapping[str, Any], qn: Questionnaire,
                      unanswered: frozenset[str] = frozenset()) -> Mapping[str, Any]:
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


# --- loading and validation ------------------------------------------------------------------

def _canonical(obj: Any) -> Any:
    """Parsed YAML as plain JSON data: mappings with text keys (sorted when dumped), lists, scalars."""
    if isinstance(obj, Mapping):
        return {(k if isinstance(k, str) else f"{type(k).__name__}:{k!r}"): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return repr(obj) if obj != obj or obj in (float("inf"), float("-inf")) else obj
    return f"{type(obj).__name__}:{obj}"      # dates and other YAML scalars


def content_sha256(data: Any) -> str:
    """SHA-256 of a parsed rules file's content: what a clinical sign-off approves.

    Computed over the parsed data, canonically serialised (JSON, sorted keys, no spaces), with the
    ruleset's `status` and `sign_off` left out: comments, quoting and layout do not count, while any
    change to a rule, level, message, source, example or the version does.
    """
    if isinstance(data, Mapping):
        data = dict(data)
        if isinstance(data.get("ruleset"), Mapping):
            data["ruleset"] = {k: v for k, v in data["ruleset"].items() if k not in UNSIGNED_KEYS}
    text = json.dumps(_canonical(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# A msgid's translation, or "" when the catalogue has none.
Lookup = Callable[[str], str]


class _Untranslated(gettext.NullTranslations):
    """The last fallback of a catalogue chain: a msgid it reaches has no translation."""

    def gettext(self, message: str) -> str:
        return ""


def translation_directories(translations: str | Path | Iterable[str | Path] | None = None) -> list[Path]:
    """Catalogue directories as Flask-Babel reads BABEL_TRANSLATION_DIRECTORIES: ';'-separated text,
    relative ones from the package folder (the app's root_path); None gives TRANSLATIONS_DIR."""
    if translations is None:
        return [TRANSLATIONS_DIR]
    items: Iterable[str | Path] = (translations.split(";") if isinstance(translations, str)
                                   else [translations] if isinstance(translations, Path) else translations)
    return [TRANSLATIONS_DIR.parent / d for d in items if str(d).strip()]


def catalogue_lookup(language: str, directories: Sequence[Path]) -> Lookup | None:
    """The compiled catalogues of `language` in these directories (the first has priority), as a
    lookup; None when none of them has one. Only the standard library: no Babel, no Flask."""
    chain: gettext.NullTranslations | None = None
    for directory in directories:
        found = gettext.find(TRANSLATION_DOMAIN, str(directory), [language])
        if not found:
            continue
        with open(found, "rb") as fh:
            catalogue = gettext.GNUTranslations(fh)
        if chain is None:
            chain = catalogue
        else:
            chain.add_fallback(catalogue)
    if chain is None:
        return None
    chain.add_fallback(_Untranslated())
    return chain.gettext


def load_ruleset(path: str | Path = DEFAULT_PATH, questionnaire: Questionnaire = QUESTIONNAIRE, *,
                 verify_sign_off: bool = True, languages: Iterable[str] = (),
                 translations: str | Path | Iterable[str | Path] | None = None) -> Ruleset:
    """Read, validate and compile a rules file; raise RulesFileError with every fault found.

    An approved file must carry the content hash its sign-off recorded (content_sha256()); if the
    rules changed since, the file is refused. `verify_sign_off=False` skips only that check (for
    `flask rules sign-off`, which records a new one).

    With `languages` (the app's LANGUAGES), every patient-facing text of the file (level titles and
    outcomes, the no-flags title and outcome, every message) must have a non-empty translation in
    each non-English language's compiled catalogue (found in `translations`, as for
    translation_directories()), with the same {placeholders} and no clearance wording of that
    language (wording.banned_wording). The app starts with this check; the Babel extractor, which
    must read a file whose new texts are not translated yet, loads without it.
    """
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesFileError([RuleError(shown, 0, None, f"cannot read the file: {exc.strerror}")]) from exc
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass  # nosec B506
    except UnicodeDecodeError as exc:
        raise RulesFileError([RuleError(shown, 1, None, "the file is not UTF-8 text")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesFileError([RuleError(shown, line, None, f"YAML syntax: {problem}")]) from exc
    wanted = [lang for lang in dict.fromkeys(str(x) for x in languages) if lang.replace("-", "_").split("_")[0] != "en"]
    return _Validator(shown, hashlib.sha256(raw).hexdigest(), questionnaire, verify_sign_off=verify_sign_off,
                      languages=wanted, directories=translation_directories(translations)).run(data)


class _Validator:
    def __init__(self, file: str, sha256: str, qn: Questionnaire, *, verify_sign_off: bool = True,
                 languages: Sequence[str] = (), directories: Sequence[Path] = ()) -> None:
        self.file, self.sha256, self.qn = file, sha256, qn
        self.verify_sign_off = verify_sign_off
        self.languages, self.directories = languages, directories
        self.errors: list[RuleError] = []

    def error(self, line: int, rule: str | None, message: str) -> None:
        self.errors.append(RuleError(self.file, line, rule, message))

    def keys(self, obj: Any, allowed: set[str], required: set[str], what: str, rule: str | None = None) -> bool:
        if not isinstance(obj, _Map):
            self.error(_line(obj), rule, f"{what} must be a mapping")
            return False
        for key, line in obj.duplicates:
            self.error(line, rule, f"duplicate key {key!r} in {what}")
        for key in obj:
            if key not in allowed:
                self.error(_line(obj, key), rule, f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required - set(obj)):
            self.error(obj.line, rule, f"missing key {key!r} in {what}")
        return True

    def text(self, obj: Mapping[str, Any], key: str, rule: str | None, what: str, patient: bool = False) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            if key in obj:
                self.error(_line(obj, key), rule, f"{what} must be non-empty text")
            return ""
        if patient:
            banned = banned_wording(value, lang="en")
            if banned:
                self.error(_line(obj, key), rule, f"{what} uses clearance wording a patient must never read: "
                           + ", ".join(repr(b) for b in banned))
        return value.strip()

    def run(self, data: Any) -> Ruleset:
        if not self.keys(data, TOP_KEYS, TOP_KEYS - OPTIONAL_TOP_KEYS, "the rules file"):
            raise RulesFileError(self.errors)
        meta = self.ruleset(data.get("ruleset"))
        content = content_sha256(data)
        if self.verify_sign_off:
            self.signed_content(data.get("ruleset"), meta, content)
        levels = self.levels(data.get("levels"))
        no_flags = self.no_flags(data.get("no_flags"))
        messages = self.named_texts(data.get("messages"), "messages", patient=True, pattern=MESSAGE_ID)
        sources = self.named_texts(data.get("sources"), "sources", patient=False, pattern=None)
        self.level_messages(data.get("levels"), levels, messages)
        term_lists = self.term_lists(data.get("term_lists"), sources)
        rules = self.rules(data.get("rules"), {lv.id: lv for lv in levels}, messages, sources, term_lists)
        order = self.order(rules, data.get("rules"))
        for language in self.languages:
            self.translated(language, data, levels, no_flags, messages)
        base = data.get("example_base") or {}
        examples = tuple({**ex, "answers": example_answers(ex, base)} for ex in data.get("examples") or ()
                         if isinstance(ex, Mapping))
        if self.errors:
            raise RulesFileError(self.errors)
        ruleset = Ruleset(self.file, meta["name"], meta["version"], meta["status"], meta["by"], meta["date"],
                          self.sha256, tuple(levels), no_flags, messages, sources, tuple(rules), examples,
                          tuple(order), self.qn, content, meta["content_sha256"], term_lists)
        self.examples(ruleset, data.get("examples"), data.get("example_base"))
        if self.errors:
            raise RulesFileError(self.errors)
        return ruleset

    def translated(self, language: str, data: Mapping[str, Any], levels: Sequence[Level], no_flags: Level,
                   messages: Mapping[str, str]) -> None:
        """Every patient-facing text has a translation into `language`, fit for a patient to read."""
        code = language.replace("-", "_")
        lookup = catalogue_lookup(code, self.directories)
        if lookup is None:
            where = ", ".join(str(d) for d in self.directories)
            self.error(1, None, f"no compiled {language!r} catalogue ({code}/LC_MESSAGES/{TRANSLATION_DOMAIN}.mo "
                       f"in {where}), so its translations cannot be checked: run `make translations`")
            return
        wording = next((c for c in (code, code.split("_")[0]) if c in WORDS), None)
        if wording is None:
            self.error(1, None, f"questionnaire/core/wording.py has no clearance-wording list for {language!r}, so its "
                       "translations cannot be checked")
        raw_levels = [lv for lv in data.get("levels") or () if isinstance(lv, _Map)]
        raw_no_flags, raw_messages = data.get("no_flags"), data.get("messages")
        texts: list[tuple[int, str | None, str, str]] = []     # line, id for the rule slot, what, msgid
        for lv in levels:
            raw = next((r for r in raw_levels if r.get("id") == lv.id), None)
            texts += [(_line(raw, "title"), None, f"level {lv.id} title", lv.title),
                      (_line(raw, "outcome"), None, f"level {lv.id} outcome", lv.outcome)]
            if lv.same_day is not None and raw is not None:
                texts += [(_line(raw.get("same_day"), "title"), None, f"level {lv.id} same_day title",
                           lv.same_day.title),
                          (_line(raw.get("same_day"), "outcome"), None, f"level {lv.id} same_day outcome",
                           lv.same_day.outcome)]
        texts += [(_line(raw_no_flags, "title"), None, "no_flags title", no_flags.title),
                  (_line(raw_no_flags, "outcome"), None, "no_flags outcome", no_flags.outcome)]
        texts += [(_line(raw_messages, key), key, f"message {key}", text) for key, text in messages.items()]
        for line, key, what, msgid in texts:
            if not msgid:
                continue        # reported already as missing or empty
            translation = lookup(msgid)
            if not translation.strip():
                self.error(line, key, f"{what} has no {language!r} translation (a reworded text needs a new one: "
                           "run `make translations` and translate it)")
                continue
            if wording is not None:
                banned = banned_wording(translation, lang=wording)
                if banned:
                    self.error(line, key, f"the {language!r} translation of {what} uses clearance wording a "
                               "patient must never read: " + ", ".join(repr(b) for b in banned))
            wanted, found = sorted(set(_PLACEHOLDER.findall(msgid))), sorted(set(_PLACEHOLDER.findall(translation)))
            if wanted != found:
                self.error(line, key, f"the {language!r} translation of {what} must have the placeholders "
                           f"{', '.join(wanted) or 'none'} (it has {', '.join(found) or 'none'})")

    def ruleset(self, meta: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"name": "", "version": "", "status": "draft", "by": None, "date": None,
                               "content_sha256": None}
        if meta is None or not self.keys(meta, RULESET_KEYS, RULESET_KEYS, "ruleset"):
            return out
        out["name"] = self.text(meta, "name", None, "ruleset name")
        version = meta.get("version")
        if not isinstance(version, (str, int, float)) or isinstance(version, bool) or not str(version).strip():
            self.error(_line(meta, "version"), None, "ruleset version must be text such as \"2026.11.0\"")
        out["version"] = str(version)
        if meta.get("status") not in STATUSES:
            self.error(_line(meta, "status"), None, f"ruleset status must be one of {', '.join(STATUSES)}")
        out["status"] = meta.get("status")
        sign_off = meta.get("sign_off")
        if self.keys(sign_off, SIGN_OFF_KEYS, {"by", "date"}, "sign_off"):
            out["by"] = sign_off.get("by") or None
            out["date"] = str(sign_off["date"]) if sign_off.get("date") else None
            if out["status"] == "approved" and not (out["by"] and out["date"]):
                self.error(_line(meta, "sign_off"), None, "an approved rule set needs a sign-off by someone, with a date")
            recorded = sign_off.get("content_sha256")
            if recorded is not None and not (isinstance(recorded, str) and re.fullmatch(r"[0-9a-f]{64}", recorded)):
                self.error(_line(sign_off, "content_sha256"), None,
                           "sign_off content_sha256 must be 64 lowercase hex digits (written by `flask rules sign-off`)")
            elif recorded is not None:
                out["content_sha256"] = recorded
        return out

    def signed_content(self, meta: Any, out: Mapping[str, Any], content: str) -> None:
        """An approved rule set is approved for the content its sign-off recorded, and no other."""
        if out["status"] != "approved" or not (out["by"] and out["date"]) or not isinstance(meta, _Map):
            return          # not approved, or already reported as an approval without a sign-off
        recorded = out["content_sha256"]
        if recorded == content:
            return
        who = f"the sign-off by {out['by']} on {out['date']}"
        remedy = ("a clinician must sign off again (`flask rules sign-off --by NAME`), "
                  "or the status be set back to draft")
        if recorded is None:
            reason = (f"the rules may have changed after {who}: it records no content_sha256 of the rules it "
                      f"approved; {remedy}")
        else:
            reason = (f"the rules changed after {who} (content sha256 now {content[:12]}, signed off "
                      f"{recorded[:12]}); {remedy}")
        self.error(_line(meta, "sign_off"), None, reason)

    def levels(self, levels: Any) -> list[Level]:
        out: list[Level] = []
        if not isinstance(levels, list) or not levels:
            self.error(_line(levels), None, "levels must be a non-empty list, highest first")
            return out
        for i, lv in enumerate(levels):
            if not self.keys(lv, LEVEL_KEYS | OPTIONAL_LEVEL_KEYS, LEVEL_KEYS, "a level"):
                continue
            level_id = lv.get("id")
            if not isinstance(level_id, str) or not re.match(r"^[a-z_]+$", level_id) or level_id == NO_LEVEL:
                self.error(_line(lv, "id"), None, f"level id {level_id!r} must be snake_case and not {NO_LEVEL!r}")
                continue
            if level_id in {o.id for o in out}:
                self.error(_line(lv, "id"), None, f"duplicate level {level_id!r}")
            for flag in ("holds_booking", "stops_form"):
                if not isinstance(lv.get(flag), bool):
                    self.error(_line(lv, flag), None, f"level {level_id}: {flag} must be true or false")
            same_day = None
            if "same_day" in lv and self.keys(lv["same_day"], OUTCOME_KEYS, OUTCOME_KEYS, f"level {level_id} same_day"):
                raw = lv["same_day"]
                same_day = Level(level_id, self.text(raw, "title", None, f"level {level_id} same_day title", True),
                                 self.text(raw, "outcome", None, f"level {level_id} same_day outcome", True),
                                 lv.get("holds_booking") is True, lv.get("stops_form") is True)
            message = lv.get("message")
            out.append(Level(level_id, self.text(lv, "title", None, f"level {level_id} title", True),
                             self.text(lv, "outcome", None, f"level {level_id} outcome", True),
                             lv.get("holds_booking") is True, lv.get("stops_form") is True,
                             message if isinstance(message, str) else None, same_day))
        return out

    def level_messages(self, raw: Any, levels: Sequence[Level], messages: Mapping[str, str]) -> None:
        """A level's `message` names a message of the file."""
        for lv in raw if isinstance(raw, list) else ():
            if isinstance(lv, _Map) and "message" in lv and lv["message"] not in messages:
                self.error(_line(lv, "message"), None, f"level {lv.get('id')}: unknown message {lv['message']!r}")

    def term_lists(self, obj: Any, sources: Mapping[str, str]) -> dict[str, TermList]:
        """Named term lists (`mentions` and `only_says` tests): each with a title, its sources and
        its terms, whole words only for a `words` list."""
        out: dict[str, TermList] = {}
        if obj is None or not self.keys(obj, set(obj or ()), set(), "term_lists"):
            return out
        for name, spec in obj.items():
            where = f"term list {name}"
            if not (isinstance(name, str) and re.match(r"^[a-z][a-z0-9_]*$", name)):
                self.error(_line(obj, name), None, f"term list name {name!r} must be snake_case")
                continue
            if not self.keys(spec, TERM_LIST_KEYS | OPTIONAL_TERM_LIST_KEYS, TERM_LIST_KEYS, where):
                continue
            match = spec.get("match", "words")
            if match not in MATCHES:
                self.error(_line(spec, "match"), None, f"{where}: match must be one of {', '.join(MATCHES)}")
                continue
            terms, srcs = spec.get("terms"), spec.get("sources")
            if not isinstance(terms, list) or not terms:
                self.error(_line(spec, "terms"), None, f"{where}: terms must be a non-empty list")
                continue
            ok = True
            for j, term in enumerate(terms):
                problem = term_problem(term, match)
                if problem:
                    self.error(_line(terms, j), None, f"{where}: {problem}")
                    ok = False
            if not isinstance(srcs, list) or (match == "words" and not srcs):
                self.error(_line(spec, "sources"), None, f"{where}: sources must be a list of source ids"
                           + (" (at least one: where the names come from)" if match == "words" else ""))
                continue
            for j, src in enumerate(srcs):
                if str(src) not in sources:
                    self.error(_line(srcs, j), None, f"{where}: unknown source {src!r}")
                    ok = False
            title = self.text(spec, "title", None, f"{where} title")
            if ok:
                out[name] = TermList(name, title, tuple(str(t).strip() for t in terms),
                                     tuple(map(str, srcs)), str(match))
        return out

    def no_flags(self, obj: Any) -> Level:
        if obj is None or not self.keys(obj, OUTCOME_KEYS, OUTCOME_KEYS, "no_flags"):
            return Level(NO_LEVEL, "", "", False, False)
        return Level(NO_LEVEL, self.text(obj, "title", None, "no_flags title", True),
                     self.text(obj, "outcome", None, "no_flags outcome", True), False, False)

    def named_texts(self, obj: Any, what: str, patient: bool, pattern: re.Pattern[str] | None) -> dict[str, str]:
        out: dict[str, str] = {}
        if obj is None or not self.keys(obj, set(obj or ()), set(), what):
            return out
        for key in obj:
            if pattern is not None and not (isinstance(key, str) and pattern.match(key)):
                self.error(_line(obj, key), None, f"{what} id {key!r} must look like MSG_SOMETHING")
            out[str(key)] = self.text(obj, key, None, f"{what} {key}", patient)
        return out

    def rules(self, rules: Any, levels: Mapping[str, Level], messages: Mapping[str, str],
              sources: Mapping[str, str], term_lists: Mapping[str, TermList]) -> list[Rule]:
        out: list[Rule] = []
        if not isinstance(rules, list) or not rules:
            self.error(_line(rules), None, "rules must be a non-empty list")
            return out
        seen: set[str] = set()
        for item in rules:
            rid = item.get("id") if isinstance(item, _Map) else None
            rid = rid if isinstance(rid, str) else None
            if not self.keys(item, RULE_KEYS | OPTIONAL_RULE_KEYS, RULE_KEYS, "a rule", rid):
                continue
            if rid is None or not re.match(r"^r_[a-z0-9_]+$", rid):
                self.error(_line(item, "id"), rid, f"rule id {item.get('id')!r} must look like r_something")
                continue
            if rid in seen:
                self.error(_line(item, "id"), rid, "duplicate rule id")
            seen.add(rid)
            # A missing key is reported once, by keys() above, not again as a bad value.
            level = item.get("level")
            if "level" in item and level not in levels:
                self.error(_line(item, "level"), rid, f"unknown level {level!r} (levels: {', '.join(sorted(levels))})")
            entries = item.get("patient_message")
            if not isinstance(entries, list) or not entries:
                if "patient_message" in item:
                    self.error(_line(item, "patient_message"), rid, "patient_message must be a list of message ids")
                entries = []
            same_day = item.get("same_day", False)
            if not isinstance(same_day, bool):
                self.error(_line(item, "same_day"), rid, "same_day must be true or false")
            elif same_day and level in levels and levels[level].same_day is None:
                self.error(_line(item, "same_day"), rid, f"level {level} has no same_day title and outcome")
            msg_ids, conditions, checks, msg_questions = self.patient_messages(entries, rid, messages, term_lists)
            srcs = item.get("sources")
            if not isinstance(srcs, list):
                if "sources" in item:
                    self.error(_line(item, "sources"), rid, "sources must be a list of source ids")
                srcs = []
            for j, s in enumerate(srcs):
                if str(s) not in sources:
                    self.error(_line(srcs, j), rid, f"unknown source {s!r}")
            evidence = str(item.get("evidence", ""))
            if "evidence" in item and not GRADE.match(evidence):
                self.error(_line(item, "evidence"), rid, f"evidence {evidence!r} must be a grade A, B, C, D or X (or B/C)")
            staff_note = self.text(item, "staff_note", rid, "staff_note")
            term_tests = tuple((sub["q"], tuple(term_lists[n] for n in ([sub["mentions"]] if isinstance(
                sub["mentions"], str) else sub["mentions"]) if n in term_lists))
                for sub in walk(item.get("when")) if "q" in sub and "mentions" in sub)
            for placeholder in sorted(set(_PLACEHOLDER.findall(staff_note))):
                if placeholder != TERMS_PLACEHOLDER:
                    self.error(_line(item, "staff_note"), rid, f"staff_note: unknown placeholder {placeholder} "
                               f"(the only one is {TERMS_PLACEHOLDER}, the terms a `mentions` test found)")
                elif not term_tests:
                    self.error(_line(item, "staff_note"), rid, f"staff_note uses {TERMS_PLACEHOLDER}, but the "
                               "rule's condition has no `mentions` test to find terms")
            predicate = self.condition(item, rid, term_lists) if "when" in item else None
            if predicate is None:
                continue
            if checks is None:
                continue
            questions = tuple(dict.fromkeys([ref.question for ref in references(item["when"])] + msg_questions))
            conditional = any(c is not None for c in conditions)
            out.append(Rule(rid, str(level), item["when"], tuple(msg_ids), staff_note,
                            tuple(map(str, srcs)), evidence, questions, predicate,
                            tuple(conditions) if conditional else (), tuple(checks) if conditional else (),
                            same_day is True, term_tests))
        return out

    def patient_messages(self, entries: list[Any], rid: str, messages: Mapping[str, str],
                         term_lists: Mapping[str, TermList]) -> tuple[
            list[str], list[Mapping[str, Any] | None], list[Predicate | None] | None, list[str]]:
        """A rule's patient_message list: message ids, and {id: MSG_X, when: CONDITION} entries shown
        only when their condition holds. Returns the ids, their conditions (None: always), the
        compiled conditions (None instead of the list if one is faulty) and the questions they test."""
        ids: list[str] = []
        conditions: list[Mapping[str, Any] | None] = []
        checks: list[Predicate | None] | None = []
        questions: list[str] = []
        for j, entry in enumerate(entries):
            line = _line(entries, j)
            when: Mapping[str, Any] | None = None
            if isinstance(entry, Mapping):
                if not self.keys(entry, MESSAGE_ENTRY_KEYS, MESSAGE_ENTRY_KEYS, "a patient_message entry", rid) \
                        or not MESSAGE_ENTRY_KEYS <= set(entry):
                    checks = None       # a missing key is reported once, by keys()
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
            check = self.check_condition(when, _line(entry, "when", line), rid, f"message {message} condition",
                                         term_lists)
            if check is None:
                checks = None
            elif checks is not None:
                checks.append(check)
            questions += [ref.question for ref in references(when)]
        return ids, conditions, checks, questions

    def condition(self, item: _Map, rid: str, term_lists: Mapping[str, TermList]) -> Predicate | None:
        return self.check_condition(item.get("when"), _line(item, "when"), rid, "condition", term_lists)

    def check_condition(self, when: Any, line: int, rid: str, what: str,
                        term_lists: Mapping[str, TermList]) -> Predicate | None:
        """Compile a condition (of a rule, or of one of its messages) and check every question,
        operator and value it names against the questionnaire; None if anything is wrong."""
        try:
            predicate = compile_condition(when, allow_rules=True, terms=term_lists)
        except ConditionError as exc:
            self.error(line, rid, f"{what} {exc}")
            return None
        ok = True
        # Report each fault on the line of the question test that has it, not on `when:`.
        refs = [(_line(sub, default=line), ref) for sub in walk(when) if "q" in sub for ref in references(sub)]
        for at, ref in refs:
            q = self.qn.questions.get(ref.question)
            if q is None:
                self.error(at, rid, f"unknown question {ref.question!r}")
                ok = False
                continue
            problem = _operator_problem(q.kind, ref.op)
            if q.means_all and ref.op in ("answered", "unanswered"):
                problem = (f"'{ref.op}' cannot tell here: a shown {ref.question} left unanswered counts as "
                           f"{q.means_all!r}, every choice (use {{safety_unanswered: true}} for unanswered questions)")
            elif q.unanswered_reads_as is not None and ref.op in ("answered", "unanswered"):
                problem = (f"'{ref.op}' cannot tell here: a shown {ref.question} left unanswered counts as "
                           "'not_sure' (test not_sure; {safety_unanswered: true} finds unanswered questions)")
            if problem:
                self.error(at, rid, f"{ref.question}: {problem}")
                ok = False
            elif ref.op in ("eq", "in") + MULTI_OPS:
                for v in ref.values:
                    if v not in q.values:
                        self.error(at, rid, f"{ref.question} cannot take the value {v!r} "
                                   f"(it takes {', '.join(q.values)})")
                        ok = False
        return predicate if ok else None

    def order(self, rules: list[Rule], raw: Any) -> list[Rule]:
        """Rules in dependency order; report unknown references and cycles."""
        by_id = {r.id: r for r in rules}
        lines = {it.get("id"): _line(it, "when") for it in raw or [] if isinstance(it, _Map)}
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
                        self.error(_line(cond, default=lines.get(r.id, 1)), r.id,
                                   f"message {message} condition refers to unknown rule {ref!r}")
        ordered: list[Rule] = []
        state: dict[str, int] = {}   # 1 visiting, 2 done

        def visit(rid: str, trail: list[str]) -> None:
            if state.get(rid) == 2:
                return
            if state.get(rid) == 1:
                cycle = trail[trail.index(rid):] + [rid]
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

    def examples(self, ruleset: Ruleset, examples: Any, base: Any) -> None:
        if base is not None:
            if not isinstance(base, Mapping):
                self.error(_line(base), None, "example_base must be a mapping of question ids and answers")
                base = {}
            for k in base:
                for p in answer_problems({k: base[k]}, ruleset.questionnaire):
                    self.error(_line(base, k), None, f"example_base: {p}")
        if examples is None:
            return
        if not isinstance(examples, list):
            self.error(_line(examples), None, "examples must be a list")
            return
        rule_ids = {r.id for r in ruleset.rules}
        for ex in examples:
            if not self.keys(ex, EXAMPLE_KEYS, {"name", "answers"}, "an example"):
                continue
            name = ex.get("name")
            where = _line(ex)
            answers = ex.get("answers")
            if isinstance(answers, Mapping):
                problems = [(_line(answers, k), p) for k in answers
                            for p in answer_problems({k: answers[k]}, ruleset.questionnaire)]
            else:
                problems = [(where, p) for p in answer_problems(answers, ruleset.questionnaire)]
            for line, p in problems:
                self.error(line, None, f"example {name!r}: {p}")
            expect: dict[str, list[Any]] = {k: list(ex.get(k) or []) for k in ("fires", "does_not_fire")}
            for k, ids in expect.items():
                for rid in ids:
                    if rid not in rule_ids:
                        self.error(_line(ex, k), None, f"example {name!r}: {k} names unknown rule {rid!r}")
            shows: dict[str, list[Any]] = {k: list(ex.get(k) or []) for k in ("shows", "does_not_show")}
            for k, ids in shows.items():
                for mid in ids:
                    if mid not in ruleset.messages:
                        self.error(_line(ex, k), None, f"example {name!r}: {k} names unknown message {mid!r}")
            level = ex.get("level")
            if level is not None and level != NO_LEVEL and level not in [lv.id for lv in ruleset.levels]:
                self.error(_line(ex, "level"), None, f"example {name!r}: unknown level {level!r}")
            if problems:
                continue
            result = ruleset.evaluate(example_answers(ex, base or {}))
            shown = set(result.message_ids)
            for mid in shows["shows"]:
                if mid not in shown:
                    self.error(_line(ex, "shows"), None, f"example {name!r} should show message {mid} but does not")
            for mid in shows["does_not_show"]:
                if mid in shown:
                    self.error(_line(ex, "does_not_show"), None, f"example {name!r} shows message {mid} but must not")
            fired = set(result.rule_ids)
            for rid in expect["fires"]:
                if rid not in fired:
                    self.error(_line(ex, "fires"), rid, f"example {name!r} should fire this rule but does not")
            for rid in expect["does_not_fire"]:
                if rid in fired:
                    self.error(_line(ex, "does_not_fire"), rid, f"example {name!r} fires this rule but must not")
            if level is not None and result.level != level:
                self.error(_line(ex, "level"), None,
                           f"example {name!r} gives level {result.level!r}, expected {level!r}")


def example_answers(example: Mapping[str, Any], base: Mapping[str, Any]) -> Any:
    """An example's answers on top of the file's example_base (a complete answer set), so that the
    questions an example does not name are answered rather than judged "not sure"; as written
    for an example marked `alone: true` (one about unanswered questions)."""
    answers = example.get("answers")
    if example.get("alone") is True or not isinstance(answers, Mapping) or not isinstance(base, Mapping):
        return answers
    return {**base, **answers}


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


def answer_problems(answers: Any, qn: Questionnaire = QUESTIONNAIRE) -> list[str]:
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
