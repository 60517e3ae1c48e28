"""The medical director's report: figures from stored submissions (no Flask, no database).

The caller reads counts from the database and passes them in: submissions per day, level and
language (tally_days), fired-rule counts (rule_rows), and, for the per-question shares, the
answers of a (possibly sampled) set of submissions (QuestionTally). Everything here is plain data in,
plain data out, so it is tested without an app.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from questionnaire.core import flow
from questionnaire.core.definition import QUESTIONNAIRE
from questionnaire.core.questions import NOT_SURE, Questionnaire

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366 + 1  # three years: longer ranges are the export's job
EARLIEST = date(2000, 1, 1)
# The forms held for a call before booking (issue 19): the levels that hold booking.
HELD_LEVELS = ("urgent", "discuss_before_booking")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


class PeriodError(ValueError):
    """A date range the report cannot use; the message says why, for the person who chose it."""


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included (UTC)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_moment(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_moment(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def as_args(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def parse_day(value: str, what: str) -> date:
    if not DATE.fullmatch(value):
        raise PeriodError(f"The {what} date \u201c{value}\u201d is not a date: use YYYY-MM-DD, for example 2025-03-31.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"The {what} date {value} does not exist: check the day and the month.") from None


def parse_period(start: str | None, end: str | None, today: date) -> Period:
    """The range chosen on the page: both dates, or the last DEFAULT_DAYS days up to `today` (or up to
    the end date given). Raises PeriodError for an impossible date, a reversed or too long range."""
    start, end = (start or "").strip(), (end or "").strip()
    last = parse_day(end, "end") if end else today
    first = parse_day(start, "start") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise PeriodError(
            f"The start date {first.isoformat()} is after the end date {last.isoformat()}: "
            "choose a start date on or before the end date."
        )
    if first < EARLIEST or last > today + timedelta(days=1):
        raise PeriodError(f"Choose dates between {EARLIEST.isoformat()} and today.")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"Choose a range of at most {MAX_DAYS} days; for longer ones, use the export.")
    return Period(first, last)


def week_start(day: date) -> date:
    """The Monday of the day's week (ISO weeks)."""
    return day - timedelta(days=day.weekday())


def weeks(period: Period) -> list[date]:
    first, out = week_start(period.start), []
    while first <= period.end:
        out.append(first)
        first += timedelta(days=7)
    return out


def share(n: int, total: int) -> float:
    return n / total if total else 0.0


def percent(n: int, total: int) -> str:
    return f"{100 * share(n, total):.1f}%" if total else "\u2013"


@dataclass
class LevelFigures:
    """Submissions of a period per level, per week and level, and per language and level."""

    period: Period
    levels: tuple[str, ...]
    total: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    by_week: dict[date, dict[str, int]] = field(default_factory=dict)
    by_language: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def held(self) -> int:
        return sum(self.by_level.get(level, 0) for level in HELD_LEVELS)

    def week_rows(self) -> list[tuple[date, dict[str, int], int]]:
        return [(w, self.by_week[w], sum(self.by_week[w].values())) for w in sorted(self.by_week)]

    def language_rows(self) -> list[tuple[str, int, int]]:
        """(language, submissions, held for a call), most submissions first."""
        rows = [
            (lang, sum(c.values()), sum(c.get(lv, 0) for lv in HELD_LEVELS)) for lang, c in self.by_language.items()
        ]
        return sorted(rows, key=lambda r: (-r[1], r[0]))


def tally_days(rows: Iterable[tuple[date | str, str, str, int]], period: Period, levels: Sequence[str]) -> LevelFigures:
    """Fold (day, level, language, count) rows into the period's figures. Levels the rule set does not
    know (from an older rule set) are kept, after the known ones."""
    figures = LevelFigures(period, tuple(levels))
    figures.by_week = {w: {} for w in weeks(period)}
    for day, level, language, n in rows:
        d = date.fromisoformat(day[:10]) if isinstance(day, str) else day
        week = week_start(d)
        figures.total += n
        figures.by_level[level] = figures.by_level.get(level, 0) + n
        counts = figures.by_week.setdefault(week, {})
        counts[level] = counts.get(level, 0) + n
        lang = figures.by_language.setdefault(language, {})
        lang[level] = lang.get(level, 0) + n
    extra = sorted(set(figures.by_level) - set(levels))
    figures.levels = tuple(levels) + tuple(extra)
    return figures


