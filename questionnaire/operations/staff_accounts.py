"""What an administrator does to staff accounts, from the admin pages or `flask staff`, each with its
audit row in one transaction: create, deactivate, activate, sign out everywhere, reset the one-time
code enrolment, reset the password, unlock (clear sign-in throttling); and the first administrator."""

from __future__ import annotations

from collections.abc import Callable

from questionnaire.data import store
from questionnaire.data.enums import StaffRole
from questionnaire.data.models import Staff
from questionnaire.operations.passwords import hash_password, one_time_password, password_context, password_problem

LastAdministrator = store.LastAdministrator


class Refused(Exception):
    """The account cannot be created as asked; the message says what to do."""


class NotAnEmail(Refused):
    """Not an email address (or longer than an account's address can be)."""


class EmailTaken(Refused):
    """An account has this address already."""


class WeakPassword(Refused):
    """The chosen password fails the policy (passwords.password_problem); the message says why."""


def check_new_email(email: str) -> str:
    """The address as accounts store it, or NotAnEmail, or EmailTaken."""
    email = store.normalise_email(email)
    if "@" not in email.strip("@") or len(email) > store.EMAIL_MAX:
        raise NotAnEmail("Enter an email address like name@example.com")
    if store.staff_by_email(email) is not None:
        raise EmailTaken(f"There is already an account for {email}")
    return email


def create(
    email: str, role: StaffRole, *, actor: str, ip: str | None = None, password: str | None = None
) -> tuple[Staff, str | None]:
    """A new account and its audit row. With `password` (chosen at the command line, checked against
    the policy) the account keeps it; without, it gets a one-time password, returned to be shown once
    and changed at the first sign-in. Either way the one-time code is set up at the first sign-in."""
    email = check_new_email(email)
    if password is not None:
        problem = password_problem(password, password_context(email))
        if problem:
            raise WeakPassword(problem)
    shown = one_time_password() if password is None else None
    with store.transaction():
        staff = store.create_staff(
            email,
            role,
            hash_password(password if password is not None else str(shown)),
            must_change_password=password is None,
        )
        store.audit("staff_created", actor=actor, ip=ip, detail=f"{email} as {role}")
    return staff, shown


def bootstrap(email: str, *, nbytes: int = 15) -> str | None:
    """On a database without staff, one administrator with a one-time password (returned to be shown
    once); None when any account exists."""
    if store.staff_count() > 0:
        return None
    password = one_time_password(nbytes)
    with store.transaction():
        store.create_staff(email, StaffRole.ADMIN, hash_password(password), must_change_password=True)
        store.audit("staff_created", actor="bootstrap", detail=f"{email} as {StaffRole.ADMIN}")
    return password


def deactivate(target: Staff, *, actor: str, ip: str | None = None) -> None:
    """Stop the account signing in and end its sessions now; never the last active administrator
    (LastAdministrator, nothing written)."""
    with store.transaction():
        store.deactivate_staff(target)
        store.audit("staff_deactivate", actor=actor, ip=ip, detail=target.email)


def activate(target: Staff, *, actor: str, ip: str | None = None) -> None:
    with store.transaction():
        store.update_staff(target, active=True)
        store.audit("staff_activate", actor=actor, ip=ip, detail=target.email)


def sign_out_everywhere(target: Staff, *, actor: str, ip: str | None = None) -> None:
    with store.transaction():
        store.revoke_all_sessions(target.id)
        store.audit("staff_sign_out_everywhere", actor=actor, ip=ip, detail=target.email)


def reset_otp(target: Staff, *, actor: str, ip: str | None = None) -> None:
    """The account enrols a new one-time code at its next sign-in; its sessions end now."""
    with store.transaction():
        store.reset_staff_otp(target)
        store.audit("staff_reset_otp", actor=actor, ip=ip, detail=target.email)


def reset_password(target: Staff, *, actor: str, ip: str | None = None, nbytes: int = 12) -> str:
    """A new one-time password (returned, to be shown once), to be changed at the next sign-in; the
    account's sessions end now."""
    password = one_time_password(nbytes)
    with store.transaction():
        store.set_staff_password(target, hash_password(password), one_time=True)
        store.audit("staff_reset_password", actor=actor, ip=ip, detail=target.email)
    return password


def unlock(target: Staff, clear: Callable[[str], None], *, actor: str, ip: str | None = None) -> None:
    """Clear the account's sign-in throttling with `clear` (the rate-limit store's, which this layer
    does not know) and audit it: the audit row is written (flushed) first, the clearing done only
    then, and the row committed only if the clearing succeeded; a failed clearing leaves no row."""
    with store.transaction():
        store.audit("staff_unlock", actor=actor, ip=ip, detail=target.email)
        clear(target.email)
