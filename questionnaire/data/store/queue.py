"""The staff queue: one keyset page, counts per level and per rule, and submissions streamed for export."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from questionnaire.data.crypto import keyring
from questionnaire.data.models import QueueCount, Submission, SubmissionRule
from questionnaire.data.store.checkins import checked_in_between
from questionnaire.extensions import db


def queue_page(
    *,
    status: str | None = None,
    level_rank: int | None = None,
    rule: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    after: tuple[int, datetime, int] | None = None,
    size: int = 25,
    checked_in: tuple[datetime, datetime] | None = None,
) -> list[Submission]:
    """One page of the queue: highest level first, oldest first.

    Keyset pagination on an index that starts with the filter and ends with the sort key
    (status or rule, then level_rank, created_at, id), so page 500 of a million costs what page 1 does.
    The rule is matched by its keyed value (under each key of the ring: one value, except while a key
    rotation is still re-keying older rows).
    """
    if rule:
        # The rule index carries the sort key: the page is one range scan of ix_submission_rules_queue.
        key = (SubmissionRule.level_rank, SubmissionRule.created_at, SubmissionRule.submission_id)
        query = (
            select(Submission)
            .join(SubmissionRule, SubmissionRule.submission_id == Submission.id)
            .where(SubmissionRule.rule_id.in_(keyring().keyed_any("rule", rule)))
        )
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
    if checked_in is not None:  # "checked in today": the few submissions with a check-in in that span
        query = query.where(Submission.id.in_(checked_in_between(*checked_in)))
    if after is not None:
        # One row-value comparison, which both databases turn into a range of the index. The same
        # condition spelt out with OR (rank > r OR rank = r AND created > c OR ...) is only a filter:
        # PostgreSQL and SQLite then scan the index from its start, every row before the cursor
        # (bench/bench_queue.py, docs/performance.md).
        query = query.where(tuple_(rank_col, created_col, id_col) > tuple_(*after))
    return list(db.session.scalars(query.order_by(*key).limit(size)))


def adjust_count(level: str, status: str, delta: int) -> None:
    """Keep queue_counts in step with a write, in the same transaction (an upsert on both databases)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(QueueCount).values(level=level, status=status, n=delta)
    db.session.execute(
        statement.on_conflict_do_update(index_elements=["level", "status"], set_={"n": QueueCount.n + delta})
    )


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


def submissions_for_export(date_from: datetime | None, date_to: datetime | None, batch: int = 1000) -> Any:
    """Submissions oldest first, streamed in batches (keyset on id)."""
    last = 0
    while True:
        rows = list(
            db.session.scalars(
                select(Submission)
                .where(Submission.id > last, *_date_filters(date_from, date_to))
                .order_by(Submission.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id
