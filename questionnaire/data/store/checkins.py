"""Check-ins on the day: started under a one-time token, completed with encrypted answers, the rescreen
draft they may start, and the submissions checked in on a day (the queue's filter)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update

from questionnaire.data.models import CheckIn, Draft, Staff, Submission, utcnow
from questionnaire.data.store.base import save, token_hash
from questionnaire.data.store.drafts import DraftRow, create_draft
from questionnaire.extensions import db


def start_checkin(sub: Submission, staff: Staff, ttl: timedelta) -> tuple[CheckIn, str]:
    """A new check-in for `sub`, started by `staff`, and its one-time token (only the hash is kept).
    Earlier unfinished check-ins of the submission stop working: one device in patient mode at a time."""
    db.session.execute(
        update(CheckIn)
        .where(CheckIn.submission_id == sub.id, CheckIn.completed_at.is_(None), CheckIn.token_hash.is_not(None))
        .values(token_hash=None)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = CheckIn(
        submission_id=sub.id,
        staff_id=staff.id,
        started_by=staff.email,
        token_hash=token_hash(token),
        language=sub.language,
        started_at=now,
        expires_at=now + ttl,
    )
    db.session.add(row)
    save()
    return row, token


def find_open_checkin(token: str | None) -> CheckIn | None:
    """The unfinished, unexpired check-in of a patient-mode token; None for any other token."""
    if not token or not isinstance(token, str):
        return None
    row: CheckIn | None = db.session.scalar(select(CheckIn).where(CheckIn.token_hash == token_hash(token)))
    if row is None or row.completed_at is not None or row.expires_at <= utcnow():
        return None
    return row


def checkin_by_id(checkin_id: Any) -> CheckIn | None:
    if not isinstance(checkin_id, int):
        return None
    return db.session.get(CheckIn, checkin_id)


def complete_checkin(
    row: CheckIn,
    answers: dict[str, Any],
    fired: list[dict[str, Any]],
    level: str,
    ruleset_version: str,
    ruleset_sha256: str,
) -> bool:
    """Store the check-in's answers and result, once: the token is used up in the same write (a
    compare-and-set on it, so two posts of the same page store one result). False if it was used."""
    won = db.session.execute(
        update(CheckIn)
        .where(CheckIn.id == row.id, CheckIn.token_hash == row.token_hash, CheckIn.completed_at.is_(None))
        .values(token_hash=None, completed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not won.rowcount:  # type: ignore[attr-defined]  # a CursorResult
        return False
    db.session.refresh(row)
    row.answers, row.fired, row.level = answers, fired, level
    row.ruleset_version, row.ruleset_sha256 = ruleset_version, ruleset_sha256
    save()
    return True


def checkins_for(sub: Submission) -> list[CheckIn]:
    """The submission's completed check-ins, newest first."""
    return list(
        db.session.scalars(
            select(CheckIn)
            .where(CheckIn.submission_id == sub.id, CheckIn.completed_at.is_not(None))
            .order_by(CheckIn.completed_at.desc(), CheckIn.id.desc())
        )
    )


def create_rescreen_draft(row: CheckIn, earlier: Submission, ttl: timedelta) -> tuple[DraftRow, str] | None:
    """A new, empty draft linked to the earlier submission (never its answers), once per check-in;
    None when this check-in already started one."""
    won = db.session.execute(
        update(CheckIn)
        .where(CheckIn.id == row.id, CheckIn.rescreen_started_at.is_(None))
        .values(rescreen_started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not won.rowcount:  # type: ignore[attr-defined]  # a CursorResult
        return None
    return create_draft(earlier.language, ttl, rescreen_of_id=earlier.id)


def rescreens_of(sub: Submission) -> list[Submission]:
    """The submissions sent as rescreens of `sub` (newest first)."""
    return list(
        db.session.scalars(
            select(Submission).where(Submission.rescreen_of_id == sub.id).order_by(Submission.created_at.desc())
        )
    )


def rescreen_drafts_waiting(sub: Submission) -> int:
    """Rescreen forms started for `sub` and not sent (yet)."""
    return len(
        list(
            db.session.scalars(
                select(Draft.id).where(
                    Draft.rescreen_of_id == sub.id, Draft.submission_id.is_(None), Draft.expires_at > utcnow()
                )
            )
        )
    )


def submission_by_id(sub_id: int | None) -> Submission | None:
    return db.session.get(Submission, sub_id) if sub_id is not None else None


def checked_in_between(start: datetime, end: datetime) -> Select[Any]:
    """The ids of submissions with a check-in completed in [start, end): for the queue's filter."""
    return select(CheckIn.submission_id).where(CheckIn.completed_at >= start, CheckIn.completed_at < end)
