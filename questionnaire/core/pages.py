"""A question page decided (no Flask): what is shown, what is stored, where next, whether the form stops.

A request for a question page walks the draft's answers once (visit()); what the patient sent
with the page, as the form read it, then decides the step (decide()). Storing the page walks the
stored answers once more (with_page()), and that walk serves after_continue(): the rules judge
the stored answers and say whether the form stops, and the route says which page comes next.
The view loads, validates, calls these, stores what they say and redirects or renders.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import NOT_SURE_HINT, Page, Question, Questionnaire
from questionnaire.core.rules import Assessment, Ruleset

# show: the page with its saved answers (a GET);
# ahead: the page comes after a page still to answer (or is not shown): go to that page instead;
# switch_language: keep what was typed (the page still needs Continue), change language, show it again;
# token_failed: the form's token did not match: show what was sent again, store nothing;
# invalid: show what was sent again with its errors (the answers that are fine are kept);
# continue: the page is complete: store it as sent with Continue, then after_continue().
Kind = Literal["show", "ahead", "switch_language", "token_failed", "invalid", "continue"]


@dataclass(frozen=True)
class Sent:
    """What the patient sent with a question page, as the form read it."""

    answers: Mapping[str, Any]  # the well-formed answers, in stored form
    valid: bool  # every answer fine, nothing required missing, the token matched
    token_ok: bool  # the form's token matched the session's
    switch_language: bool = False  # sent with the language switcher rather than Continue


@dataclass(frozen=True)
class Visit:
    """A question page for the draft's answers: one walk of them."""

    page: Page
    answers: Mapping[str, Any]  # the draft's answers
    route: flow.Route  # the pages shown for them (sections, the Back link)
    questions: tuple[Question, ...]  # the page's shown questions: what its form reads
    first_incomplete: Page | None  # the first shown page still to answer (None: all answered)

    @property
    def shown(self) -> bool:
        return any(p.id == self.page.id for p in self.route.pages)

    @property
    def ahead(self) -> bool:
        """Not shown, or after the first page the patient still has to answer."""
        if not self.shown:
            return True
        ids = [p.id for p in self.route.pages]
        first = self.first_incomplete
        return first is not None and ids.index(self.page.id) > ids.index(first.id)


@dataclass(frozen=True)
class Step:
    """What a question page request does: its kind, and the page answers to store (None: none)."""

    kind: Kind
    store: Mapping[str, Any] | None = None
    done: bool = False  # stored as sent with Continue
    go_to: Page | None = None  # ahead: where the patient goes instead (None: check answers)


@dataclass(frozen=True)
class Continued:
    """After a page sent with Continue is stored: the form stops (with this assessment), or goes on."""

    stops: bool
    assessment: Assessment
    go_to: Page | None  # the next page to show (None: check answers)


def visit(answers: Mapping[str, Any], done: Collection[str], page_id: str, qn: Questionnaire = QUESTIONNAIRE) -> Visit:
    """The page `page_id` (KeyError if there is none) for the draft's answers and completed pages."""
    page = qn.page(page_id)
    route = flow.route(answers, qn)
    return Visit(page, answers, route, tuple(route.questions(page.id)), route.first_incomplete(done))


def decide(at: Visit, sent: Sent | None) -> Step:
    """What a request for the page does: `sent` is None for a GET."""
    if at.ahead:
        # Typically after a lost session: keep what was typed on a page that is shown, to fill it
        # in when the patient gets there, and send them to the first gap.
        keep = sent is not None and sent.valid and at.shown
        return Step("ahead", store=sent.answers if keep and sent is not None else None, go_to=at.first_incomplete)
    if sent is None:
        return Step("show")
    if sent.switch_language and sent.token_ok:
        # Kept to fill the page in, not as an answer sent with Continue: the page still needs Continue.
        return Step("switch_language", store=sent.answers)
    if not sent.token_ok:
        return Step("token_failed")
    if not sent.valid:
        # Nothing given is lost if the patient now goes Back: the answers that are fine are kept (over
        # what was saved before), and the page waits for Continue again.
        saved = {q.id: at.answers[q.id] for q in at.questions if q.id in at.answers}
        return Step("invalid", store={**saved, **sent.answers})
    return Step("continue", store=sent.answers, done=True)


