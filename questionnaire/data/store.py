"""The only module that queries or writes the database: drafts, submissions, staff, notes, audit."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Text, bindparam, delete, func, or_, select, tuple_, type_coerce, update
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from questionnaire.core import fhir

from questionnaire.core import flow
from questionnaire.data.crypto import KeyError_, keyring
from questionnaire.extensions import db
from questionnaire.data.models import (AuditEvent, Delivery, Draft, Note, QueueCount, Staff, StaffSession, Submission, SubmissionRule,
                     utcnow)
from questionnaire.core.rules import Assessment, Ruleset

# The wording version of the questions this release asks (stored with each submission).
QUESTIONS_VERSION = fhir.questionnaire_version()
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


def renew_draft_token(draft: Draft, presented: str) -> str | None:
    """A new random token for the draft (and for its submission's link to it); the old one stops
    finding it. Against session fixation: a cookie planted in a patient's browser is worthless once
    they start, continue or send.

    `presented` is the token the request came with. None when another request renewed that token
    first (the twin of a double click): one renewal wins, so the browser is left with one token that
    works, whichever reply it reads last.
    """
    token = secrets.token_urlsafe(32)
    old, new, now = token_hash(presented), token_hash(token), utcnow()
    won = db.session.execute(update(Draft).where(Draft.id == draft.id, Draft.token_hash == old)
                             .values(token_hash=new, previous_token_hash=old, token_renewed_at=now)
                             .execution_options(synchronize_session=False))
    if cast("CursorResult[Any]", won).rowcount != 1:
        db.session.rollback()
        return None
    submission_id = db.session.scalar(select(Draft.submission_id).where(Draft.id == draft.id))
    if submission_id is not None:
        db.session.execute(update(Submission).where(Submission.id == submission_id,
                                                    Submission.draft_token_hash == old)
                           .values(draft_token_hash=new).execution_options(synchronize_session=False))
    db.session.commit()
    for attribute, value in (("token_hash", new), ("previous_token_hash", old), ("token_renewed_at", now),
                             ("submission_id", submission_id)):
        set_committed_value(draft, attribute, value)
    return token


# Built once: the query of nearly every patient request.
_DRAFT_BY_TOKEN_HASH = select(Draft).where(Draft.token_hash == bindparam("token_hash"))
_DRAFT_BY_PREVIOUS_TOKEN_HASH = select(Draft.submission_id).where(
    Draft.previous_token_hash == bindparam("token_hash"), Draft.token_renewed_at > bindparam("since"))


def find_draft(token: str | None) -> Draft | None:
    """The draft for a cookie's token, unless it has expired."""
    if not token or not isinstance(token, str):
        return None
    draft: Draft | None = db.session.scalar(_DRAFT_BY_TOKEN_HASH, {"token_hash": token_hash(token)})
    if draft is None or draft.expires_at <= utcnow():
        return None
    return draft


def retired_token(token: str | None, within: timedelta) -> bool | None:
    """Whether a token that a renewal retired in the last `within` belonged to a draft that was then
    sent (True) or not yet (False); None for any other token. Only for sending the twin request of
    a double click on to where its browser now is: it reads nothing of the draft."""
    if not token or not isinstance(token, str):
        return None
    row = db.session.execute(_DRAFT_BY_PREVIOUS_TOKEN_HASH,
                             {"token_hash": token_hash(token), "since": utcnow() - within}).first()
    return None if row is None else row[0] is not None


def save_page(draft: Draft, page_id: str, page_answers: Mapping[str, Any], ttl: timedelta, *,
              done: bool = True) -> None:
    """Store one page's answers; answers to questions no longer shown are removed from the draft.

    With done=False the answers are kept to fill the page in later, but the page still has to be
    sent with Continue (what a patient typed after losing their session, ahead of the pages before).

    Two pages of one draft saved at the same moment (two tabs, two instances) both keep their answers:
    the draft is read again under a write lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite's one
    writer, taken before the read) and this page is merged into what is stored now, not into the
    copy this request read when it began.
    """
    _lock_draft(draft)
    answers = dict(draft.answers or {})
    for q in flow.shown_questions(page_id, answers):
        answers.pop(q.id, None)
    answers.update(page_answers)
    after = flow.route(answers)   # the pages shown for the answers that stay shown are the same pages
    visible, shown = dict(after.visible), {p.id for p in after.pages}
    kept = [p for p in (draft.done_pages or []) if p in shown and p != page_id]
    draft.answers, draft.done_pages = visible, (kept + [page_id] if done else kept)
    draft.updated_at = utcnow()
    draft.expires_at = draft.updated_at + ttl
    db.session.commit()


def _lock_draft(draft: Draft) -> None:
    """Hold the draft's row for writing until the commit, and reload it as it is stored now."""
    if db.session.get_bind().dialect.name == "sqlite":
        # A write statement first: it waits for SQLite's write lock (busy_timeout), and the reload
        # below then runs inside that write transaction, after any other writer's commit.
        table = Draft.__table__
        db.session.execute(update(table).where(table.c.id == draft.id).values(updated_at=table.c.updated_at))
        db.session.refresh(draft)
    else:
        db.session.refresh(draft, with_for_update=True)


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
    """The submission the draft became: submit() names it on the draft in the commit that stores it."""
    return db.session.get(Submission, draft.submission_id) if draft.submission_id is not None else None


def submit(draft: Draft, ruleset: Ruleset, assessment: Assessment, *, stopped_early: bool = False,
           on_created: Callable[[Submission], None] | None = None, ip: str | None = None) -> Submission:
    """Store the draft's visible answers as one submission; sending twice returns the first one.

    `on_created` runs once, after the commit, only for the request that created the submission.
    The fired rules are indexed by their keyed value and the patient's address `ip` is audited as a
    keyed hash (crypto.Keyring.keyed, keyed_ip): neither is readable in the database or a dump.
    """
    # Under the draft's write lock, as stored now: the twin of a double click, which may have read the
    # draft before this one was sent (and its token renewed), finds the submission and returns it.
    _lock_draft(draft)
    existing = submission_for_draft(draft)
    if existing is not None:
        db.session.commit()
        return existing
    answers = flow.visible_answers(draft.answers or {})
    for _attempt in range(5):
        sub = Submission(
            reference=new_reference(), draft_token_hash=draft.token_hash, answers=answers,
            level=assessment.level, level_rank=ruleset.rank(assessment.level),
            fired=[fired_to_json(f, ruleset) for f in assessment.fired],
            ruleset_version=assessment.version, ruleset_sha256=assessment.sha256, questions_version=QUESTIONS_VERSION,
            language=draft.language, stopped_early=stopped_early, created_at=utcnow(), status="new", version=1,
        )
        db.session.add(sub)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            # (scoped_session.scalar is typed as returning Any)
            existing = cast("Submission | None", db.session.scalar(
                select(Submission).where(Submission.draft_token_hash == draft.token_hash)))
            if existing is not None:
                return existing   # the other click of a double click won
            continue              # a reference number collision: draw another
        ring = keyring()
        db.session.add_all(SubmissionRule(submission_id=sub.id, rule_id=ring.keyed("rule", f.id),
                                          level_rank=sub.level_rank, created_at=sub.created_at)
                           for f in assessment.fired)
        _count(sub.level, sub.status, +1)
        draft.submission_id = sub.id
        # The record's creation is audited in the same transaction: both are stored, or neither.
        audit("submission_created", actor="patient", ip=ring.keyed_ip(ip) if ip else None, reference=sub.reference,
              commit=False,
              detail=f"{sub.level}{', stopped early' if stopped_early else ''}")
        db.session.commit()
        if on_created is not None:
            on_created(sub)
        return sub
    raise RuntimeError("could not allocate a reference number")


def fired_to_json(f: Any, ruleset: Ruleset | None = None) -> dict[str, Any]:
    """A fired rule as stored. With the rule set that judged it, also the rule's staff note, evidence
    grade and sources as they were then: staff read what applied to this submission, not what a later
    edit of the rules file says (or nothing, once a rule is renamed or removed)."""
    out = {"id": f.id, "level": f.level, "message_ids": list(f.message_ids), "triggers": dict(f.triggers)}
    if getattr(f, "same_day", False):
        out["same_day"] = True
    if getattr(f, "terms", ()):
        out["terms"] = list(f.terms)     # names found in the medicines list (stored encrypted, like answers)
    rule = next((r for r in ruleset.rules if r.id == f.id), None) if ruleset is not None else None
    if rule is not None and ruleset is not None:
        # The note as the rule set wrote it for these answers ({terms} filled in).
        out.update(staff_note=getattr(f, "staff_note", None) or rule.staff_note, evidence=rule.evidence,
                   sources=[[s, ruleset.sources.get(s, "")] for s in rule.sources])
    return out


def submission_by_reference(reference: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.reference == reference.strip().upper()))


