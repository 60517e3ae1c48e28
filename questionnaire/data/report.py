"""Read-only queries of the medical director's report (questionnaire.core.report does the sums).

Counts come from columns that are not encrypted (level, language, created_at) and from the keyed rule
index: nothing is decrypted for them. Only the per-question shares need the answers, which are read
for the chosen range alone, streamed in batches, and from an evenly spread sample when the range holds
more submissions than the caller asks for. The levels and languages of a range are read from
ix_submissions_report (created_at, level, language, id) alone, and the sample's ids from an index,
before its rows: at a million rows the table (the answers are most of its bytes) is some 25 times
the size of that index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from questionnaire.data.crypto import keyring
from questionnaire.data.models import Submission, SubmissionRule
from questionnaire.extensions import db

# Every level rank a stored submission can have (0 for the highest level; a rule set has a handful:
# 16 leaves room for many more levels than any rules file has).
# Naming them lets both databases read a date range from the rule index, which leads with the rule
# then the rank then the time (rule_id, level_rank, created_at): one index range per rank.
RANKS = tuple(range(16))


def _day_column() -> Any:
    """The UTC day of a submission: PostgreSQL stores a timestamptz (its day depends on the session's
    time zone unless asked in UTC); SQLite stores UTC text."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", Submission.created_at))
    return func.date(Submission.created_at)


def level_language_days(start: datetime, end: datetime) -> list[tuple[date | str, str, str, int]]:
    """(day, level, language, submissions) for submissions made in [start, end): one grouped query."""
    day = _day_column()
    query = (
        select(day, Submission.level, Submission.language, func.count())
        .where(Submission.created_at >= start, Submission.created_at < end)
        .group_by(day, Submission.level, Submission.language)
    )
    return [(d, level, language, int(n)) for d, level, language, n in db.session.execute(query)]


def rule_counts_between(rule_ids: Iterable[str], start: datetime, end: datetime) -> dict[str, int]:
    """Submissions made in [start, end) on which each rule fired, from the keyed rule index (its
    created_at is the submission's): the plain rule ids are keyed under every key of the ring and the
    counts of their keyed values summed, as the queue's rule filter matches them."""
    ring = keyring()
    keyed = [k for rid in rule_ids for k in ring.keyed_any("rule", rid)]
    query = (
        select(SubmissionRule.rule_id, func.count())
        .where(
            SubmissionRule.rule_id.in_(keyed),
            SubmissionRule.level_rank.in_(RANKS),
            SubmissionRule.created_at >= start,
            SubmissionRule.created_at < end,
        )
        .group_by(SubmissionRule.rule_id)
    )
    by_keyed = {k: int(n) for k, n in db.session.execute(query)}
    return {rid: sum(by_keyed.get(k, 0) for k in ring.keyed_any("rule", rid)) for rid in rule_ids}


def answers_between(
    start: datetime, end: datetime, every: int = 1, batch: int = 500
) -> Iterator[tuple[dict[str, Any], bool, str]]:
    """(answers, stopped_early, language) of the submissions made in [start, end), decrypted as they
    are streamed in batches; with `every` > 1 only one submission in `every` (by id, which follows
    the order of arrival, so the sample is spread evenly over the range). The ids are chosen from an
    index (on its own, the subquery needs no row), then only their rows are read."""
    chosen = select(Submission.id).where(Submission.created_at >= start, Submission.created_at < end)
    if every > 1:
        chosen = chosen.where(Submission.id % every == 0)
    query = select(Submission.answers, Submission.stopped_early, Submission.language).where(Submission.id.in_(chosen))
    for answers, stopped_early, language in db.session.execute(query.execution_options(yield_per=batch)):
        yield answers or {}, bool(stopped_early), language
