"""What the front desk works from, decided without Flask or a database: the "within N working days"
promise as a date in the clinic's time zone, how long a submission has waited, whether it is
overdue, and the action card's words (from the rules file's front_desk texts and rule titles)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from questionnaire.core.rules import NO_LEVEL, Ruleset

# What a contact attempt came to (the call log); the stored values and the words staff read.
CALL_OUTCOMES = {
    "reached": "Reached",
    "voicemail": "Left a voicemail",
    "no_answer": "No answer",
    "wrong_number": "Wrong number",
}


def add_working_days(day: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `day`; a weekend day counts from the next Monday."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def due_date(created_at: datetime, level: str, ruleset: Ruleset, zone: tzinfo, working_days: int) -> date | None:
    """By when the clinic has promised to contact the patient: the same day for an urgent case, the
    promised working days for a level that holds booking; None when no call is due (booking not held)."""
    if level == NO_LEVEL:
        return None
    lv = ruleset.level(level)
    if not lv.holds_booking:
        return None
    received = local_day(created_at, zone)
    return received if lv.stops_form else add_working_days(received, working_days)


def is_overdue(due: date | None, status: str, now: datetime, zone: tzinfo) -> bool:
    """Past the promised date and still waiting for a first call."""
    return due is not None and status == "new" and local_day(now, zone) > due


def waited(created_at: datetime, now: datetime) -> str:
    """How long a submission has waited, in words ("3 hours", "2 days")."""
    seconds = max(int((now - created_at).total_seconds()), 0)
    if seconds < 3600:
        n, unit = max(seconds // 60, 1), "minute"
    elif seconds < 2 * 86400:
        n, unit = seconds // 3600, "hour"
    else:
        n, unit = seconds // 86400, "day"
    return f"{n} {unit}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class FlagWords:
    """One fired rule as the front desk reads it."""

    title: str
    say: str
    do_not_say: str
    goes_to: str


def flag_words(fired: Mapping[str, Any], ruleset: Ruleset) -> FlagWords:
    """The words of a stored fired rule: as stored when it was judged, or the current rule set's for
    a submission stored before they were kept; a rule no longer in the rule set gets plain words."""
    stored = fired.get("front_desk")
    if fired.get("title") and isinstance(stored, Mapping):
        return FlagWords(
            str(fired["title"]),
            str(stored.get("say", "")),
            str(stored.get("do_not_say", "")),
            str(stored.get("goes_to", "")),
        )
    rule = next((r for r in ruleset.rules if r.id == fired.get("id")), None)
    if rule is None:
        return FlagWords("A flag no longer in the rule set", "", "", "a clinician")
    return FlagWords(rule.title, rule.front_desk.say, rule.front_desk.do_not_say, rule.front_desk.goes_to)


def reasons(fired: Sequence[Mapping[str, Any]], ruleset: Ruleset) -> list[str]:
    """The titles of the fired rules, each once: the queue's short reason."""
    return list(dict.fromkeys(flag_words(f, ruleset).title for f in fired))


def level_instructions(level: str, ruleset: Ruleset) -> list[str]:
    """The level's front-desk text, one instruction a line."""
    return [line.strip() for line in ruleset.level(level).front_desk.splitlines() if line.strip()]
