"""The only module that queries or writes the database: drafts, submissions, staff, notes, audit."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, delete, func, or_, select, type_coerce, update
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.exc import IntegrityError

from . import flow
from .extensions import db
from .models import AuditEvent, Draft, Note, Staff, StaffSession, Submission, SubmissionRule, utcnow
from .rules import Assessment, Ruleset

# Reference numbers: no 0/O, 1/I/L, so they can be read out on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_reference() -> str:
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


# --- drafts ----------------------------------------------------------------------------------

def create_draft(language: str, ttl: timedelta) -> tuple[Draft, str]:
    """A new empty draft and the random token that finds it (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    draft = Draft(token_hash=token_hash(token), answers={}, done_pages=[], language=language,
                  created_at=now, updated_at=now, expires_at=now + ttl)
    db.session.add(draft)
    db.session.commit()
    return draft, token


def find_draft(token: str | None) -> Draft | None:
    """The draft for a cookie's token, unless it has expired."""
    if not token or not isinstance(token, str):
        return None
    draft = db.session.scalar(select(Draft).where(Draft.token_hash == token_hash(token)))
    if draft is None or draft.expires_at <= utcnow():
        return None
    return draft


def save_page(draft: Draft, page_id: str, page_answers: Mapping[str, Any], ttl: timedelta) -> None:
    """Store one page's answers; answers to questions no longer shown are removed from the draft."""
    answers = dict(draft.answers or {})
    for q in flow.shown_questions(page_id, answers):
        answers.pop(q.id, None)
    answers.update(page_answers)
    visible = flow.visible_answers(answers)
    shown = {p.id for p in flow.shown_pages(visible)}
    done = [p for p in (draft.done_pages or []) if p in shown and p != page_id] + [page_id]
    draft.answers, draft.done_pages = visible, done
    draft.updated_at = utcnow()
    draft.expires_at = draft.updated_at + ttl
    db.session.commit()


def set_draft_language(draft: Draft, language: str) -> None:
    draft.language = language
    db.session.commit()


def delete_draft(draft: Draft) -> None:
    db.session.delete(draft)
    db.session.commit()


def purge_expired_drafts(now: datetime | None = None, batch: int = 500) -> int:
    """Delete expired drafts in batches; returns how many went."""
    total = 0
    while True:
        ids = db.session.scalars(select(Draft.id).where(Draft.expires_at <= (now or utcnow())).limit(batch)).all()
        if not ids:
            return total
        db.session.execute(delete(Draft).where(Draft.id.in_(ids)))
        db.session.commit()
        total += len(ids)


# --- submissions -----------------------------------------------------------------------------

def submission_for_draft(draft: Draft) -> Submission | None:
    if draft.submission_id is None:
        return db.session.scalar(select(Submission).where(Submission.draft_token_hash == draft.token_hash))
    return db.session.get(Submission, draft.submission_id)


def submit(draft: Draft, ruleset: Ruleset, assessment: Assessment, *, stopped_early: bool = False) -> Submission:
    """Store the draft's visible answers as one submission; sending twice returns the first one."""
    existing = submission_for_draft(draft)
    if existing is not None:
        return existing
    answers = flow.visible_answers(draft.answers or {})
    for _attempt in range(5):
        sub = Submission(
            reference=new_reference(), draft_token_hash=draft.token_hash, answers=answers,
            level=assessment.level, level_rank=ruleset.rank(assessment.level),
            fired=[fired_to_json(f) for f in assessment.fired],
            ruleset_version=assessment.version, ruleset_sha256=assessment.sha256,
            language=draft.language, stopped_early=stopped_early, created_at=utcnow(), status="new", version=1,
        )
        db.session.add(sub)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            existing = submission_for_draft(draft)
            if existing is not None:
                return existing   # the other click of a double click won
            continue              # a reference number collision: draw another
        db.session.add_all(SubmissionRule(submission_id=sub.id, rule_id=f.id) for f in assessment.fired)
        draft.submission_id = sub.id
        db.session.commit()
        return sub
    raise RuntimeError("could not allocate a reference number")


def fired_to_json(f: Any) -> dict[str, Any]:
    return {"id": f.id, "level": f.level, "message_ids": list(f.message_ids), "triggers": dict(f.triggers)}


def submission_by_reference(reference: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.reference == reference.strip().upper()))