# --- audit -----------------------------------------------------------------------------------

def audited(action: str, effect: Callable[[], None], *, actor: str | None = None, ip: str | None = None,
            detail: str | None = None) -> None:
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


def audit(action: str, *, actor: str | None = None, reference: str | None = None, ip: str | None = None,
          detail: str | None = None, commit: bool = True) -> None:
    """Append an audit event. Callers pass no answers or contact details, only what happened."""
    db.session.add(AuditEvent(at=utcnow(), actor=actor and actor[:EMAIL_MAX], action=action, submission_ref=reference, ip=ip,
                              detail=(detail or None) and detail[:500]))
    if commit:
        db.session.commit()



# --- staff accounts --------------------------------------------------------------------------

def staff_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Staff)) or 0)


EMAIL_MAX = 254   # the length of Staff.email (and of AuditEvent.actor)


def normalise_email(email: str) -> str:
    """An email address as accounts store it. Lower-casing can lengthen a text ("İ" becomes two
    characters), so the length is checked after it, never before."""
    return email.strip().lower()


def staff_by_email(email: str) -> Staff | None:
    email = normalise_email(email)
    if len(email) > EMAIL_MAX:
        return None   # no account has such an address (and the column could not compare it on PostgreSQL)
    return db.session.scalar(select(Staff).where(Staff.email == email))


