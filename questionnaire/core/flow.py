"""Which pages and questions a patient is shown for given answers, and page order (no Flask).

A question's shown-when condition refers only to questions on earlier pages, so one pass over the
pages in order decides everything: an answer counts only if its question is shown given the
answers that count before it. A page is shown when at least one of its questions is.

Which pages and questions are shown depends only on the answers to the questions that some
shown-when condition refers to (choice questions, in this questionnaire). route() remembers the
shown pages and questions for each combination of those answers it has walked, per questionnaire:
a bounded map of choice values, never anything a patient typed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from questionnaire.core.conditions import has_answer, references
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import Page, Question, Questionnaire

_NO_RULES: Mapping[str, bool] = {}
_NONE: frozenset[str] = frozenset()
Steps = tuple[tuple[Page, tuple[Question, ...]], ...]
REMEMBERED = 4096  # combinations of deciding answers per questionnaire; when full, it starts again empty


def _walk(answers: Mapping[str, Any], qn: Questionnaire) -> Iterator[tuple[Page, list[Question], dict[str, Any]]]:
    """Yield each shown page with its shown questions and the visible answers up to and including it."""
    visible: dict[str, Any] = {}
    for page in qn.pages:
        shown = [q for q in page.questions if q.shown(visible, _NO_RULES, _NONE)]
        if not shown:
            continue
        for q in shown:
            if q.id in answers and has_answer(answers[q.id]):
                visible[q.id] = answers[q.id]
        yield page, shown, visible


def visible_answers(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> dict[str, Any]:
    """The answers to questions that are shown; every answer to a hidden question is dropped."""
    return dict(route(answers, qn).visible)


@dataclass(frozen=True)
class Route:
    """The pages shown for some answers, in order, each with its shown questions: one walk, asked
    as often as a request needs (the functions below each walk again)."""

    steps: tuple[tuple[Page, tuple[Question, ...]], ...]
    order: tuple[str, ...]  # every page id of the questionnaire, shown or not
    visible: Mapping[str, Any]  # the answers to shown questions (visible_answers)

    @property
    def pages(self) -> list[Page]:
        return [page for page, _shown in self.steps]

    def questions(self, page_id: str) -> list[Question]:
        """The shown questions of one page (empty when the page itself is not shown)."""
        return next((list(shown) for page, shown in self.steps if page.id == page_id), [])

    def after(self, page_id: str) -> Page | None:
        """The first shown page after page_id, or None at the end."""
        later = set(self.order[self.order.index(page_id) + 1 :])
        return next((page for page, _shown in self.steps if page.id in later), None)

    def before(self, page_id: str) -> Page | None:
        """The last shown page before page_id, or None at the start."""
        earlier = set(self.order[: self.order.index(page_id)])
        return next((page for page, _shown in reversed(self.steps) if page.id in earlier), None)

    def unanswered_safety(self, qn: Questionnaire = QUESTIONNAIRE, upto: str | None = None) -> list[str]:
        """Ids of shown safety questions without an answer, on pages up to and including `upto`."""
        pages = set(self.order if upto is None else self.order[: self.order.index(upto) + 1])
        return [
            q.id
            for page, shown in self.steps
            if page.id in pages
            for q in shown
            if qn.is_safety(q) and q.id not in self.visible
        ]

    def first_incomplete(self, done: Collection[str]) -> Page | None:
        """The first shown page the patient has not completed (sent with Continue, nothing required missing)."""
        for page, shown in self.steps:
            if page.id not in done or any(not q.optional and q.id not in self.visible for q in shown):
                return page
        return None


def route(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> Route:
    """The pages and questions shown for these answers, and the answers that count (visible)."""
    memory = _memory(qn)
    key = memory.key(answers)
    steps = memory.steps.get(key) if key is not None else None
    if steps is None:
        steps = walked_steps(answers, qn)
        if key is not None:
            if len(memory.steps) >= REMEMBERED:
                memory.steps.clear()
            memory.steps[key] = steps
    visible = {
        q.id: answers[q.id] for _page, shown in steps for q in shown if q.id in answers and has_answer(answers[q.id])
    }
    return Route(steps, memory.order, visible)


def walked_steps(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> Steps:
    """The shown pages with their shown questions, from a walk of the pages (what route() remembers)."""
    return tuple((page, tuple(shown)) for page, shown, _visible in _walk(answers, qn))


@dataclass
class _Memory:
    """What route() keeps for one questionnaire."""

    questionnaire: Questionnaire
    order: tuple[str, ...]  # every page id
    deciding: tuple[tuple[str, frozenset[str]], ...]  # (id, choice values) of each question a condition names
    steps: dict[tuple[Any, ...], Steps]

    def key(self, answers: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The deciding answers; None when one of them is not made of its question's choices (the
        steps for such answers are walked and not kept)."""
        key: list[Any] = []
        for qid, values in self.deciding:
            value = answers.get(qid)
            if value is None or value == "" or value == []:
                key.append(None)
            elif value.__class__ is str and value in values:
                key.append(value)
            elif value.__class__ is list and all(v.__class__ is str and v in values for v in value):
                key.append(tuple(value))
            else:
                return None
        return tuple(key)


