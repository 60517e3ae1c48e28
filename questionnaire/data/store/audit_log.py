"""The audit log: append an event (in the transaction of what it records), read and export it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from questionnaire.data.models import AuditEvent, utcnow
from questionnaire.data.store.base import save
from questionnaire.extensions import db

EMAIL_MAX = 254  # the length of Staff.email (and of AuditEvent.actor)


def audited(
    action: str,
    effect: Callable[[], None],
    *,
    actor: str | None = None,
    ip: str | None = None,
    detail: str | None = None,
) -> None:
    """An action outside the database (clearing sign-in throttling in the rate-limit store) and its
    audit event: the event is written only if the action succeeded, and the action is taken only
    once the event is ready to commit (a failed effect leaves no event)."""
    audit(action, actor=actor, ip=ip, detail=detail, commit=False)
    try:
        effect()
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def audit(
    action: str,
    *,
    actor: str | None = None,
    reference: str | None = None,
    ip: str | None = None,
    detail: str | None = None,
    commit: bool = True,
) -> None:
    """Append an audit event. Callers pass no answers or contact details, only what happened.

    Inside an operation's transaction (store.transaction) it is committed with the operation's writes;
    with commit=False it waits for the caller's commit."""
    db.session.add(
        AuditEvent(
            at=utcnow(),
            actor=actor and actor[:EMAIL_MAX],
            action=action,
            submission_ref=reference,
            ip=ip,
            detail=(detail or None) and detail[:500],
        )
    )
    if commit:
        save()


def _audit_filters(action: str | None, actor: str | None, reference: str | None) -> list[Any]:
    filters: list[Any] = []
    if action:
        filters.append(AuditEvent.action == action.strip())
    if actor:
        filters.append(AuditEvent.actor == actor.strip().lower())
    if reference:
        filters.append(AuditEvent.submission_ref == reference.strip().upper())
    return filters


def audit_events(
    *,
    action: str | None = None,
    actor: str | None = None,
    reference: str | None = None,
    before_id: int | None = None,
    size: int = 100,
) -> list[AuditEvent]:
    query = select(AuditEvent).where(*_audit_filters(action, actor, reference))
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(size)))


def audit_events_for_export(
    *, action: str | None = None, actor: str | None = None, reference: str | None = None, batch: int = 1000
) -> Any:
    """Every matching audit event, newest first, streamed in batches (keyset on id)."""
    before: int | None = None
    while True:
        rows = audit_events(action=action, actor=actor, reference=reference, before_id=before, size=batch)
        if not rows:
            return
        yield from rows
        before = rows[-1].id