def staff_by_id(staff_id: int) -> Staff | None:
    return db.session.get(Staff, staff_id)


def all_staff() -> list[Staff]:
    return list(db.session.scalars(select(Staff).order_by(Staff.email)))


def create_staff(email: str, role: str, password_hash: str, *, must_change_password: bool = False) -> Staff:
    now = utcnow()
    staff = Staff(email=email.strip().lower(), role=role, password_hash=password_hash, active=True,
                  must_change_password=must_change_password, otp_confirmed=False, otp_last_step=0,
                  failed_attempts=0, created_at=now, password_set_at=now)
    db.session.add(staff)
    db.session.commit()
    return staff


def update_staff(staff: Staff, **changes: Any) -> None:
    for key, value in changes.items():
        setattr(staff, key, value)
    db.session.commit()


class LastAdministrator(Exception):
    """Deactivating this account would leave no active administrator to manage staff and exports."""


def deactivate_staff(staff: Staff) -> None:
    """Stop an account signing in and end its sessions now; never the last active administrator
    (LastAdministrator), even when two administrators deactivate each other at the same moment."""
    if staff.role == "admin":
        # PostgreSQL: lock the active administrators, so that a second deactivation waits for this one
        # and then sees it. SQLite (one writer): the check and the change are one statement.
        db.session.execute(select(Staff.id).where(Staff.role == "admin", Staff.active.is_(True)).with_for_update())
        another = select(Staff.id).where(Staff.role == "admin", Staff.active.is_(True), Staff.id != staff.id).exists()
        changed = cast("CursorResult[Any]", db.session.execute(
            update(Staff).where(Staff.id == staff.id, another).values(active=False)
            .execution_options(synchronize_session="fetch")))
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
    result = cast("CursorResult[Any]", db.session.execute(
        update(Staff).where(Staff.id == staff.id, Staff.otp_last_step < step).values(otp_last_step=step)))
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


