"""The front desk's work: contact attempts (the call log), "assign to me", the call sheet's rows and
the count of submissions that arrived since a queue page was shown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from questionnaire.data.enums import SubmissionStatus
from questionnaire.data.models import CallAttempt, Submission, utcnow
from questionnaire.data.store.base import add_to_submission, save
from questionnaire.extensions import db


def record_call(sub: Submission, outcome: str, caller: str) -> CallAttempt | None:
    """Append a contact attempt; None when the submission was deleted (purged) in the meantime."""
    return add_to_submission(CallAttempt(submission_id=sub.id, outcome=outcome, caller=caller, at=utcnow()))


def calls_for(sub: Submission) -> list[CallAttempt]:
    return list(
        db.session.scalars(
            select(CallAttempt).where(CallAttempt.submission_id == sub.id).order_by(CallAttempt.at, CallAttempt.id)
        )
    )


def assign(sub: Submission, to: str | None) -> bool:
    """Give the case to `to` (an email; None: nobody). False when the submission is gone."""
    result = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Submission)
            .where(Submission.id == sub.id)
            .values(assigned_to=to, assigned_at=utcnow() if to else None)
            .execution_options(synchronize_session=False)
        ),
    )
    save()
    if result.rowcount:
        db.session.refresh(sub)
    return bool(result.rowcount)


def waiting_for_a_call(level_ranks: Sequence[int], limit: int = 200) -> list[Submission]:
    """New submissions of the given levels (those a call is due for), highest level first, oldest
    first: one range of ix_submissions_status_queue per level."""
    query = (
        select(Submission)
        .where(Submission.status == SubmissionStatus.NEW, Submission.level_rank.in_(list(level_ranks)))
        .order_by(Submission.level_rank, Submission.created_at, Submission.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def newest_submission_id() -> int:
    return int(db.session.scalar(select(func.max(Submission.id))) or 0)


def submissions_after(last_id: int) -> int:
    """How many submissions arrived after the one numbered `last_id` (a range of the primary key)."""
    return int(db.session.scalar(select(func.count()).select_from(Submission).where(Submission.id > last_id)) or 0)


def first_waiting(level_rank: int, *, newest: bool) -> Submission | None:
    """The newest (or oldest) new submission of a level: one end of a range of ix_submissions_status_queue."""
    order = (Submission.created_at.desc(), Submission.id.desc()) if newest else (Submission.created_at, Submission.id)
    query = select(Submission).where(Submission.status == SubmissionStatus.NEW, Submission.level_rank == level_rank)
    return db.session.scalar(query.order_by(*order).limit(1))
