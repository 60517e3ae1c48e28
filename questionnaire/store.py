"""The only module that queries or writes the database: drafts, submissions, staff, notes, audit."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from . import flow
from .extensions import db
from .models import AuditEvent, Draft, Submission, SubmissionRule, utcnow
from .questions import QUESTIONNAIRE
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


__all__ = ["QUESTIONNAIRE"]