_MEMORIES: dict[int, _Memory] = {}


def _memory(qn: Questionnaire) -> _Memory:
    memory = _MEMORIES.get(id(qn))
    if memory is None or memory.questionnaire is not qn:
        if len(_MEMORIES) >= 64:  # questionnaires that tests build
            _MEMORIES.clear()
        named = {ref.question for q in qn.questions.values() if q.shown_when for ref in references(q.shown_when)}
        deciding = tuple((q.id, frozenset(q.values)) for p in qn.pages for q in p.questions if q.id in named)
        memory = _MEMORIES[id(qn)] = _Memory(qn, tuple(p.id for p in qn.pages), deciding, {})
    return memory


def shown_pages(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> list[Page]:
    return route(answers, qn).pages


def shown_questions(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> list[Question]:
    """The questions of one page that are shown (empty when the page itself is not shown)."""
    return route(answers, qn).questions(page_id)


def is_shown(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> bool:
    return any(p.id == page_id for p in shown_pages(answers, qn))


def next_page(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> Page | None:
    """The first shown page after page_id, or None at the end."""
    return route(answers, qn).after(page_id)


def previous_page(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> Page | None:
    """The last shown page before page_id, or None at the start."""
    return route(answers, qn).before(page_id)


def unanswered_required(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> list[Question]:
    """Shown questions of a page that need an answer and have none."""
    return [q for q in shown_questions(page_id, answers, qn) if not q.optional and not has_answer(answers.get(q.id))]


def first_incomplete_page(
    answers: Mapping[str, Any], done: Collection[str], qn: Questionnaire = QUESTIONNAIRE
) -> Page | None:
    """The first shown page the patient has not completed (sent with Continue, nothing required missing)."""
    return route(answers, qn).first_incomplete(done)


def unanswered_safety(
    answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE, upto: str | None = None
) -> list[str]:
    """Ids of shown safety questions without an answer, on pages up to and including `upto`."""
    return route(answers, qn).unanswered_safety(qn, upto)


def answers_by_page(
    answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE, upto: str | None = None
) -> list[tuple[Page, list[tuple[Question, Any]]]]:
    """Every shown question with its answer (None when unanswered), grouped by page, in order.

    Nothing from hidden questions; the declaration is left out; with `upto`, pages after that one
    are left out (a form stopped early).
    """
    groups: list[tuple[Page, list[tuple[Question, Any]]]] = []
    walked = route(answers, qn)
    for page, shown in walked.steps:
        if page.id != "declaration":
            groups.append((page, [(q, walked.visible.get(q.id)) for q in shown]))
        if page.id == upto:
            break
    return groups
