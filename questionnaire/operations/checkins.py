"""Check-in on the day, each step with its audit row in one transaction: a staff member starts it
(their session ends: the device goes to the patient), the patient sends the answers (judged by the
rule set with the submission's answers, stored encrypted), and "health changed" starts a rescreen
(a new, empty form linked to the earlier submission)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from questionnaire.core.checkin import RESCREEN_RULE, combined_answers, is_checkin_rule
from questionnaire.core.rules import NO_LEVEL, Ruleset
from questionnaire.data import store
from questionnaire.data.models import CheckIn, Staff, StaffSession, Submission
from questionnaire.data.store import DraftRow


def start(sub: Submission, staff: Staff, session_row: StaffSession, ttl: timedelta, *, ip: str | None = None) -> str:
    """Start a check-in for `sub` and end the staff member's session, in one transaction: the device
    is handed to the patient with nothing but a one-time check-in token (returned), bound to this
    submission and this staff member. Coming back to the staff area needs a full sign-in."""
    ref = sub.reference
    with store.transaction():
        _row, token = store.start_checkin(sub, staff, ttl)
        store.revoke_staff_session(session_row)
        store.audit(
            "checkin_started",
            actor=staff.email,
            reference=ref,
            ip=ip,
            detail="staff session ended: device handed to the patient",
        )
    return token


def judge(ruleset: Ruleset, sub: Submission, answers: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The check-in's level and fired check-in rules (as stored), judged by the same rule set over the
    submission's answers with the check-in's on top. Only rules that look at a check-in question
    count: the form's own flags are already on the submission."""
    assessment = ruleset.evaluate(combined_answers(sub.answers or {}, answers))
    wanted = {r.id for r in ruleset.rules if is_checkin_rule(r.questions)}
    fired = [f for f in assessment.fired if f.id in wanted]
    level = min((f.level for f in fired), key=ruleset.rank, default=NO_LEVEL)
    return level, [store.fired_to_json(f, ruleset) for f in fired]


def complete(row: CheckIn, sub: Submission, answers: dict[str, Any], ruleset: Ruleset) -> bool:
    """Store the check-in's answers and result with its audit row (no answers in it); False when the
    token was used already (the twin of a double click)."""
    level, fired = judge(ruleset, sub, answers)
    ref = sub.reference
    with store.transaction():
        if not store.complete_checkin(row, answers, fired, level, ruleset.version, ruleset.sha256):
            return False
        store.audit(
            "checkin_completed", actor="patient", reference=ref, detail=f"{level}; started by {row.started_by}"[:500]
        )
    return True


def wants_rescreen(row: CheckIn) -> bool:
    return any(f.get("id") == RESCREEN_RULE for f in row.fired or [])


def rescreen(row: CheckIn, sub: Submission, ttl: timedelta) -> tuple[DraftRow, str] | None:
    """Start the rescreen the check-in asked for: a new, empty form linked to `sub` (never prefilled),
    once per check-in, audited; None when it was started already or not asked for."""
    if not wants_rescreen(row):
        return None
    ref = sub.reference
    with store.transaction():
        made = store.create_rescreen_draft(row, sub, ttl)
        if made is None:
            return None
        store.audit("rescreen_started", actor="patient", reference=ref, detail="a new, empty form")
    return made