def first_sentence(text: str) -> str:
    """The first sentence of a staff note (the rules have no title yet): up to its first full stop."""
    text = " ".join((text or "").split())
    return SENTENCE_END.split(text, maxsplit=1)[0] if text else ""


@dataclass(frozen=True)
class RuleRow:
    rule_id: str
    level: str
    description: str
    fired: int
    total: int

    @property
    def rate(self) -> float:
        return share(self.fired, self.total)


def rule_rows(rules: Iterable[Any], counts: Mapping[str, int], total: int) -> list[RuleRow]:
    """Each rule of the rule set (objects with id, level, staff_note) with its firing count and rate,
    most often fired first, then in file order."""
    rows = [RuleRow(r.id, r.level, first_sentence(r.staff_note), counts.get(r.id, 0), total) for r in rules]
    order = {row.rule_id: i for i, row in enumerate(rows)}
    return sorted(rows, key=lambda row: (-row.fired, order[row.rule_id]))


def is_not_sure(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return NOT_SURE in value
    return bool(value == NOT_SURE)


def stop_page(answers: Mapping[str, Any], qn: Questionnaire) -> str | None:
    """The page a form stopped early on: the last shown page with an answer; later pages were never
    reached, so their questions are not unanswered."""
    last = None
    for page in flow.shown_pages(answers, qn):
        if any(q.id in answers for q in page.questions):
            last = page.id
    return last


@dataclass
class QuestionRow:
    question_id: str
    text: str
    offers_not_sure: bool
    shown: int
    not_sure: int
    unanswered: int


class QuestionTally:
    """Per safety question: how often it was shown, answered "Not sure" and left unanswered; and per
    language, how many forms had at least one "Not sure". Fed one submission's answers at a time."""

    def __init__(self, qn: Questionnaire = QUESTIONNAIRE) -> None:
        self.qn = qn
        self.forms = 0
        self.shown: dict[str, int] = {}
        self.not_sure: dict[str, int] = {}
        self.unanswered: dict[str, int] = {}
        self.forms_by_language: dict[str, int] = {}
        self.unsure_forms_by_language: dict[str, int] = {}

    def add(self, answers: Mapping[str, Any], stopped_early: bool = False, language: str = "") -> None:
        self.forms += 1
        upto = stop_page(answers, self.qn) if stopped_early else None
        unsure = False
        for _page, items in flow.answers_by_page(answers, self.qn, upto=upto):
            for q, value in items:
                if not self.qn.is_safety(q):
                    continue
                self.shown[q.id] = self.shown.get(q.id, 0) + 1
                if value is None:
                    self.unanswered[q.id] = self.unanswered.get(q.id, 0) + 1
                elif is_not_sure(value):
                    self.not_sure[q.id] = self.not_sure.get(q.id, 0) + 1
                    unsure = True
        self.forms_by_language[language] = self.forms_by_language.get(language, 0) + 1
        if unsure:
            self.unsure_forms_by_language[language] = self.unsure_forms_by_language.get(language, 0) + 1

    def rows(self) -> list[QuestionRow]:
        """The questions shown at least once, most "Not sure" (as a share of times shown) first."""
        out = [
            QuestionRow(
                q.id,
                q.text,
                NOT_SURE in q.values,
                self.shown[q.id],
                self.not_sure.get(q.id, 0),
                self.unanswered.get(q.id, 0),
            )
            for page in self.qn.pages
            for q in page.questions
            if self.shown.get(q.id)
        ]
        return sorted(out, key=lambda r: (-share(r.not_sure, r.shown), -share(r.unanswered, r.shown)))


def spreadsheet_safe(row: Sequence[Any]) -> list[Any]:
    """A CSV row whose cells a spreadsheet would run as a formula are neutralised (a leading quote)."""
    return ["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in row]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A small CSV table, every row spreadsheet_safe() (as the exports are)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(spreadsheet_safe(row))
    return buffer.getvalue()
