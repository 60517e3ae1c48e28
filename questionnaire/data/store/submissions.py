"""Submissions: stored once from a draft, found by reference, notes, status changes, deletion,
notification deliveries."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from questionnaire.core import fhir, flow
from questionnaire.core.rules import Assessment, Ruleset
from questionnaire.data.crypto import keyring
from questionnaire.data.enums import SubmissionStatus
from questionnaire.data.models import (
    CallAttempt,
    CheckIn,
    Delivery,
    Draft,
    Note,
    Submission,
    SubmissionRule,
    SubmissionSearch,
    utcnow,
)
from questionnaire.data.store.audit_log import audit
from questionnaire.data.store.base import add_to_submission, save
from questionnaire.data.store.drafts import DraftRow, link_submission, lock_draft
from questionnaire.data.store.queue import adjust_count
from questionnaire.data.store.search import index_submission
from questionnaire.extensions import db

# The wording version of the questions this release asks (stored with each submission).
QUESTIONS_VERSION = fhir.questionnaire_version()
# Reference numbers: no 0/O, 1/I/L, so they can be read out on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def submission_for_draft(draft: DraftRow) -> Submission | None:
    """The submission the draft became: submit() names it on the draft in the commit that stores it."""
    return db.session.get(Submission, draft.submission_id) if draft.submission_id is not None else None


def submit(
    draft: DraftRow,
    ruleset: Ruleset,
    assessment: Assessment,
    *,
    stopped_early: bool = False,
    on_created: Callable[[Submission], None] | None = None,
    ip: str | None = None,
) -> Submission:
    """Store the draft's visible answers as one submission; sending twice returns the first one.

    `on_created` runs once, after the commit, only for the request that created the submission.
    The fired rules are indexed by their keyed value and the patient's address `ip` is audited as a
    keyed hash (crypto.Keyring.keyed, keyed_ip): neither is readable in the database or a dump.
    """
    # Under the draft's write lock, as stored now: the twin of a double click, which may have read the
    # draft before this one was sent (and its token renewed), finds the submission and returns it.
    conn = db.session.connection()
    if not lock_draft(draft, conn):
        raise LookupError("the draft was deleted before it could be sent")
    existing = submission_for_draft(draft)
    if existing is not None:
        db.session.commit()
        return existing
    answers = flow.visible_answers(draft.answers or {})
    for _attempt in range(5):
        sub = Submission(
            reference=new_reference(),
            draft_token_hash=draft.token_hash,
            answers=answers,
            level=assessment.level,
            level_rank=ruleset.rank(assessment.level),
            fired=[fired_to_json(f, ruleset) for f in assessment.fired],
            ruleset_version=assessment.version,
            ruleset_sha256=assessment.sha256,
            questions_version=QUESTIONS_VERSION,
            language=draft.language,
            stopped_early=stopped_early,
            created_at=utcnow(),
            status=SubmissionStatus.NEW,
            version=1,
            rescreen_of_id=draft.rescreen_of_id,
        )
        db.session.add(sub)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            # (scoped_session.scalar is typed as returning Any)
            existing = cast(
                "Submission | None",
                db.session.scalar(select(Submission).where(Submission.draft_token_hash == draft.token_hash)),
            )
            if existing is not None:
                return existing  # the other click of a double click won
            continue  # a reference number collision: draw another
        ring = keyring()
        db.session.add_all(
            SubmissionRule(
                submission_id=sub.id,
                rule_id=ring.keyed("rule", f.id),
                level_rank=sub.level_rank,
                created_at=sub.created_at,
            )
            for f in assessment.fired
        )
        index_submission(sub.id, sub.created_at, answers)
        adjust_count(sub.level, sub.status, +1)
        link_submission(draft, sub.id, db.session.connection())  # (a retry's rollback ended `conn`)
        # The record's creation is audited in the same transaction: both are stored, or neither.
        audit(
            "submission_created",
            actor="patient",
            ip=ring.keyed_ip(ip) if ip else None,
            reference=sub.reference,
            commit=False,
            detail=f"{sub.level}{', stopped early' if stopped_early else ''}",
        )
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
        out["terms"] = list(f.terms)  # names found in the medicines list (stored encrypted, like answers)
    rule = next((r for r in ruleset.rules if r.id == f.id), None) if ruleset is not None else None
    if rule is not None and ruleset is not None:
        # The note as the rule set wrote it for these answers ({terms} filled in).
        out.update(
            staff_note=getattr(f, "staff_note", None) or rule.staff_note,
            evidence=rule.evidence,
            sources=[[s, ruleset.sources.get(s, "")] for s in rule.sources],
        )
        # The flag in words and the front desk's words, as they were (the queue's reason, the action card).
        if rule.title:
            out.update(
                title=rule.title,
                front_desk={
                    "say": rule.front_desk.say,
                    "do_not_say": rule.front_desk.do_not_say,
                    "goes_to": rule.front_desk.goes_to,
                },
            )
    return out


def submission_by_reference(reference: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.reference == reference.strip().upper()))


def submission_notes(sub: Submission) -> list[Note]:
    return list(db.session.scalars(select(Note).where(Note.submission_id == sub.id).order_by(Note.created_at, Note.id)))


def add_note(sub: Submission, author: str, body: str) -> Note | None:
    """Append a note; None when the submission was deleted (purged) in the meantime."""
    return add_to_submission(Note(submission_id=sub.id, author=author, body=body, created_at=utcnow()))


def set_callback_phone(sub: Submission, phone: str) -> None:
    """The number a patient left on the urgent page (encrypted), and the search terms it is found by."""
    sub.callback_phone = phone
    db.session.flush()
    index_submission(sub.id, sub.created_at, sub.answers or {}, phone)
    save()


def submission_exists(sub_id: int) -> bool:
    return db.session.scalar(select(Submission.id).where(Submission.id == sub_id)) is not None


def change_status(sub: Submission, expected_version: int, status: str, by: str) -> bool:
    """Compare-and-set: change the status only if nobody changed the submission since it was shown."""
    old_status = sub.status
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Submission)
            .where(Submission.id == sub.id, Submission.version == expected_version)
            .values(status=status, status_by=by, status_at=utcnow(), version=Submission.version + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount:
        # The row was at the version this request read, so its status was the one read.
        adjust_count(sub.level, old_status, -1)
        adjust_count(sub.level, status, +1)
    save()
    db.session.refresh(sub)
    return bool(result.rowcount)


def delete_submission(sub: Submission) -> None:
    """Delete one submission and everything attached to it (a patient's request)."""
    delete_submissions([sub.id])


def delete_submissions(ids: list[int]) -> None:
    """One transaction (or part of the caller's): the submissions, their notes, rule and search index,
    and the drafts they came from.

    The draft goes too: left behind without its submission, it would read as unsent again and offer
    the deleted answers back to whoever holds its cookie.
    """
    hashes = [h for h in db.session.scalars(select(Submission.draft_token_hash).where(Submission.id.in_(ids))) if h]
    for level, status, n in db.session.execute(
        select(Submission.level, Submission.status, func.count())
        .where(Submission.id.in_(ids))
        .group_by(Submission.level, Submission.status)
    ):
        adjust_count(level, status, -int(n))
    db.session.execute(delete(Delivery).where(Delivery.submission_id.in_(ids)))
    db.session.execute(delete(CheckIn).where(CheckIn.submission_id.in_(ids)))
    for linked in (Submission, Draft):  # a rescreen's link to a deleted submission
        db.session.execute(
            update(linked)
            .where(linked.rescreen_of_id.in_(ids))
            .values(rescreen_of_id=None)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(delete(Note).where(Note.submission_id.in_(ids)))
    db.session.execute(delete(CallAttempt).where(CallAttempt.submission_id.in_(ids)))
    db.session.execute(delete(SubmissionRule).where(SubmissionRule.submission_id.in_(ids)))
    db.session.execute(delete(SubmissionSearch).where(SubmissionSearch.submission_id.in_(ids)))
    db.session.execute(delete(Draft).where(or_(Draft.submission_id.in_(ids), Draft.token_hash.in_(hashes))))
    db.session.execute(delete(Submission).where(Submission.id.in_(ids)))
    save()


# --- notification deliveries -------------------------------------------------------------------


def record_delivery(submission_id: int, attempt: Mapping[str, Any]) -> None:
    """Record one notification attempt (no health data: level, reference, outcome, target host)."""
    db.session.add(Delivery(submission_id=submission_id, **attempt))
    db.session.commit()


def deliveries_for(sub: Submission) -> list[Delivery]:
    return list(
        db.session.scalars(select(Delivery).where(Delivery.submission_id == sub.id).order_by(Delivery.at, Delivery.id))
    )