# --- audit -----------------------------------------------------------------------------------

def audit(action: str, *, actor: str | None = None, reference: str | None = None, ip: str | None = None,
          detail: str | None = None, commit: bool = True) -> None:
    """Append an audit event. Callers pass no answers or contact details, only what happened."""
    db.session.add(AuditEvent(at=utcnow(), actor=actor, action=action, submission_ref=reference, ip=ip,
                              detail=(detail or None) and detail[:500]))
    if commit:
        db.session.commit()



# --- staff accounts --------------------------------------------------------------------------

def staff_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Staff)) or 0)


def staff_by_email(email: str) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.email == email.strip().lower()))


def staff_by_id(staff_id: int) -> Staff | None:
    return db.session.get(Staff, staff_id)


def all_staff() -> list[Staff]:
    return list(db.session.scalars(select(Staff).order_by(Staff.email)))


def create_staff(email: str, role: str, password_hash: str, *, must_change_password: bool = False) -> Staff:
    staff = Staff(email=email.strip().lower(), role=role, password_hash=password_hash, active=True,
                  must_change_password=must_change_password, otp_confirmed=False, otp_last_step=0,
                  failed_attempts=0, created_at=utcnow())
    db.session.add(staff)
    db.session.commit()
    return staff


def update_staff(staff: Staff, **changes: Any) -> None:
    for key, value in changes.items():
        setattr(staff, key, value)
    db.session.commit()


def record_failed_sign_in(staff: Staff, lock_after: int, lock_for: timedelta) -> None:
    """Count a failed attempt atomically; lock the account after too many in a row."""
    db.session.execute(update(Staff).where(Staff.id == staff.id).values(failed_attempts=Staff.failed_attempts + 1))
    db.session.commit()
    db.session.refresh(staff)
    if staff.failed_attempts >= lock_after:
        staff.locked_until, staff.failed_attempts = utcnow() + lock_for, 0
        db.session.commit()


def use_otp_step(staff: Staff, step: int) -> bool:
    """Accept a one-time code's time step once only (compare-and-set, so a replay loses)."""
    result = db.session.execute(update(Staff).where(Staff.id == staff.id, Staff.otp_last_step < step)
                                .values(otp_last_step=step))
    db.session.commit()
    return bool(result.rowcount)


# --- staff sessions --------------------------------------------------------------------------

def create_staff_session(staff: Staff) -> tuple[StaffSession, str]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = StaffSession(token_hash=token_hash(token), staff_id=staff.id, stage="password", created_at=now,
                       last_seen_at=now)
    db.session.add(row)
    db.session.commit()
    return row, token


def find_staff_session(token: str | None) -> StaffSession | None:
    if not token or not isinstance(token, str):
        return None
    return db.session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def touch_staff_session(row: StaffSession, **changes: Any) -> None:
    row.last_seen_at = utcnow()
    for key, value in changes.items():
        setattr(row, key, value)
    db.session.commit()


def revoke_staff_session(row: StaffSession) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()


def revoke_all_sessions(staff_id: int) -> int:
    result = db.session.execute(update(StaffSession).where(StaffSession.staff_id == staff_id,
                                                           StaffSession.revoked_at.is_(None))
                                .values(revoked_at=utcnow()))
    db.session.commit()
    return int(result.rowcount or 0)


# --- the queue and one submission ------------------------------------------------------------

def queue_page(*, status: str | None = None, level: str | None = None, rule: str | None = None,
               date_from: datetime | None = None, date_to: datetime | None = None,
               after: tuple[int, datetime, int] | None = None, size: int = 25) -> list[Submission]:
    """One page of the queue: highest level first, oldest first; keyset pagination on the queue index."""
    query = select(Submission)
    if rule:
        query = query.join(SubmissionRule, and_(SubmissionRule.submission_id == Submission.id,
                                                SubmissionRule.rule_id == rule))
    query = query.where(*_queue_filters(status, level, date_from, date_to))
    if after is not None:
        rank, created, sub_id = after
        query = query.where(or_(
            Submission.level_rank > rank,
            and_(Submission.level_rank == rank, Submission.created_at > created),
            and_(Submission.level_rank == rank, Submission.created_at == created, Submission.id > sub_id),
        ))
    query = query.order_by(Submission.level_rank, Submission.created_at, Submission.id).limit(size)
    return list(db.session.scalars(query))


