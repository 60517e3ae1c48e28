"""What staff do to a submission, each with its audit row in one transaction: add a note, change the
status, delete it on the patient's request; and the accesses that change nothing but are audited
(a page read, a print, an export). Called by the staff views and the `flask submission` commands."""

from __future__ import annotations

from questionnaire.data import store
from questionnaire.data.enums import SubmissionStatus
from questionnaire.data.models import Note, Submission

DELETED_ON_REQUEST = "on the patient's request"


def add_note(sub: Submission, body: str, *, actor: str, ip: str | None = None) -> Note | None:
    """The note and its audit row, or neither; None when the submission was deleted (purged) since it
    was read."""
    ref = sub.reference
    with store.transaction():
        note = store.add_note(sub, actor, body)
        if note is None:
            return None
        store.audit("note_added", actor=actor, reference=ref, ip=ip)
    return note


def change_status(
    sub: Submission, expected_version: int, status: SubmissionStatus, *, actor: str, ip: str | None = None
) -> bool:
    """Compare-and-set the status (only if nobody changed the submission since it was shown at
    `expected_version`) and audit the change, in one transaction. False, with nothing written, when
    someone else changed it first (the caller shows the new state, then records the conflict with record_access).
    A submission deleted in between raises sqlalchemy's InvalidRequestError."""
    old, ref = sub.status, sub.reference
    with store.transaction():
        if not store.change_status(sub, expected_version, status, actor):
            return False
        store.audit("status_changed", actor=actor, reference=ref, ip=ip, detail=f"{old} -> {status}")
    return True


def delete_submission(sub: Submission, *, actor: str, ip: str | None = None) -> str:
    """Delete a submission, its notes, rule index, deliveries and draft on the patient's request, and
    audit it (no personal data), in one transaction; returns its reference."""
    ref = sub.reference
    with store.transaction():
        store.delete_submission(sub)
        store.audit("submission_deleted", actor=actor, reference=ref, ip=ip, detail=DELETED_ON_REQUEST)
    return ref


def record_access(
    action: str, *, actor: str, reference: str | None = None, ip: str | None = None, detail: str | None = None
) -> None:
    """An access that changes nothing but is audited: reading or printing a submission, a refused
    status change, reading or exporting the audit log, an export of submissions (recorded before the
    first row is sent)."""
    with store.transaction():
        store.audit(action, actor=actor, reference=reference, ip=ip, detail=detail)
