"""The rule set's parts as plain data: levels, rules, what fired, an assessment, a fault; the file's keys."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from questionnaire.core.conditions import Predicate
from questionnaire.core.terms import TermList

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "rules" / "contraindications.yaml"
# The compiled catalogues: <dir>/<lang>/LC_MESSAGES/messages.mo (Flask-Babel's layout and default).
TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"
TRANSLATION_DOMAIN = "messages"
NO_LEVEL = "none"
PLACEHOLDER = re.compile(r"\{\w*\}")
GRADE = re.compile(r"^[ABCDX](/[ABCDX])*( via [ABCDX])?( \+ [ABCDX])?$")
MESSAGE_ID = re.compile(r"^MSG_[A-Z0-9_]+$")

TOP_KEYS = {"ruleset", "levels", "no_flags", "messages", "sources", "term_lists", "rules", "example_base", "examples"}
OPTIONAL_TOP_KEYS = {"examples", "example_base", "term_lists"}
RULESET_KEYS = {"name", "version", "status", "sign_off"}
SIGN_OFF_KEYS = {"by", "date", "content_sha256"}
# What the content hash leaves out: the fields a sign-off itself writes.
UNSIGNED_KEYS = ("status", "sign_off")
# `label`: the level's short name on the staff pages ("Urgent"), in the clinic's language (no translation).
LEVEL_KEYS = {"id", "label", "title", "outcome", "holds_booking", "stops_form", "front_desk"}
# `message`: the generic message whose words this level's outcome already says (not repeated on
# the outcome page); `same_day`: another title and outcome for rules of this level marked same_day
# (get medical advice today rather than call an emergency number).
OPTIONAL_LEVEL_KEYS = {"message", "same_day"}
OUTCOME_KEYS = {"title", "outcome"}
NO_FLAGS_KEYS = OUTCOME_KEYS | {"label", "front_desk"}
# A label is a tag's worth of words: one line, no longer than this.
LABEL_LENGTH = 40
RULE_KEYS = {"id", "level", "when", "patient_message", "staff_note", "sources", "evidence", "title", "front_desk"}
# A rule's plain words for the front desk (not clinicians): what to say, what never to say, who the case goes to.
FRONT_DESK_KEYS = {"say", "do_not_say", "goes_to"}
# No rule id in a text for the front desk: flags are named there in words (the rule's title).
RULE_ID_IN_TEXT = re.compile(r"(?<![\w])r_[a-z0-9_]+")
OPTIONAL_RULE_KEYS = {"same_day"}
TERM_LIST_KEYS = {"title", "terms", "sources"}
OPTIONAL_TERM_LIST_KEYS = {"match"}
# The one placeholder a staff note may hold: the terms a `mentions` test found in the answers.
TERMS_PLACEHOLDER = "{terms}"
EXAMPLE_KEYS = {"name", "answers", "fires", "does_not_fire", "level", "shows", "does_not_show", "alone"}
MESSAGE_ENTRY_KEYS = {"id", "when"}
STATUSES = ("draft", "approved")


@dataclass(frozen=True)
class Level:
    id: str
    title: str
    outcome: str
    holds_booking: bool
    stops_form: bool
    message: str | None = None  # the generic message this outcome already says
    same_day: Level | None = None  # the title and outcome of this level's same-day rules
    front_desk: str = ""  # what the front desk does with a submission of this level
    label: str = ""  # the level's short name on the staff pages ("Urgent", "No flags")


@dataclass(frozen=True)
class FrontDesk:
    """A rule's plain words for the front desk."""

    say: str
    do_not_say: str
    goes_to: str


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
    # The flag named in words (the front desk never sees the id), and its words for the front desk.
    title: str = ""
    front_desk: FrontDesk = FrontDesk("", "", "")

    def found_terms(self, answers: Mapping[str, Any]) -> tuple[str, ...]:
        """The terms this rule's `mentions` tests find in the answers, each once."""
        return tuple(
            dict.fromkeys(t for qid, lists in self.term_tests for tl in lists for t in tl.found(answers.get(qid)))
        )

    def shown_messages(
        self, answers: Mapping[str, Any], results: Mapping[str, bool], unanswered: frozenset[str]
    ) -> tuple[str, ...]:
        """The ids of the messages this (fired) rule gives for these answers, each once, in order."""
        if not self.message_checks:
            return self.patient_message
        shown = (
            m
            for m, check in zip(self.patient_message, self.message_checks)
            if check is None or check(answers, results, unanswered)
        )
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
        return {
            "level": self.level,
            "rules": self.rule_ids,
            "ruleset": {"version": self.version, "sha256": self.sha256},
        }


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
