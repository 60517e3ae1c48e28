"""Staff accounts: found by email or id, created, changed, deactivated; one-time code steps."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from questionnaire.data.enums import StaffRole
from questionnaire.data.models import Staff, utcnow
from questionnaire.data.store.audit_log import EMAIL_MAX
from questionnaire.data.store.base import save
from questionnaire.data.store.sessions import revoke_all_sessions
from questionnaire.extensions import db


def staff_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Staff)) or 0)


def normalise_email(email: str) -> str:
    """An email address as accounts store it. Lower-casing can lengthen a text ("İ" becomes two
    characters), so the length is checked after it, never before."""
    return email.strip().lower()


def staff_by_email(email: str) -> Staff | None:
    email = normalise_email(email)
    if len(email) > EMAIL_MAX:
        return None  # no account has such an address (and the column could not compare it on PostgreSQL)
    return db.session.scalar(select(Staff).where(Staff.email == email))


def staff_by_id(staff_id: int) -> Staff | None:
    return db.session.get(Staff, staff_id)


def all_staff() -> list[Staff]:
    return list(db.session.scalars(select(Staff).order_by(Staff.email)))


def create_staff(email: str, role: StaffRole, password_hash: str, *, must_change_password: bool = False) -> Staff:
    now = utcnow()
    staff = Staff(
        email=email.strip().lower(),
        role=role,
        password_hash=password_hash,
        active=True,
        must_change_password=must_change_password,
        otp_confirmed=False,
        otp_last_step=0,
        failed_attempts=0,
        created_at=now,
        password_set_at=now,
    )
    db.session.add(staff)
    save()
    return staff


def update_staff(staff: Staff, **changes: Any) -> None:
    for key, value in changes.items():
        setattr(staff, key, value)
    save()


class LastAdministrator(Exception):
    """Deactivating this account would leave no active administrator to manage staff and exports."""


def deactivate_staff(staff: Staff) -> None:
    """Stop an account signing in and end its sessions now; never the last active administrator
    (LastAdministrator), even when two administrators deactivate each other at the same moment."""
    if staff.role == StaffRole.ADMIN:
        # PostgreSQL: lock the active administrators, so that a second deactivation waits for this one
        # and then sees it. SQLite (one writer): the check and the change are one statement.
        db.session.execute(
            select(Staff.id).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True)).with_for_update()
        )
        another = (
            select(Staff.id).where(Staff.role == StaffRole.ADMIN, Staff.active.is_(True), Staff.id != staff.id).exists()
        )
        changed = cast(
            "CursorResult[Any]",
            db.session.execute(
                update(Staff)
                .where(Staff.id == staff.id, another)
                .values(active=False)
                .execution_options(synchronize_session="fetch")
            ),
        )
        if changed.rowcount == 0 and staff.active:
            db.session.rollback()
            raise LastAdministrator(staff.email)
    update_staff(staff, active=False)
    revoke_all_sessions(staff.id)


def set_staff_password(staff: Staff, password_hash: str, *, one_time: bool) -> None:
    """A new password: chosen by its owner, or a one-time one (an administrator's reset) that must be
    changed at the next sign-in; a one-time password also ends every session of the account."""
    update_staff(staff, password_hash=password_hash, must_change_password=one_time, password_set_at=utcnow())
    if one_time:
        revoke_all_sessions(staff.id)


def reset_staff_otp(staff: Staff) -> None:
    """Make an account enrol a new one-time code at its next sign-in, and end its sessions now."""
    update_staff(staff, otp_secret=None, otp_confirmed=False)
    revoke_all_sessions(staff.id)


def use_otp_step(staff: Staff, step: int) -> bool:
    """Accept a one-time code's time step once only (compare-and-set, so a replay loses)."""
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Staff).where(Staff.id == staff.id, Staff.otp_last_step < step).values(otp_last_step=step)
        ),
    )
    save()
    return bool(result.rowcount)