def revoke_all_sessions(staff_id: int, *, keep: int | None = None) -> int:
    """End every open session of an account (but `keep`, a session id); returns how many ended."""
    result = cast("CursorResult[Any]", db.session.execute(
        update(StaffSession).where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None),
                                   StaffSession.id != (keep or -1))
        .values(revoked_at=utcnow())))
    db.session.commit()
    return int(result.rowcount or 0)


# --- the queue and one submission ------------------------------------------------------------

def queue_page(*, status: str | None = None, level_rank: int | None = None, rule: str | None = None,
               date_from: datetime | None = None, date_to: datetime | None = None,
               after: tuple[int, datetime, int] | None = None, size: int = 25) -> list[Submission]:
    """One page of the queue: highest level first, oldest first.

    Keyset pagination on an index that starts with the filter and ends with the sort key
    (status or rule, then level_rank, created_at, id), so page 500 of a million costs what page 1 does.
    The rule is matched by its keyed value (under each key of the ring: one value, except while a key
    rotation is still re-keying older rows).
    """
    if rule:
        # The rule index carries the sort key: the page is one range scan of ix_submission_rules_queue.
        key = (SubmissionRule.level_rank, SubmissionRule.created_at, SubmissionRule.submission_id)
        query = select(Submission).join(SubmissionRule, SubmissionRule.submission_id == Submission.id).where(
            SubmissionRule.rule_id.in_(keyring().keyed_any("rule", rule)))
    else:
        key = (Submission.level_rank, Submission.created_at, Submission.id)
        query = select(Submission)
    rank_col, created_col, id_col = key
    if level_rank is not None:
        query = query.where(rank_col == level_rank)
    if status:
        query = query.where(Submission.status == status)
    if date_from:
        query = query.where(created_col >= date_from)
    if date_to:
        query = query.where(created_col < date_to)
    if after is not None:
        # One row-value comparison, which both databases turn into a range of the index. The same
        # condition spelt out with OR (rank > r OR rank = r AND created > c OR ...) is only a filter:
        # PostgreSQL and SQLite then scan the index from its start, every row before the cursor
        # (bench/bench_queue.py, docs/performance.md).
        query = query.where(tuple_(rank_col, created_col, id_col) > tuple_(*after))
    return list(db.session.scalars(query.order_by(*key).limit(size)))


