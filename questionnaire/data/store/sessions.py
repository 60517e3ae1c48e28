"""Staff sessions: server-side, found by the hash of the cookie's token, revoked at once."""

from __future__ import annotations

import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from questionnaire.data.enums import SessionStage
from questionnaire.data.models import Staff, StaffSession, utcnow
from questionnaire.data.store.base import save, token_hash
from questionnaire.extensions import db


def create_staff_session(staff: Staff) -> tuple[StaffSession, str]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = StaffSession(
        token_hash=token_hash(token), staff_id=staff.id, stage=SessionStage.PASSWORD, created_at=now, last_seen_at=now
    )
    db.session.add(row)
    save()
    return row, token


def find_staff_session(token: str | None) -> StaffSession | None:
    if not token or not isinstance(token, str):
        return None
    return db.session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def touch_staff_session(row: StaffSession, **changes: Any) -> None:
    row.last_seen_at = utcnow()
    for key, value in changes.items():
        setattr(row, key, value)
    save()


def revoke_staff_session(row: StaffSession) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        save()


def revoke_all_sessions(staff_id: int, *, keep: int | None = None) -> int:
    """End every open session of an account (but `keep`, a session id); returns how many ended."""
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(StaffSession)
            .where(
                StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None), StaffSession.id != (keep or -1)
            )
            .values(revoked_at=utcnow())
        ),
    )
    save()
    return int(result.rowcount or 0)
