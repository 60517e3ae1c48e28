"""Patients' drafts: created, found by the cookie's token, saved page by page, renewed, purged."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, select, update
from sqlalchemy.orm.attributes import set_committed_value

from questionnaire.core import flow
from questionnaire.data.models import Draft, Submission, utcnow
from questionnaire.data.store.base import token_hash
from questionnaire.extensions import db


def create_draft(language: str, ttl: timedelta) -> tuple[Draft, str]:
    """A new empty draft and the random token that finds it (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    draft = Draft(
        token_hash=token_hash(token),
        answers={},
        done_pages=[],
        language=language,
        created_at=now,
        updated_at=now,
        expires_at=now + ttl,
    )
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
    won = db.session.execute(
        update(Draft)
        .where(Draft.id == draft.id, Draft.token_hash == old)
        .values(token_hash=new, previous_token_hash=old, token_renewed_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", won).rowcount != 1:
        db.session.rollback()
        return None
    submission_id = db.session.scalar(select(Draft.submission_id).where(Draft.id == draft.id))
    if submission_id is not None:
        db.session.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.draft_token_hash == old)
            .values(draft_token_hash=new)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    for attribute, value in (
        ("token_hash", new),
        ("previous_token_hash", old),
        ("token_renewed_at", now),
        ("submission_id", submission_id),
    ):
        set_committed_value(draft, attribute, value)
    return token


# Built once: the query of nearly every patient request.
_DRAFT_BY_TOKEN_HASH = select(Draft).where(Draft.token_hash == bindparam("token_hash"))
_DRAFT_BY_PREVIOUS_TOKEN_HASH = select(Draft.submission_id).where(
    Draft.previous_token_hash == bindparam("token_hash"), Draft.token_renewed_at > bindparam("since")
)


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
    row = db.session.execute(
        _DRAFT_BY_PREVIOUS_TOKEN_HASH, {"token_hash": token_hash(token), "since": utcnow() - within}
    ).first()
    return None if row is None else row[0] is not None


def save_page(
    draft: Draft,
    page_id: str,
    page_answers: Mapping[str, Any],
    ttl: timedelta,
    *,
    done: bool = True,
    pending: Mapping[str, Any] | None = None,
) -> None:
    """Store one page's answers; answers to questions no longer shown are removed from the draft.

    With done=False the answers are kept to fill the page in later, but the page still has to be
    sent with Continue (what a patient typed after losing their session, ahead of the pages before).
    `pending` replaces the draft's pending page (set_pending): None, as with every page sent with
    Continue, clears it.

    Two pages of one draft saved at the same moment (two tabs, two instances) both keep their answers:
    the draft is read again under a write lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite's one
    writer, taken before the read) and this page is merged into what is stored now, not into the
    copy this request read when it began.
    """
    lock_draft(draft)
    answers = dict(draft.answers or {})
    for q in flow.shown_questions(page_id, answers):
        answers.pop(q.id, None)
    answers.update(page_answers)
    after = flow.route(answers)  # the pages shown for the answers that stay shown are the same pages
    visible, shown = dict(after.visible), {p.id for p in after.pages}
    kept = [p for p in (draft.done_pages or []) if p in shown and p != page_id]
    draft.answers, draft.done_pages = visible, (kept + [page_id] if done else kept)
    draft.pending = dict(pending) if pending is not None else None
    draft.updated_at = utcnow()
    draft.expires_at = draft.updated_at + ttl
    db.session.commit()


def lock_draft(draft: Draft) -> None:
    """Hold the draft's row for writing until the commit, and reload it as it is stored now."""
    if db.session.get_bind().dialect.name == "sqlite":
        # A write statement first: it waits for SQLite's write lock (busy_timeout), and the reload
        # below then runs inside that write transaction, after any other writer's commit.
        table = Draft.__table__
        db.session.execute(update(table).where(table.c.id == draft.id).values(updated_at=table.c.updated_at))
        db.session.refresh(draft)
    else:
        db.session.refresh(draft, with_for_update=True)


def set_pending(draft: Draft, pending: Mapping[str, Any] | None) -> None:
    """Keep (encrypted, in the draft, never in the cookie) a page sent with errors or with a notice to
    show, for the GET its POST redirects to: {"page", "values", "errors", "notice", ...}; None clears it."""
    lock_draft(draft)
    draft.pending = dict(pending) if pending is not None else None
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
