"""Which pages and questions a patient is shown for given answers, and page order (no Flask).

A question's shown-when condition refers only to questions on earlier pages, so one pass over the
pages in order decides everything: an answer counts only if its question is shown given the
answers that count before it. A page is shown when at least one of its questions is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from .conditions import has_answer
from .questions import QUESTIONNAIRE, Page, Question, Questionnaire

_NO_RULES: Mapping[str, bool] = {}
_NONE: frozenset[str] = frozenset()


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
    visible: dict[str, Any] = {}
    for _page, _shown, visible in _walk(answers, qn):
        pass
    return dict(visible)


def shown_pages(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> list[Page]:
    return [page for page, _shown, _visible in _walk(answers, qn)]


def shown_questions(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> list[Question]:
    """The questions of one page that are shown (empty when the page itself is not shown)."""
    for page, shown, _visible in _walk(answers, qn):
        if page.id == page_id:
            return shown
    return []


def is_shown(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> bool:
    return any(p.id == page_id for p in shown_pages(answers, qn))


def next_page(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> Page | None:
    """The first shown page after page_id, or None at the end."""
    ids = [p.id for p in qn.pages]
    after = set(ids[ids.index(page_id) + 1:])
    return next((p for p in shown_pages(answers, qn) if p.id in after), None)


def previous_page(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> Page | None:
    """The last shown page before page_id, or None at the start."""
    ids = [p.id for p in qn.pages]
    before = set(ids[: ids.index(page_id)])
    earlier = [p for p in shown_pages(answers, qn) if p.id in before]
    return earlier[-1] if earlier else None


def unanswered_required(page_id: str, answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE) -> list[Question]:
    """Shown questions of a page that need an answer and have none."""
    return [q for q in shown_questions(page_id, answers, qn) if not q.optional and not has_answer(answers.get(q.id))]


def first_incomplete_page(answers: Mapping[str, Any], done: Collection[str],
                          qn: Questionnaire = QUESTIONNAIRE) -> Page | None:
    """The first shown page the patient has not completed (sent with Continue, nothing required missing)."""
    for page, shown, _visible in _walk(answers, qn):
        if page.id not in done or any(not q.optional and not has_answer(answers.get(q.id)) for q in shown):
            return page
    return None


def unanswered_safety(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE,
                      upto: str | None = None) -> list[str]:
    """Ids of shown safety questions without an answer, on pages up to and including `upto`."""
    missing: list[str] = []
    for page, shown, _visible in _walk(answers, qn):
        missing.extend(q.id for q in shown if qn.is_safety(q) and not has_answer(answers.get(q.id)))
        if page.id == upto:
            break
    return missing


def answers_by_page(answers: Mapping[str, Any], qn: Questionnaire = QUESTIONNAIRE,
                    upto: str | None = None) -> list[tuple[Page, list[tuple[Question, Any]]]]:
    """Every shown question with its answer (None when unanswered), grouped by page, in order.

    Nothing from hidden questions; the declaration is left out; with `upto`, pages after that one
    are left out (a form stopped early).
    """
    groups: list[tuple[Page, list[tuple[Question, Any]]]] = []
    visible = visible_answers(answers, qn)
    for page, shown, _visible in _walk(visible, qn):
        if page.id != "declaration":
            groups.append((page, [(q, visible.get(q.id)) for q in shown]))
        if page.id == upto:
            break
    return groups