def _queue_filters(status: str | None, level: str | None, date_from: datetime | None,
                   date_to: datetime | None) -> list[Any]:
    filters: list[Any] = []
    if status:
        filters.append(Submission.status == status)
    if level:
        filters.append(Submission.level == level)
    if date_from:
        filters.append(Submission.created_at >= date_from)
    if date_to:
        filters.append(Submission.created_at < date_to)
    return filters


def level_counts(status: str | None = None) -> dict[str, int]:
    query = select(Submission.level, func.count()).group_by(Submission.level)
    if status:
        query = query.where(Submission.status == status)
    return {level: int(n) for level, n in db.session.execute(query)}


def submission_notes(sub: Submission) -> list[Note]:
    return list(db.session.scalars(select(Note).where(Note.submission_id == sub.id).order_by(Note.created_at, Note.id)))


def add_note(sub: Submission, author: str, body: str) -> Note:
    note = Note(submission_id=sub.id, author=author, body=body, created_at=utcnow())
    db.session.add(note)
    db.session.commit()
    return note


def change_status(sub: Submission, expected_version: int, status: str, by: str) -> bool:
    """Compare-and-set: change the status only if nobody changed the submission since it was shown."""
    result = db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id, Submission.version == expected_version)
        .values(status=status, status_by=by, status_at=utcnow(), version=Submission.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(sub)
    return bool(result.rowcount)


def submissions_for_export(date_from: datetime | None, date_to: datetime | None, batch: int = 1000) -> Any:
    """Submissions oldest first, streamed in batches (keyset on id)."""
    last = 0
    while True:
        rows = list(db.session.scalars(select(Submission).where(Submission.id > last,
                                                                *_queue_filters(None, None, date_from, date_to))
                                       .order_by(Submission.id).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def audit_events(*, action: str | None = None, actor: str | None = None, reference: str | None = None,
                 before_id: int | None = None, size: int = 100) -> list[AuditEvent]:
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor.strip().lower())
    if reference:
        query = query.where(AuditEvent.submission_ref == reference.strip().upper())
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(size)))


# --- retention and keys ------------------------------------------------------------------------

def purge_old_submissions(retention_days: Mapping[str, int], now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Delete submissions older than the retention of their status, in batches; returns counts per status."""
    removed: dict[str, int] = {}
    for status, days in retention_days.items():
        if days is None or int(days) <= 0:
            continue
        cutoff = (now or utcnow()) - timedelta(days=int(days))
        while True:
            ids = db.session.scalars(select(Submission.id).where(Submission.status == status,
                                                                 Submission.created_at < cutoff).limit(batch)).all()
            if not ids:
                break
            _delete_submissions(list(ids))
            removed[status] = removed.get(status, 0) + len(ids)
    return removed


def delete_submission(sub: Submission) -> None:
    """Delete one submission and everything attached to it (a patient's request)."""
    _delete_submissions([sub.id])


def _delete_submissions(ids: list[int]) -> None:
    db.session.execute(delete(Note).where(Note.submission_id.in_(ids)))
    db.session.execute(delete(SubmissionRule).where(SubmissionRule.submission_id.in_(ids)))
    db.session.execute(update(Draft).where(Draft.submission_id.in_(ids)).values(submission_id=None))
    db.session.execute(delete(Submission).where(Submission.id.in_(ids)))
    db.session.commit()


ENCRYPTED_COLUMNS = ((Draft, "answers"), (Submission, "answers"), (Submission, "fired"), (Note, "body"),
                     (StaffSession, "pending"))


def reencrypt_batch(current_key_id: str, batch: int = 200) -> int:
    """Re-encrypt up to `batch` rows per column that use another key; 0 means rotation is complete.

    Progress lives in the rows themselves (their key id), so an interrupted run resumes where it stopped.
    """
    done = 0
    for model, attr in ENCRYPTED_COLUMNS:
        column = getattr(model, attr)
        raw = type_coerce(column, Text)
        rows = db.session.scalars(select(model).where(column.is_not(None),
                                                      raw.not_like(f"v1:{current_key_id}:%")).limit(batch)).all()
        for row in rows:
            flag_modified(row, attr)   # written again, so encrypted with the current key
        done += len(rows)
    db.session.commit()
    return done