@dataclass(frozen=True)
class Saved:
    """A draft with one page's answers stored: what to write, and the route of what is written."""

    answers: dict[str, Any]  # the answers to shown questions (answers to hidden ones are dropped)
    done_pages: list[str]  # the shown pages sent with Continue
    route: flow.Route  # flow.route(answers): for after_continue() without another walk


def with_page(
    answers: Mapping[str, Any],
    done: Collection[str],
    page_id: str,
    page_answers: Mapping[str, Any],
    *,
    done_page: bool,
    route: flow.Route | None = None,
    qn: Questionnaire = QUESTIONNAIRE,
) -> Saved:
    """The draft's answers and completed pages once page `page_id` holds `page_answers`: the page's
    earlier answers replaced, answers to questions no longer shown dropped, and pages no longer
    shown no longer counted as done. With done_page=False the page is kept to fill in later but
    still has to be sent with Continue. `route`: flow.route(answers), when the caller has it."""
    before = route if route is not None else flow.route(answers, qn)
    merged = dict(answers)
    for q in before.questions(page_id):
        merged.pop(q.id, None)
    merged.update(page_answers)
    after = flow.route(merged, qn)
    shown = {p.id for p, _questions in after.steps}
    kept = [p for p in done if p in shown and p != page_id]
    return Saved(dict(after.visible), kept + [page_id] if done_page else kept, after)


def after_continue(
    answers: Mapping[str, Any],
    done: Collection[str],
    page_id: str,
    ruleset: Ruleset,
    *,
    back_to_check: bool = False,
    route: flow.Route | None = None,
    qn: Questionnaire = QUESTIONNAIRE,
) -> Continued:
    """The stored answers after page `page_id` was sent with Continue: whether the rules stop the
    form (judging the pages up to this one), else the page that comes next, or the first page still
    to answer when the patient came from check your answers. `route`: flow.route(answers), when the
    caller has it (Saved.route)."""
    route = route if route is not None else flow.route(answers, qn)
    assessment = ruleset.evaluate(answers, upto=page_id, route=route)
    if ruleset.level(assessment.level).stops_form:
        return Continued(True, assessment, None)
    return Continued(False, assessment, route.first_incomplete(done) if back_to_check else route.after(page_id))


def section_heads(qn: Questionnaire = QUESTIONNAIRE) -> tuple[Page, ...]:
    """The pages every patient sees (at least one question without a shown-when condition), the
    declaration aside: one section each. A page only some patients see (a follow-up, the injection
    site) belongs to the section before it, so the number of sections never changes while answering."""
    return tuple(p for p in qn.pages if p.id != "declaration" and any(q.shown_when is None for q in p.questions))


def progress(page_id: str, qn: Questionnaire = QUESTIONNAIRE) -> tuple[int, int]:
    """("Section N of M") for a page: N its section's place, M every section; from the definition
    alone, so neither moves when an answer reveals or hides pages (worked out once per page of the
    questionnaire the app serves)."""
    return _served_progress(page_id) if qn is QUESTIONNAIRE else _progress(page_id, qn)


@lru_cache(maxsize=len(QUESTIONNAIRE.pages))  # bounded: an unknown id must not grow it
def _served_progress(page_id: str) -> tuple[int, int]:
    return _progress(page_id, QUESTIONNAIRE)


def _progress(page_id: str, qn: Questionnaire) -> tuple[int, int]:
    heads = [p.id for p in section_heads(qn)]
    number = 1
    for p in qn.pages:
        if p.id in heads:
            number = heads.index(p.id) + 1
        if p.id == page_id:
            break
    return number, len(heads)


def not_sure_once(questions: Collection[Question]) -> bool:
    """Whether the page says the "Not sure" reassurance once, above its questions, rather than under
    each: when it has several questions and every one of them carries it."""
    return len(questions) > 1 and all(NOT_SURE_HINT in q.hints for q in questions)


def back_to(route: flow.Route, page_id: str, back_to_check: bool, came_from: str | None) -> Page | None | bool:
    """Where a question page's Back link goes: a page, None for the start page, True for check your
    answers. Reached from check your answers, it goes back there, except on a page that a Change
    led on to (`came_from`, the page just changed, before this one): Back goes to that page."""
    if back_to_check:
        ids = [p.id for p in route.pages]
        if came_from in ids and page_id in ids and ids.index(came_from) < ids.index(page_id):
            return route.pages[ids.index(came_from)]
        return True
    return route.before(page_id)
