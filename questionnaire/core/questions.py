"""The questionnaire's types, the constructors its definition is written with, and build() (no Flask).

THE questionnaire (its pages, questions, choices, hints, "why we ask" and shown-when conditions) is
data in definition.py; everything that shows or checks a question (forms, pages, check-your-answers,
staff views, exports, translations and the rules validator) reads it from there. Texts are English
msgids, marked with N_() so that Babel extracts them; the web layer translates them when it renders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from questionnaire.core.conditions import ConditionError, Predicate, compile_condition, references


def N_(text: str) -> str:
    """Mark a string for translation without translating it here (Babel keyword)."""
    return text


KINDS = ("yn", "ynu", "single", "multi", "int", "text")
SAFETY_KINDS = ("yn", "ynu", "single", "multi", "int")
NOT_SURE_HINT = N_("It's fine to choose \u201cNot sure\u201d. We will check it with you. Please don't guess.")
NOT_SURE = "not_sure"
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    exclusive: bool = False


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: each question exists once
class Question:
    id: str
    kind: str
    text: str
    error: str
    choices: tuple[Choice, ...] = ()
    hint: str | None = None
    why: str | None = None
    optional: bool = False
    shown_when: Mapping[str, Any] | None = None
    min: int | None = None
    max: int | None = None
    suffix: str | None = None
    input_type: str = "text"
    autocomplete: str | None = None
    checkbox: bool = False
    multiline: bool = False
    max_length: int = 2000
    # A multi answer holding this value is read by the rules as every other choice too.
    means_all: str | None = None
    page_id: str = ""
    shown: Predicate = field(default=lambda a, r, u: True, compare=False, repr=False)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)

    @property
    def exclusive_values(self) -> frozenset[str]:
        return frozenset(c.value for c in self.choices if c.exclusive)

    @property
    def hints(self) -> tuple[str, ...]:
        """Hints shown under the question: its own, then the "Not sure" reassurance on ynu questions."""
        own = (self.hint,) if self.hint else ()
        return own + ((NOT_SURE_HINT,) if self.kind == "ynu" else ())

    @property
    def unanswered_reads_as(self) -> str | tuple[str, ...] | None:
        """What the rules read for this question when it is shown but unanswered (clinical-content.md
        R2): "not_sure" for a question that offers it (a multi answer: ("not_sure",)); None for the
        others, which the rules see as unanswered."""
        if NOT_SURE not in self.values:
            return None
        return (NOT_SURE,) if self.kind == "multi" else NOT_SURE

    def label_for(self, value: str) -> str:
        for c in self.choices:
            if c.value == value:
                return c.label
        return value

    def problem(self, value: Any) -> str | None:
        """Why a value cannot be an answer to this question, or None when it can.

        An empty value is not checked here: whether an answer is required is the form's concern.
        """
        if value is None:
            return None
        if self.kind in ("yn", "ynu", "single"):
            if value not in self.values:
                return f"{value!r} is not one of {', '.join(self.values)}"
        elif self.kind == "multi":
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                return "needs a list of values"
            unknown = [v for v in value if v not in self.values]
            if unknown:
                return f"{', '.join(map(repr, unknown))} not one of {', '.join(self.values)}"
            if len(set(value)) != len(value):
                return "repeats a value"
            chosen_exclusive = [v for v in value if v in self.exclusive_values]
            if chosen_exclusive and len(value) > 1:
                return f"{chosen_exclusive[0]!r} cannot be combined with other choices"
        elif self.kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                return "needs a whole number"
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                return f"must be between {self.min} and {self.max}"
        elif self.kind == "text":
            if not isinstance(value, str):
                return "needs text"
            if len(value) > self.max_length:
                return f"is longer than {self.max_length} characters"
        return None


@dataclass(frozen=True, eq=False)
class Page:
    id: str
    title: str
    questions: tuple[Question, ...]
    intro: str | None = None
    # Follow-up pages are shown only when one of their questions is shown.
    follow_up: bool = False

    @property
    def section(self) -> str:
        return self.id.split("-follow-up")[0].split("-detail")[0]


# --- constructors: keep the definition below short and readable ---------------------------

YES_NO = (Choice("yes", N_("Yes")), Choice("no", N_("No")))
YES_NO_UNSURE = YES_NO + (Choice("not_sure", N_("Not sure")),)


def yn(id: str, text: str, error: str, **kw: Any) -> Question:
    return Question(id=id, kind="yn", text=text, error=error, choices=YES_NO, **kw)


def ynu(id: str, text: str, error: str, **kw: Any) -> Question:
    return Question(id=id, kind="ynu", text=text, error=error, choices=YES_NO_UNSURE, **kw)


def single(id: str, text: str, error: str, choices: list[tuple[str, str]], **kw: Any) -> Question:
    return Question(
        id=id, kind="single", text=text, error=error, choices=tuple(Choice(v, label) for v, label in choices), **kw
    )


def multi(
    id: str,
    text: str,
    error: str,
    choices: list[tuple[str, str]],
    exclusive: tuple[str, ...] = ("none_of_these", "not_sure"),
    **kw: Any,
) -> Question:
    return Question(
        id=id,
        kind="multi",
        text=text,
        error=error,
        choices=tuple(Choice(v, label, v in exclusive) for v, label in choices),
        **kw,
    )


def number(id: str, text: str, error: str, min: int, max: int, **kw: Any) -> Question:
    return Question(id=id, kind="int", text=text, error=error, min=min, max=max, **kw)


def text(id: str, text: str, error: str = "", **kw: Any) -> Question:
    return Question(id=id, kind="text", text=text, error=error, **kw)


def page(id: str, title: str, *questions: Question, intro: str | None = None) -> Page:
    return Page(
        id=id,
        title=title,
        questions=questions,
        intro=intro,
        follow_up=id.endswith("-follow-up") or id.endswith("-detail"),
    )


class DefinitionError(ValueError):
    """The questionnaire definition breaks one of its own rules."""


@dataclass(frozen=True)
class Questionnaire:
    pages: tuple[Page, ...]
    questions: Mapping[str, Question]

    def page(self, page_id: str) -> Page:
        for p in self.pages:
            if p.id == page_id:
                return p
        raise KeyError(page_id)

    def is_safety(self, q: Question) -> bool:
        """Safety questions (for r_required_unanswered): every kind but text, outside contact, declaration
        and the check-in on the day (core/checkin.py: asked later, by the front desk, never part of the form)."""
        return q.kind in SAFETY_KINDS and q.page_id not in ("contact", "declaration", "check-in")


def always_shown(a: Any, r: Any, u: Any) -> bool:
    """The shown-when of a question without one."""
    return True


def build(pages: tuple[Page, ...]) -> Questionnaire:
    """Check the definition and compile its shown-when conditions; raise DefinitionError on any fault."""
    errors: list[str] = []
    seen: dict[str, Question] = {}
    page_ids: set[str] = set()
    built_pages: list[Page] = []
    for p in pages:
        if p.id in page_ids:
            errors.append(f"page {p.id}: duplicate page id")
        page_ids.add(p.id)
        if not p.questions:
            errors.append(f"page {p.id}: has no questions")
        built: list[Question] = []
        earlier = dict(seen)
        for q in p.questions:
            where = f"page {p.id}: question {q.id}"
            if q.id in seen or q.id in {b.id for b in built}:
                errors.append(f"{where}: duplicate question id")
            if q.kind not in KINDS:
                errors.append(f"{where}: unknown kind {q.kind!r}")
            if not SNAKE_CASE.match(q.id):
                errors.append(f"{where}: id is not snake_case")
            for c in q.choices:
                if not SNAKE_CASE.match(c.value):
                    errors.append(f"{where}: choice value {c.value!r} is not snake_case")
            if len(set(q.values)) != len(q.values):
                errors.append(f"{where}: repeats a choice value")
            if q.exclusive_values and q.kind != "multi":
                errors.append(f"{where}: only multi questions have exclusive choices")
            if q.kind in ("yn", "ynu", "single", "multi") and not q.choices:
                errors.append(f"{where}: has no choices")
            if not q.optional and not q.error:
                errors.append(f"{where}: a required question needs an error message")
            shown: Predicate = always_shown
            if q.shown_when is not None:
                try:
                    shown = compile_condition(q.shown_when, path="shown_when")
                except ConditionError as exc:
                    errors.append(f"{where}: {exc}")
                for ref in references(q.shown_when):
                    target = earlier.get(ref.question)
                    if target is None:
                        errors.append(
                            f"{where}: shown_when refers to {ref.question!r}, "
                            "which is not a question on an earlier page"
                        )
                        continue
                    bad = [
                        v
                        for v in ref.values
                        if target.choices
                        and ref.op not in ("answered", "unanswered", "nonempty")
                        and v not in target.values
                    ]
                    if bad:
                        errors.append(f"{where}: shown_when uses {bad[0]!r}, which {ref.question} cannot take")
            built.append(_replace(q, page_id=p.id, shown=shown))
        for b in built:
            seen[b.id] = b
        built_pages.append(Page(p.id, p.title, tuple(built), p.intro, p.follow_up))
    if errors:
        raise DefinitionError("questionnaire definition:\n  " + "\n  ".join(errors))
    return Questionnaire(pages=tuple(built_pages), questions=seen)


def _replace(q: Question, **changes: Any) -> Question:
    from dataclasses import replace

    return replace(q, **changes)
