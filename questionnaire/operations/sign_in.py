"""What a staff member's own sign-in does to the database, each step with its audit row in one
transaction: the one-time code enrolled, the sign-in finished, the password changed, the session
ended (signed out or timed out)."""

from __future__ import annotations

from questionnaire.data import store
from questionnaire.data.enums import SessionStage
from questionnaire.data.models import Staff, StaffSession
from questionnaire.operations.passwords import hash_password


def confirm_enrolment(staff: Staff, *, ip: str | None = None) -> None:
    """The account's one-time code is set up (its first code was right)."""
    with store.transaction():
        store.update_staff(staff, otp_confirmed=True)
        store.audit("otp_enrolled", actor=staff.email, ip=ip)


def finish(row: StaffSession, staff: Staff, *, ip: str | None = None) -> None:
    """The password and the code were right: the session is signed in."""
    with store.transaction():
        store.touch_staff_session(row, stage=SessionStage.FULL)
        store.audit("sign_in", actor=staff.email, ip=ip)


def change_password(staff: Staff, password: str, *, keep_session: int, ip: str | None = None) -> int:
    """The owner's new password (checked by the caller); every other session of the account ends.
    Returns how many ended."""
    with store.transaction():
        store.set_staff_password(staff, hash_password(password), one_time=False)
        ended = store.revoke_all_sessions(staff.id, keep=keep_session)
        store.audit(
            "password_changed", actor=staff.email, ip=ip, detail=f"{ended} other session(s) ended" if ended else None
        )
    return ended


def end_session(row: StaffSession, staff: Staff | None, action: str, *, ip: str | None = None) -> None:
    """A session ends (`action`: "sign_out", or "timeout" after idle or absolute time), audited when
    its account is known."""
    with store.transaction():
        store.revoke_staff_session(row)
        if staff is not None:
            store.audit(action, actor=staff.email, ip=ip)
