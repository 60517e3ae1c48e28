"""Check-in on the day (clinical-content.md A11 and R9): the three questions re-asked when the patient
arrives, written with the same constructors and condition language as THE questionnaire, and what
the check-in outcome says (no Flask).

The check-in page is not a page of the patient form: it is appended to the form's pages only in
RULES_QUESTIONNAIRE, the questionnaire the rules file is validated and evaluated against, so that
the rules (r_checkin_*) and `flask rules evaluate` know its ids, and `checkin_eaten`'s shown-when
condition reads the submission's `treatment_types` like any other. Its questions are not safety
questions of the form (Questionnaire.is_safety): a form sent without a check-in is not "unanswered".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from questionnaire.core import flow
from questionnaire.core.definition import PAGES_DEFINITION
from questionnaire.core.questions import N_, Page, Question, Questionnaire, build, page, single, yn
from questionnaire.core.sentences import sentences_once

CHECKIN_PAGE_ID = "check-in"

CHECKIN_PAGE_DEFINITION: Page = page(
    CHECKIN_PAGE_ID,
    N_("Check-in"),
    yn(
        "checkin_health_changed",
        N_(
            "Has anything about your health, your medicines, or a possible pregnancy changed since you filled in "
            "the form?"
        ),
        N_("Select yes if anything about your health, your medicines, or a possible pregnancy has changed"),
    ),
    single(
        "checkin_alcohol_drugs_12h",
        N_("In the last 12 hours, have you had alcohol or recreational drugs?"),
        N_("Select yes, no, or that you would rather talk about this in private"),
        choices=[("yes", N_("Yes")), ("no", N_("No")), ("prefer_private", N_("I'd rather talk about this in private"))],
    ),
    yn(
        "checkin_eaten",
        N_("Have you eaten something in the last 4 hours?"),
        N_("Select yes if you have eaten something in the last 4 hours"),
        shown_when={"q": "treatment_types", "any_of": ["blood_drip", "not_sure"]},
    ),
    intro=N_("Please answer these questions before your treatment today."),
)

# The form's pages and then the check-in page: what the rules file is checked and judged against.
RULES_QUESTIONNAIRE: Questionnaire = build(PAGES_DEFINITION + (CHECKIN_PAGE_DEFINITION,))
CHECKIN_PAGE: Page = RULES_QUESTIONNAIRE.page(CHECKIN_PAGE_ID)
CHECKIN_IDS: tuple[str, ...] = tuple(q.id for q in CHECKIN_PAGE.questions)
RESCREEN_RULE = "r_checkin_changed"

# At check-in, "discuss before booking" means a clinician talks with the patient before any treatment
# today (clinical-content.md R9): the level's booking wording is never shown in patient mode.
CHECKIN_TITLE = N_("Thank you")
CHECKIN_LEVEL_TEXT: Mapping[str, str] = {
    "urgent": N_("A clinician will talk with you before any treatment today."),
    "discuss_before_booking": N_("A clinician will talk with you before any treatment today."),
    "mention_at_consultation": N_("We will tell the clinician who sees you today."),
    "none": N_("Your answers have been sent to the clinic's team."),
}
HAND_BACK = N_("Please hand this device back to the staff.")


def shown_questions(submission_answers: Mapping[str, Any]) -> tuple[Question, ...]:
    """The check-in questions this patient is asked, by the submission's answers (checkin_eaten only
    when the treatment may be the blood drip, or is not known)."""
    visible = flow.visible_answers(dict(submission_answers), RULES_QUESTIONNAIRE)
    return tuple(q for q in CHECKIN_PAGE.questions if q.shown(visible, {}, frozenset()))


def combined_answers(submission_answers: Mapping[str, Any], checkin_answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers the rule set judges at check-in: the submission's, with the check-in's on top
    (only check-in ids are taken from the check-in)."""
    out = {k: v for k, v in submission_answers.items() if k not in CHECKIN_IDS}
    out.update({k: v for k, v in checkin_answers.items() if k in CHECKIN_IDS})
    return out


def is_checkin_rule(questions: Iterable[str]) -> bool:
    """A rule about the check-in: it looks at a check-in question."""
    return any(q in CHECKIN_IDS for q in questions)


def outcome_paragraphs(level: str, message_texts: Iterable[str], translate: Callable[[str], str]) -> list[str]:
    """What the check-in outcome says, in the patient's language: the level's check-in wording, then
    each fired check-in rule's own sentences, no sentence twice."""
    first = translate(CHECKIN_LEVEL_TEXT.get(level, CHECKIN_LEVEL_TEXT["discuss_before_booking"]))
    return sentences_once([first, *(translate(text) for text in message_texts)])
