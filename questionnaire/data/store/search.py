"""The contact search: a blind index of keyed terms (core/search.py) kept in step with the
submissions, looked up without decrypting anything but the page of results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Text, delete, func, select, type_coerce

from questionnaire.core import search
from questionnaire.data.crypto import keyring
from questionnaire.data.models import Submission, SubmissionSearch
from questionnaire.extensions import db


def index_submission(
    submission_id: int, created_at: datetime, answers: Mapping[str, Any], callback_phone: str | None = None
) -> None:
    """(Re)write a submission's search terms, keyed under the current key, in the caller's transaction."""
    ring = keyring()
    db.session.execute(delete(SubmissionSearch).where(SubmissionSearch.submission_id == submission_id))
    db.session.add_all(
        SubmissionSearch(submission_id=submission_id, term=ring.keyed("search", term), created_at=created_at)
        for term in sorted(search.index_terms(answers, callback_phone))
    )
    db.session.flush()


def search_submissions(query: search.Query, limit: int = search.RESULTS) -> list[Submission]:
    """The submissions that have every term of `query`, newest first (at most `limit`).

    Each term is matched by its keyed value under every key of the ring (one value, except while a
    key rotation is still re-keying older rows). One term is one range of ix_submission_search_term;
    several terms (words of a name) are counted per submission over their ranges."""
    if not query.terms:
        return []
    ring = keyring()
    if len(query.terms) == 1:
        # The newest `limit` of one range, read backwards on the index.
        newest = (
            select(SubmissionSearch.submission_id, SubmissionSearch.created_at)
            .where(SubmissionSearch.term.in_(ring.keyed_any("search", query.terms[0])))
            .order_by(SubmissionSearch.created_at.desc(), SubmissionSearch.submission_id.desc())
            .limit(limit)
        )
        ids: Any = select(newest.subquery().c.submission_id)
    else:
        keyed = [k for term in query.terms for k in ring.keyed_any("search", term)]
        ids = (
            select(SubmissionSearch.submission_id)
            .where(SubmissionSearch.term.in_(keyed))
            .group_by(SubmissionSearch.submission_id)
            .having(func.count() == len(query.terms))
        )
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.id.in_(ids))
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        )
    )


def rekey_search_batch(batch: int) -> int:
    """Re-key the search terms of up to `batch` submissions that have terms under another key than the
    current one: each submission's terms are rebuilt from its decrypted answers and callback number."""
    ring = keyring()
    prefix = f"{ring.current}:"
    table = SubmissionSearch.__table__
    ids = list(
        db.session.scalars(
            select(table.c.submission_id)
            .distinct()
            .where(func.substr(table.c.term, 1, len(prefix)) != prefix)
            .order_by(table.c.submission_id)
            .limit(batch)
        )
    )
    for sub_id in ids:
        row = db.session.execute(
            select(
                type_coerce(Submission.answers, Text),
                type_coerce(Submission.callback_phone, Text),
                Submission.created_at,
            ).where(Submission.id == sub_id)
        ).one()
        answers = json.loads(ring.decrypt(row[0])) if row[0] else {}
        callback = json.loads(ring.decrypt(row[1])) if row[1] else None
        index_submission(sub_id, row[2], answers, callback)
    return len(ids)
