"""The front desk's view of a submission, in the clinic's time zone: the action card of the submission
page, a queue row, a call-sheet row. Words from the rules file (core.desk), times from the app's clock."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask import current_app

from questionnaire.core import desk, languages
from questionnaire.core.rules import Ruleset
from questionnaire.core.rules.model import RULE_ID_IN_TEXT
from questionnaire.data import store
from questionnaire.data.enums import StaffRole
from questionnaire.data.models import Submission, utcnow


def ruleset() -> Ruleset:
    rs: Ruleset = current_app.extensions["ruleset"]
    return rs


def clinic_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(str(current_app.config["CLINIC_TIMEZONE"]))


def local(moment: datetime | None) -> str:
    """A moment as the clinic reads it: "2025-03-03 09:00 CET"."""
    return moment.astimezone(clinic_zone()).strftime("%Y-%m-%d %H:%M %Z") if moment is not None else ""


def long_date(day: date) -> str:
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B %Y')}"


def tel_href(phone: Any) -> str | None:
    """A `tel:` link for a phone number as typed ("+34 600 11 22 33" -> "tel:+34600112233"), or None."""
    digits = re.sub(r"[^0-9+]", "", str(phone or ""))
    digits = digits[:1] + digits[1:].replace("+", "")
    return f"tel:{digits}" if sum(ch.isdigit() for ch in digits) >= 3 else None


def mailto_href(email: Any) -> str | None:
    text = str(email or "").strip()
    return f"mailto:{quote(text, safe='@.+-_')}" if "@" in text else None


def timing(sub: Submission) -> dict[str, Any]:
    """By when the patient is to be contacted, how long the submission has waited, whether it is overdue."""
    zone, rs, now = clinic_zone(), ruleset(), utcnow()
    due = desk.due_date(sub.created_at, sub.level, rs, zone, int(current_app.config["CONTACT_WORKING_DAYS"]))
    return {
        "due": due,
        "due_text": long_date(due) if due else None,
        "waited": desk.waited(sub.created_at, now),
        "overdue": desk.is_overdue(due, sub.status, now, zone),
        "received": local(sub.created_at),
        "due_today": due is not None and due == desk.local_day(now, zone),
    }


def names_in_words(text: str | None, rs: Ruleset) -> str | None:
    """A staff note with each rule id replaced by the rule's title, for the front desk."""
    if text is None:
        return None
    titles = {r.id: r.title for r in rs.rules}
    return RULE_ID_IN_TEXT.sub(lambda m: f"“{titles.get(m.group(0), 'another flag')}”", text)


def action_card(sub: Submission) -> dict[str, Any]:
    """Everything the action card says: who to call, by when, booking held, what to say and not say,
    who the case goes to."""
    rs = ruleset()
    answers = sub.answers or {}
    level = rs.level(sub.level)
    flags = [desk.flag_words(f, rs) for f in sub.fired]
    return {
        "name": answers.get("contact_name"),
        "phone": answers.get("contact_phone"),
        "tel": tel_href(answers.get("contact_phone")),
        "email": answers.get("contact_email"),
        "mailto": mailto_href(answers.get("contact_email")),
        "time": answers.get("contact_time"),
        "language": languages.name(sub.language),
        "holds_booking": level.holds_booking,
        "urgent": level.stops_form,
        "instructions": desk.level_instructions(sub.level, rs),
        "flags": flags,
        "goes_to": list(dict.fromkeys(f.goes_to for f in flags if f.goes_to)),
        "working_days": int(current_app.config["CONTACT_WORKING_DAYS"]),
        "zone": str(current_app.config["CLINIC_TIMEZONE"]),
        **timing(sub),
    }


def queue_row(sub: Submission) -> dict[str, Any]:
    answers = sub.answers or {}
    return {
        "sub": sub,
        "name": answers.get("contact_name"),
        "phone": answers.get("contact_phone"),
        "tel": tel_href(answers.get("contact_phone")),
        "reasons": desk.reasons(sub.fired, ruleset()),
        "language": languages.name(sub.language),
        **timing(sub),
    }


def sees_rule_ids(role: str) -> bool:
    """Clinicians and administrators may see a rule's id (in small print); the front desk reads words."""
    return role in (StaffRole.CLINICIAN, StaffRole.ADMIN)


def start_here() -> list[dict[str, Any]]:
    """The queue's shortcuts, one click each: the newest urgent case, and the oldest case of each other
    level that holds booking (overdue first in line), when there is one waiting."""
    rs, out = ruleset(), []
    for lv in rs.levels:
        if not lv.holds_booking:
            continue
        sub = store.first_waiting(rs.rank(lv.id), newest=lv.stops_form)
        if sub is not None:
            out.append(
                {
                    "label": f"{'Newest' if lv.stops_form else 'Oldest'} {lv.label[:1].lower()}{lv.label[1:]}",
                    **queue_row(sub),
                }
            )
    return out
