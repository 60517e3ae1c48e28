"""What the front desk does to reach a patient, each with its audit row in one transaction: record a
contact attempt (the call log) and take a case on ("assign to me"). Called by the staff views."""

from __future__ import annotations

from questionnaire.core.desk import CALL_OUTCOMES
from questionnaire.data import store
from questionnaire.data.models import CallAttempt, Submission


def record_call(sub: Submission, outcome: str, *, actor: str, ip: str | None = None) -> CallAttempt | None:
    """The contact attempt and its audit row (the outcome, never a contact detail), or neither; None
    when the submission was deleted (purged) since it was read. ValueError for an unknown outcome."""
    if outcome not in CALL_OUTCOMES:
        raise ValueError(f"unknown call outcome {outcome!r}")
    ref = sub.reference
    with store.transaction():
        call = store.record_call(sub, outcome, actor)
        if call is None:
            return None
        store.audit("call_recorded", actor=actor, reference=ref, ip=ip, detail=outcome)
    return call


def assign_to_me(sub: Submission, *, actor: str, ip: str | None = None) -> bool:
    """Give the case to `actor` and audit it (with whom it was taken from), in one transaction; False
    when the submission was deleted in the meantime."""
    ref, before = sub.reference, sub.assigned_to
    with store.transaction():
        if not store.assign(sub, actor):
            return False
        store.audit(
            "assigned",
            actor=actor,
            reference=ref,
            ip=ip,
            detail=f"taken over from {before}" if before and before != actor else None,
        )
    return True