def _count(level: str, status: str, delta: int) -> None:
    """Keep queue_counts in step with a write, in the same transaction (an upsert on both databases)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(QueueCount).values(level=level, status=status, n=delta)
    db.session.execute(statement.on_conflict_do_update(index_elements=["level", "status"],
                                                       set_={"n": QueueCount.n + delta}))


def _date_filters(date_from: datetime | None, date_to: datetime | None) -> list[Any]:
    filters: list[Any] = []
    if date_from:
        filters.append(Submission.created_at >= date_from)
    if date_to:
        filters.append(Submission.created_at < date_to)
    return filters


def level_counts(status: str | None = None) -> dict[str, int]:
    """Submissions per level (for one status, or all): read from the counters, not counted row by row."""
    query = select(QueueCount.level, func.sum(QueueCount.n)).group_by(QueueCount.level)
    if status:
        query = query.where(QueueCount.status == status)
    return {level: int(n) for level, n in db.session.execute(query) if n}


def rule_counts(rule_ids: Iterable[str], status: str | None = None) -> dict[str, int]:
    """Submissions per fired rule (of `rule_ids`, for one status or all), grouped by the keyed values."""
    query = select(SubmissionRule.rule_id, func.count()).group_by(SubmissionRule.rule_id)
    if status:
        query = query.join(Submission, Submission.id == SubmissionRule.submission_id).where(Submission.status == status)
    by_keyed = {keyed: int(n) for keyed, n in db.session.execute(query)}
    ring = keyring()
    counts = {rid: sum(by_keyed.get(k, 0) for k in ring.keyed_any("rule", rid)) for rid in rule_ids}
    return {rid: n for rid, n in counts.items() if n}


def submission_notes(sub: Submission) -> list[Note]:
    return list(db.session.scalars(select(Note).where(Note.submission_id == sub.id).order_by(Note.created_at, Note.id)))


def add_note(sub: Submission, author: str, body: str) -> Note | None:
    """Append a note; None when the submission was deleted (purged) in the meantime."""
    note = Note(submission_id=sub.id, author=author, body=body, created_at=utcnow())
    db.session.add(note)
    try:
        db.session.commit()
    except IntegrityError:   # the foreign key: the submission is gone
        db.session.rollback()
        return None
    return note


def submission_exists(sub_id: int) -> bool:
    return db.session.scalar(select(Submission.id).where(Submission.id == sub_id)) is not None


def change_status(sub: Submission, expected_version: int, status: str, by: str) -> bool:
    """Compare-and-set: change the status only if nobody changed the submission since it was shown."""
    old_status = sub.status
    result = cast("CursorResult[Any]", db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id, Submission.version == expected_version)
        .values(status=status, status_by=by, status_at=utcnow(), version=Submission.version + 1)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount:
        # The row was at the version this request read, so its status was the one read.
        _count(sub.level, old_status, -1)
        _count(sub.level, status, +1)
    db.session.commit()
    db.session.refresh(sub)
    return bool(result.rowcount)


def submissions_for_export(date_from: datetime | None, date_to: datetime | None, batch: int = 1000) -> Any:
    """Submissions oldest first, streamed in batches (keyset on id)."""
    last = 0
    while True:
        rows = list(db.session.scalars(select(Submission).where(Submission.id > last,
                                                                *_date_filters(date_from, date_to))
                                       .order_by(Submission.id).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _audit_filters(action: str | None, actor: str | None, reference: str | None) -> list[Any]:
    filters: list[Any] = []
    if action:
        filters.append(AuditEvent.action == action.strip())
    if actor:
        filters.append(AuditEvent.actor == actor.strip().lower())
    if reference:
        filters.append(AuditEvent.submission_ref == reference.strip().upper())
    return filters


def audit_events(*, action: str | None = None, actor: str | None = None, reference: str | None = None,
                 before_id: int | None = None, size: int = 100) -> list[AuditEvent]:
    query = select(AuditEvent).where(*_audit_filters(action, actor, reference))
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(size)))


def audit_events_for_export(*, action: str | None = None, actor: str | None = None, reference: str | None = None,
                            batch: int = 1000) -> Any:
    """Every matching audit event, newest first, streamed in batches (keyset on id)."""
    before: int | None = None
    while True:
        rows = audit_events(action=action, actor=actor, reference=reference, before_id=before, size=batch)
        if not rows:
            return
        yield from rows
        before = rows[-1].id


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
    """One transaction: the submissions, their notes and rule index, and the drafts they came from.

    The draft goes too: left behind without its submission, it would read as unsent again and offer
    the deleted answers back to whoever holds its cookie.
    """
    hashes = [h for h in db.session.scalars(select(Submission.draft_token_hash).where(Submission.id.in_(ids))) if h]
    for level, status, n in db.session.execute(select(Submission.level, Submission.status, func.count())
                                               .where(Submission.id.in_(ids)).group_by(Submission.level,
                                                                                       Submission.status)):
        _count(level, status, -int(n))
    db.session.execute(delete(Delivery).where(Delivery.submission_id.in_(ids)))
    db.session.execute(delete(Note).where(Note.submission_id.in_(ids)))
    db.session.execute(delete(SubmissionRule).where(SubmissionRule.submission_id.in_(ids)))
    db.session.execute(delete(Draft).where(or_(Draft.submission_id.in_(ids), Draft.token_hash.in_(hashes))))
    db.session.execute(delete(Submission).where(Submission.id.in_(ids)))
    db.session.commit()


ENCRYPTED_COLUMNS = ((Draft, "answers"), (Submission, "answers"), (Submission, "fired"), (Note, "body"),
                     (StaffSession, "pending"), (Staff, "otp_secret"))


def reencrypt_batch(current_key_id: str, batch: int = 200) -> int:
    """Re-encrypt up to `batch` values per column that use another key; 0 means rotation is complete.

    Progress lives in the rows themselves (their key id), so an interrupted run resumes where it stopped.
    Each value is rewritten only if it is still the one read (compare-and-set on the ciphertext), so a
    patient or staff write that lands in between is never overwritten with older data. The keyed rule
    index (submission_rules.rule_id) is re-keyed to the current key in the same batches.
    """
    from sqlalchemy import literal

    ring = keyring()
    if ring.current != current_key_id:
        raise ValueError(f"the current encryption key is {ring.current!r}, not {current_key_id!r}")
    prefix = f"v1:{current_key_id}:"
    seen = 0
    for model, attr in ENCRYPTED_COLUMNS:
        table = model.__table__
        raw = type_coerce(table.c[attr], Text)
        rows = db.session.execute(
            select(table.c.id, raw).where(raw.is_not(None), func.substr(raw, 1, len(prefix)) != prefix)
            .order_by(table.c.id).limit(batch)).all()
        for row_id, old in rows:
            new = ring.encrypt(ring.decrypt(old))
            db.session.execute(update(table).where(table.c.id == row_id, raw == literal(old, Text))
                               .values({attr: literal(new, Text)}))
        seen += len(rows)
    seen += _rekey_rules_batch(batch)
    db.session.commit()
    return seen


def _rekey_rules_batch(batch: int) -> int:
    """Re-key up to `batch` rows of the rule index that are keyed under another key than the current one.

    A keyed value cannot be reversed: the plain rule id is the one of the submission's fired rules
    (decrypted) whose keyed value under the row's key is the stored one.
    """
    ring = keyring()
    prefix = f"{ring.current}:"
    table = SubmissionRule.__table__
    rows = db.session.execute(select(table.c.submission_id, table.c.rule_id)
                              .where(func.substr(table.c.rule_id, 1, len(prefix)) != prefix)
                              .order_by(table.c.submission_id).limit(batch)).all()
    fired_ids: dict[int, list[str]] = {}
    for sub_id, old in rows:
        if sub_id not in fired_ids:
            sealed = db.session.scalar(select(type_coerce(Submission.fired, Text)).where(Submission.id == sub_id))
            fired_ids[sub_id] = [str(f["id"]) for f in json.loads(ring.decrypt(sealed))] if sealed else []
        kid = str(old).split(":", 1)[0]
        plain = next((rid for rid in fired_ids[sub_id] if ring.keyed("rule", rid, kid) == old), None)
        if plain is None:
            raise KeyError_(f"a rule index row of submission {sub_id} matches none of its fired rules")
        db.session.execute(update(table).where(table.c.submission_id == sub_id, table.c.rule_id == old)
                           .values(rule_id=ring.keyed("rule", plain)))
    return len(rows)


# --- notification deliveries -------------------------------------------------------------------

def record_delivery(submission_id: int, attempt: Mapping[str, Any]) -> None:
    """Record one notification attempt (no health data: level, reference, outcome, target host)."""
    db.session.add(Delivery(submission_id=submission_id, **attempt))
    db.session.commit()


def deliveries_for(sub: Submission) -> list[Delivery]:
    return list(db.session.scalars(select(Delivery).where(Delivery.submission_id == sub.id)
                                   .order_by(Delivery.at, Delivery.id)))
